#include <doctest/doctest.h>

#include "tradeshard/market/processor_node.hpp"

using namespace tradeshard::market;
using tradeshard::core::Side;

namespace {

constexpr Scaled one = 100'000'000;
constexpr std::int64_t t0 = 1'700'000'000'000;

// Neither strategy fires: wide spread, balanced sizes.
Quote calm(std::int64_t ts, Scaled bid = 100 * one) { return {bid, bid + one, one, one, ts}; }
// Imbalance buy only: wide spread, bid size 2x ask size.
Quote heavy_bid(std::int64_t ts) { return {100 * one, 101 * one, 2 * one, one, ts}; }

NodeConfig imbalance_only(Trigger trigger, std::int64_t cooldown_ms = 0) {
  NodeConfig c;
  c.strategies = {StrategyConfig{.kind = StrategyKind::imbalance, .size = 10'000 * one,
                                 .trigger = trigger, .cooldown_ms = cooldown_ms}};
  return c;
}

}  // namespace

// Ensure a tick updates last quote, mid, spread and the imbalance EWMA.
TEST_CASE("ProcessorNode: per-symbol market state") {
  ProcessorNode n(0, "node-1", NodeConfig{.imbalance_alpha = 0.5});
  TickOutput out;
  REQUIRE(n.process(7, Quote{100 * one, 102 * one, 3 * one, one, t0}, t0, out) == QuoteError::ok);
  const SymbolState* s = n.state(7);
  REQUIRE(s != nullptr);
  CHECK(s->mid == 101 * one);
  CHECK(s->spread == 2 * one);
  CHECK(s->imbalance_ewma == doctest::Approx(0.5));  // (3-1)/(3+1), seeds the average
  REQUIRE(n.process(7, Quote{100 * one, 101 * one, one, 3 * one, t0 + 1}, t0, out) == QuoteError::ok);
  CHECK(s->imbalance_ewma == doctest::Approx(0.0));  // 0.5 * -0.5 + 0.5 * 0.5
  CHECK(s->mid == 100 * one + one / 2);
  CHECK(s->ticks == 2);
  CHECK(s->last.ask_size == 3 * one);
  CHECK(n.ticks_processed() == 2);
  CHECK(n.state(8) == nullptr);
}

// Ensure invalid quotes change nothing and are counted with their reason.
TEST_CASE("ProcessorNode: invalid quotes are rejected") {
  ProcessorNode n(0, "node-1", NodeConfig{});
  TickOutput out;
  CHECK(n.process(1, Quote{0, one, one, one, t0}, t0, out) == QuoteError::bad_price);
  CHECK(n.process(1, Quote{one, one, -1, one, t0}, t0, out) == QuoteError::bad_size);
  CHECK(n.process(1, Quote{2 * one, one, one, one, t0}, t0, out) == QuoteError::crossed);
  CHECK(n.process(1, Quote{one, 2 * one, one, one, -5}, t0, out) == QuoteError::bad_ts);
  CHECK(n.process(1, Quote{one, 2 * one, one, one, 0}, -1, out) == QuoteError::bad_ts);
  CHECK(n.rejected() == 5);
  CHECK(n.ticks_processed() == 0);
  CHECK(n.symbol_count() == 0);
  CHECK(out.signals.empty());
}

// Ensure both default strategies emit on hand-made quotes with every signal field filled.
TEST_CASE("ProcessorNode: default strategies emit signals") {
  ProcessorNode n(3, "node-4", NodeConfig{});
  TickOutput out;
  // Tight spread (0.01 on 50000) and bid size 4x ask size: both fire.
  const Quote q{50'000 * one, 50'000 * one + one / 100, 4 * one, one, 0};
  REQUIRE(n.process(9, q, t0 + 123, out) == QuoteError::ok);
  REQUIRE(out.signals.size() == 2);
  const Signal& spread = out.signals[0];
  CHECK(spread.strategy == "spread");
  CHECK(spread.symbol == 9);
  CHECK(spread.side == Side::buy);
  CHECK(spread.price == q.ask);
  CHECK(spread.size == one);
  CHECK(spread.node == 3);
  CHECK(spread.ts_ms == t0 + 123);  // ts 0 falls back to arrival time
  const Signal& imb = out.signals[1];
  CHECK(imb.strategy == "imbalance");
  CHECK(imb.side == Side::buy);
  CHECK(imb.size == 10'000 * one);
  CHECK(n.signals_emitted() == 2);
  out.clear();
  // Ask-heavy and wide: only an imbalance sell, at the bid.
  REQUIRE(n.process(9, Quote{50'000 * one, 50'010 * one, one, 2 * one, t0 + 200}, t0, out) ==
          QuoteError::ok);
  REQUIRE(out.signals.size() == 1);
  CHECK(out.signals[0].side == Side::sell);
  CHECK(out.signals[0].price == 50'000 * one);
  CHECK(out.signals[0].ts_ms == t0 + 200);  // the quote's own ts wins
}

// Ensure edge triggering emits once per steady condition, and again after it clears.
TEST_CASE("ProcessorNode: edge trigger vs every tick") {
  SUBCASE("edge") {
    ProcessorNode n(0, "n", imbalance_only(Trigger::edge));
    TickOutput out;
    for (int i = 0; i < 5; ++i) REQUIRE(n.process(1, heavy_bid(t0 + i), t0, out) == QuoteError::ok);
    CHECK(out.signals.size() == 1);
    REQUIRE(n.process(1, calm(t0 + 10), t0, out) == QuoteError::ok);
    REQUIRE(n.process(1, heavy_bid(t0 + 11), t0, out) == QuoteError::ok);
    CHECK(out.signals.size() == 2);
  }
  SUBCASE("every tick") {
    ProcessorNode n(0, "n", imbalance_only(Trigger::every_tick));
    TickOutput out;
    for (int i = 0; i < 5; ++i) REQUIRE(n.process(1, heavy_bid(t0 + i), t0, out) == QuoteError::ok);
    CHECK(out.signals.size() == 5);
  }
  SUBCASE("every tick with cooldown") {
    ProcessorNode n(0, "n", imbalance_only(Trigger::every_tick, 1'000));
    TickOutput out;
    for (int i = 0; i < 25; ++i) {
      REQUIRE(n.process(1, heavy_bid(t0 + i * 100), t0, out) == QuoteError::ok);
    }
    CHECK(out.signals.size() == 3);  // at 0, 1000 and 2000 ms
  }
}

// Ensure the node emits closed 1 s and 1 m bars of the mid as ticks cross windows.
TEST_CASE("ProcessorNode: bars of the mid price") {
  ProcessorNode n(0, "n", NodeConfig{.strategies = {}, .bar_history = 2});
  TickOutput out;
  const std::int64_t base = 60'000 * 1000;  // a minute boundary
  REQUIRE(n.process(5, calm(base + 100, 10 * one), 0, out) == QuoteError::ok);
  REQUIRE(n.process(5, calm(base + 900, 12 * one), 0, out) == QuoteError::ok);
  CHECK(out.bars.empty());
  REQUIRE(n.process(5, calm(base + 1'000, 11 * one), 0, out) == QuoteError::ok);
  REQUIRE(out.bars.size() == 1);
  CHECK(out.bars[0].symbol == 5);
  CHECK(out.bars[0].interval == Interval::s1);
  const Scaled half = one / 2;
  CHECK(out.bars[0].bar == Bar{base, 10 * one + half, 12 * one + half, 10 * one + half,
                               12 * one + half, 2});
  out.clear();
  REQUIRE(n.process(5, calm(base + 60'000, 9 * one), 0, out) == QuoteError::ok);
  REQUIRE(out.bars.size() == 2);  // the 1 s bar and the first minute
  CHECK(out.bars[1].interval == Interval::m1);
  CHECK(out.bars[1].bar.ticks == 3);
  CHECK(out.bars[1].bar.low == 10 * one + half);
  REQUIRE(n.process(5, calm(base + 500, 9 * one), 0, out) == QuoteError::ok);
  CHECK(n.late_ticks() == 2);  // late for both intervals
  const SymbolState* s = n.state(5);
  CHECK(s->bars[static_cast<int>(Interval::s1)].history().size() == 2);  // bounded to 2
}

// Ensure a symbol's state moves between nodes intact: no duplicate edge signal after the move,
// counters and bars continue, and the source forgets it.
TEST_CASE("ProcessorNode: export and import move a symbol's state") {
  ProcessorNode a(0, "a", imbalance_only(Trigger::edge));
  ProcessorNode b(1, "b", imbalance_only(Trigger::edge));
  TickOutput out;
  REQUIRE(a.process(1, heavy_bid(t0), t0, out) == QuoteError::ok);
  REQUIRE(a.process(2, calm(t0), t0, out) == QuoteError::ok);
  REQUIRE(a.process(3, calm(t0), t0, out) == QuoteError::ok);
  REQUIRE(out.signals.size() == 1);
  std::optional<SymbolState> moved = a.export_symbol(1);
  REQUIRE(moved.has_value());
  CHECK(a.state(1) == nullptr);
  CHECK(a.symbol_count() == 2);
  CHECK(a.state(3) != nullptr);  // swap-and-pop kept the others reachable
  CHECK(a.state(3)->ticks == 1);
  CHECK_FALSE(a.export_symbol(1).has_value());
  b.import_symbol(1, std::move(*moved));
  REQUIRE(b.process(1, heavy_bid(t0 + 1), t0, out) == QuoteError::ok);
  CHECK(out.signals.size() == 1);  // same steady condition: no second edge
  const SymbolState* s = b.state(1);
  REQUIRE(s != nullptr);
  CHECK(s->ticks == 2);
  CHECK(s->bars[0].open_bar()->ticks == 2);
  CHECK(b.symbols() == std::vector<SymbolId>{1});
}

// Ensure node config validation names what is wrong.
TEST_CASE("ProcessorNode: config validation") {
  CHECK(validate(NodeConfig{}) == NodeConfigError::ok);
  CHECK(validate(NodeConfig{.imbalance_alpha = 0.0}) == NodeConfigError::bad_alpha);
  CHECK(validate(NodeConfig{.bar_history = 0}) == NodeConfigError::bad_history);
  NodeConfig c;
  c.strategies.assign(max_strategies + 1, StrategyConfig{});
  CHECK(validate(c) == NodeConfigError::too_many_strategies);
  c.strategies = {StrategyConfig{.size = -1}};
  CHECK(validate(c) == NodeConfigError::bad_strategy);
}

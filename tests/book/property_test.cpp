#include <doctest/doctest.h>

#include <cstdint>
#include <map>
#include <random>

#include "book/book_fixture.hpp"

using namespace book_test;

namespace {

// What the test knows about one order, reconstructed from events only.
struct Track {
  AccountId account = 0;
  Lots total = 0;
  Lots filled = 0;
  Lots dropped = 0;
  int terminal = 0;
  std::uint64_t stamp = 0;  // time priority: set on acceptance and on a re-queueing replace
};

class PropertyRun {
 public:
  explicit PropertyRun(StpMode stp) : stp_(stp), engine_(table_, EngineOptions{stp, 300, 0}) {}

  void step() {
    const std::uint64_t dice = rng_() % 100;
    before_bids_ = engine_.priority_order(btc, Side::buy);
    before_asks_ = engine_.priority_order(btc, Side::sell);
    ev_.clear();
    Side taker_side = Side::buy;
    if (dice < 70) {
      taker_side = submit_random(dice);
    } else if (dice < 85) {
      const OrderKey k = pick_key();
      (void)engine_.cancel(owner_or_stranger(k), k, ev_);
    } else if (dice < 97) {
      const OrderKey k = pick_key();
      if (const auto v = engine_.find(k)) taker_side = v->side;
      (void)engine_.replace(owner_or_stranger(k), k, 95 + rng_() % 11,
                            static_cast<Lots>(1 + rng_() % 12), ev_);
    } else {
      (void)engine_.cancel_all(1 + rng_() % 5, std::nullopt, ev_);
    }
    check_makers_are_a_priority_prefix(taker_side);
    apply_events();
    check_book();
  }

  void finish() {
    for (AccountId a = 1; a <= 5; ++a) {
      ev_.clear();
      (void)engine_.cancel_all(a, std::nullopt, ev_);
      apply_events();
    }
    CHECK(engine_.stats().resting_orders == 0);
    for (const auto& [key, t] : orders_) {
      CHECK(t.terminal == 1);
      CHECK(t.filled + t.dropped == t.total);
    }
    CHECK(taker_volume_ == maker_volume_);
    CHECK(engine_.stats().volume_lots == static_cast<std::uint64_t>(taker_volume_));
  }

  [[nodiscard]] std::uint64_t trades() const { return engine_.stats().trades; }

 private:
  Side submit_random(std::uint64_t dice) {
    NewOrder o;
    o.key = next_key_++;
    // Occasionally reuse a live key: must be refused without touching the live order.
    if (rng_() % 50 == 0) {
      const OrderKey k = pick_key();
      if (engine_.find(k)) o.key = k;
    }
    o.account = static_cast<AccountId>(1 + rng_() % 5);
    o.instrument = btc;
    o.side = rng_() % 2 == 0 ? Side::buy : Side::sell;
    o.type = dice < 8 ? OrderType::market : OrderType::limit;
    const std::uint64_t tif = rng_() % 10;
    o.tif = tif < 7 ? TimeInForce::gtc : tif < 9 ? TimeInForce::ioc : TimeInForce::fok;
    o.price = static_cast<Ticks>(95 + rng_() % 11);
    o.qty = static_cast<Lots>(1 + rng_() % 10);
    const bool live = engine_.find(o.key).has_value();
    const RejectReason r = engine_.submit(o, ev_);
    if (live) {
      CHECK(r == RejectReason::duplicate_key);
      REQUIRE(ev_.size() == 1);
      ev_.clear();  // the rejected duplicate is not a new order of ours
    }
    return o.side;
  }

  OrderKey pick_key() {
    if (orders_.empty()) return 1;
    // Mostly recent keys (more likely live), sometimes any key or an unknown one.
    const OrderKey hi = next_key_;
    const std::uint64_t span = rng_() % 4 == 0 ? hi : std::min<std::uint64_t>(hi, 40);
    return hi - rng_() % span;
  }

  AccountId owner_or_stranger(OrderKey k) {
    const auto it = orders_.find(k);
    if (it == orders_.end() || rng_() % 10 == 0) return static_cast<AccountId>(1 + rng_() % 5);
    return it->second.account;
  }

  // Makers touched (filled or removed by STP) must be the front of the opposite queue, in order.
  void check_makers_are_a_priority_prefix(Side taker_side) {
    const auto& queue = taker_side == Side::buy ? before_asks_ : before_bids_;
    std::vector<OrderKey> touched;
    for (const Event& e : ev_) {
      const bool maker_fill = e.type == EventType::fill && e.liquidity == Liquidity::maker;
      const bool stp_resting = e.type == EventType::done && e.done_reason == DoneReason::self_trade &&
                               orders_.count(e.key) && engine_.find(e.key) == std::nullopt &&
                               e.side != taker_side;
      if ((maker_fill || stp_resting) && (touched.empty() || touched.back() != e.key)) {
        touched.push_back(e.key);
      }
    }
    REQUIRE(touched.size() <= queue.size());
    for (std::size_t i = 0; i < touched.size(); ++i) CHECK(touched[i] == queue[i]);
  }

  void apply_events() {
    for (const Event& e : ev_) {
      if (e.type == EventType::accepted) {
        REQUIRE(orders_.count(e.key) == 0);
        orders_[e.key] = Track{e.account, e.qty, 0, 0, 0, ++stamp_};
        CHECK(e.qty > 0);
        continue;
      }
      if (e.type == EventType::rejected) {
        REQUIRE(orders_.count(e.key) == 0);  // a rejected order is new to us
        orders_[e.key] = Track{e.account, e.qty, 0, e.remaining, 1, 0};
        CHECK(e.qty == e.remaining);
        continue;
      }
      REQUIRE(orders_.count(e.key) == 1);
      Track& t = orders_[e.key];
      CHECK(t.terminal == 0);  // nothing may follow a terminal event
      switch (e.type) {
        case EventType::fill:
          t.filled += e.qty;
          CHECK(e.remaining == t.total - t.filled);
          if (stp_ != StpMode::off) CHECK(orders_.at(e.counterparty).account != e.account);
          (e.liquidity == Liquidity::taker ? taker_volume_ : maker_volume_) += e.qty;
          break;
        case EventType::replaced:
          t.total = e.qty;
          if (!e.priority_kept) t.stamp = ++stamp_;
          break;
        case EventType::done:
          ++t.terminal;
          t.total = e.qty;
          t.dropped = e.remaining;
          CHECK(t.filled + t.dropped == t.total);
          break;
        default: break;
      }
    }
  }

  void check_book() {
    const auto bid = engine_.best(btc, Side::buy);
    const auto ask = engine_.best(btc, Side::sell);
    if (bid && ask) REQUIRE(bid->price < ask->price);  // never crossed
    check_side(Side::buy);
    check_side(Side::sell);
  }

  void check_side(Side side) {
    const auto keys = engine_.priority_order(btc, side);
    Ticks prev_price = 0;
    std::uint64_t prev_stamp = 0;
    Lots level_total = 0;
    const Depth d = engine_.depth(btc, 1000);
    const auto& levels = side == Side::buy ? d.bids : d.asks;
    std::size_t level = 0;
    for (std::size_t i = 0; i < keys.size(); ++i) {
      const auto v = engine_.find(keys[i]);
      REQUIRE(v);
      const Track& t = orders_.at(keys[i]);
      CHECK(t.terminal == 0);
      CHECK(v->filled == t.filled);
      CHECK(v->leaves + t.filled == t.total);  // quantity conserved while live
      if (i > 0 && v->price == prev_price) {
        CHECK(t.stamp > prev_stamp);  // oldest first within a level
      } else if (i > 0) {
        CHECK((side == Side::buy ? v->price < prev_price : v->price > prev_price));
        CHECK(levels[level].qty == level_total);
        ++level;
        level_total = 0;
      }
      REQUIRE(level < levels.size());
      CHECK(levels[level].price == v->price);
      level_total += v->leaves;
      prev_price = v->price;
      prev_stamp = t.stamp;
    }
    if (!keys.empty()) CHECK(levels[level].qty == level_total);
  }

  StpMode stp_;
  InstrumentTable table_ = make_table();
  MatchingEngine engine_;
  EventBuffer ev_;
  std::mt19937_64 rng_{20240611};
  std::map<OrderKey, Track> orders_;
  std::vector<OrderKey> before_bids_, before_asks_;
  OrderKey next_key_ = 1;
  std::uint64_t stamp_ = 0;
  Lots taker_volume_ = 0;
  Lots maker_volume_ = 0;
};

}  // namespace

// Ensure random command streams keep every invariant after every step, in every STP mode:
// not crossed, quantity conserved, price-time priority, exactly one terminal event per order.
TEST_CASE("MatchingEngine: randomized invariants with a fixed seed") {
  for (StpMode stp : {StpMode::cancel_incoming, StpMode::cancel_resting, StpMode::off}) {
    CAPTURE(to_string(stp));
    PropertyRun run(stp);
    for (int i = 0; i < 4000; ++i) run.step();
    run.finish();
    CHECK(run.trades() > 500);  // the stream really trades
  }
}

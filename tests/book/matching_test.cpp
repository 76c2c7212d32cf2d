#include <doctest/doctest.h>

#include "book/book_fixture.hpp"

using namespace book_test;

namespace {
struct Setup {
  InstrumentTable table = make_table();
  MatchingEngine engine{table, EngineOptions{}};
  EventBuffer ev;
  RejectReason submit(const NewOrder& o) {
    ev.clear();
    return engine.submit(o, ev);
  }
};
}  // namespace

// Ensure a non-crossing limit order rests, is acknowledged and shows up in depth and lookups.
TEST_CASE("MatchingEngine: limit order rests and is visible") {
  Setup s;
  CHECK(s.submit(limit(1, 10, Side::buy, 100, 5)) == RejectReason::ok);
  REQUIRE(s.ev.size() == 1);
  CHECK(s.ev[0].type == EventType::accepted);
  CHECK(s.submit(limit(2, 10, Side::buy, 99, 3)) == RejectReason::ok);
  CHECK(s.submit(limit(3, 10, Side::buy, 100, 2)) == RejectReason::ok);
  CHECK(s.submit(limit(4, 11, Side::sell, 102, 7)) == RejectReason::ok);
  const Depth d = s.engine.depth(btc, 10);
  REQUIRE(d.bids.size() == 2);
  CHECK(d.bids[0] == LevelView{100, 7, 2});
  CHECK(d.bids[1] == LevelView{99, 3, 1});
  REQUIRE(d.asks.size() == 1);
  CHECK(d.asks[0] == LevelView{102, 7, 1});
  CHECK(s.engine.best(btc, Side::buy)->price == 100);
  CHECK(s.engine.best(btc, Side::sell)->price == 102);
  CHECK(s.engine.find(3)->leaves == 2);
  CHECK(s.engine.priority_order(btc, Side::buy) == std::vector<OrderKey>{1, 3, 2});
  CHECK(s.engine.stats().resting_orders == 4);
}

// Ensure a crossing order trades at the resting price, both sides get fills, partials rest.
TEST_CASE("MatchingEngine: partial fill at the maker's price") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::sell, 100, 5)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 11, Side::buy, 105, 8)) == RejectReason::ok);
  const auto taker = fills_of(s.ev, 2);
  const auto maker = fills_of(s.ev, 1);
  REQUIRE(taker.size() == 1);
  REQUIRE(maker.size() == 1);
  CHECK(taker[0].price == 100);
  CHECK(taker[0].qty == 5);
  CHECK(taker[0].remaining == 3);
  CHECK(taker[0].liquidity == Liquidity::taker);
  CHECK(taker[0].counterparty == 1);
  CHECK(maker[0].liquidity == Liquidity::maker);
  CHECK(maker[0].account == 10);
  CHECK(maker[0].trade_id == taker[0].trade_id);
  CHECK(done_of(s.ev, 1).done_reason == DoneReason::filled);
  CHECK(done_of(s.ev, 2).type == EventType::accepted);  // no terminal event: it rests
  CHECK(s.engine.best(btc, Side::buy)->price == 105);
  CHECK(s.engine.best(btc, Side::buy)->qty == 3);
  CHECK_FALSE(s.engine.best(btc, Side::sell));
  CHECK(s.engine.last_trade_price(btc) == 100);
}

// Ensure orders at one price trade oldest first and better prices trade before older ones.
TEST_CASE("MatchingEngine: strict price-time priority") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::sell, 101, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 11, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(3, 12, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(4, 13, Side::buy, 101, 5)) == RejectReason::ok);
  const auto f = fills_of(s.ev, 4);
  REQUIRE(f.size() == 3);
  CHECK(f[0].counterparty == 2);
  CHECK(f[1].counterparty == 3);
  CHECK(f[2].counterparty == 1);
  CHECK(f[2].price == 101);
  CHECK(f[2].qty == 1);
  CHECK(f[0].trade_id < f[1].trade_id);
  CHECK(s.engine.find(1)->leaves == 1);
}

// Ensure a market order sweeps from the best level outward and stops at the protection band.
TEST_CASE("MatchingEngine: market order sweeps best price first within the band") {
  Setup s;  // default band 500 bps: best 1000 -> limit 1050
  REQUIRE(s.submit(limit(1, 10, Side::sell, 1000, 1)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 10, Side::sell, 1040, 1)) == RejectReason::ok);
  REQUIRE(s.submit(limit(3, 10, Side::sell, 1050, 1)) == RejectReason::ok);
  REQUIRE(s.submit(limit(4, 10, Side::sell, 1051, 1)) == RejectReason::ok);
  REQUIRE(s.submit(market(5, 20, Side::buy, 10)) == RejectReason::ok);
  const auto f = fills_of(s.ev, 5);
  REQUIRE(f.size() == 3);
  CHECK(f[0].price == 1000);
  CHECK(f[1].price == 1040);
  CHECK(f[2].price == 1050);
  const Event done = done_of(s.ev, 5);
  CHECK(done.done_reason == DoneReason::expired);
  CHECK(done.remaining == 7);
  CHECK(s.engine.best(btc, Side::sell)->price == 1051);
  CHECK(s.engine.stats().resting_orders == 1);
}

// Ensure a market order against an empty side is rejected with no_liquidity, not left hanging.
TEST_CASE("MatchingEngine: market order on an empty side") {
  Setup s;
  CHECK(s.submit(market(1, 20, Side::sell, 3)) == RejectReason::no_liquidity);
  REQUIRE(s.ev.size() == 1);
  CHECK(s.ev[0].type == EventType::rejected);
  CHECK(s.engine.stats().orders_rejected == 1);
}

// Ensure FOK is all-or-none: nothing trades unless the whole quantity is available in limit.
TEST_CASE("MatchingEngine: FOK fills completely or not at all") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::sell, 100, 3)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 11, Side::sell, 101, 3)) == RejectReason::ok);
  REQUIRE(s.submit(limit(3, 12, Side::sell, 102, 3)) == RejectReason::ok);
  SUBCASE("not enough within the limit") {
    REQUIRE(s.submit(limit(4, 20, Side::buy, 101, 7, TimeInForce::fok)) == RejectReason::ok);
    CHECK(of_type(s.ev, EventType::fill).empty());
    CHECK(done_of(s.ev, 4).done_reason == DoneReason::expired);
    CHECK(done_of(s.ev, 4).remaining == 7);
    CHECK(s.engine.depth(btc, 5).asks.size() == 3);
  }
  SUBCASE("exactly enough") {
    REQUIRE(s.submit(limit(4, 20, Side::buy, 101, 6, TimeInForce::fok)) == RejectReason::ok);
    CHECK(fills_of(s.ev, 4).size() == 2);
    CHECK(done_of(s.ev, 4).done_reason == DoneReason::filled);
    CHECK(s.engine.best(btc, Side::sell)->price == 102);
  }
}

// Ensure an IOC order trades what it can and its remainder expires instead of resting.
TEST_CASE("MatchingEngine: IOC remainder is cancelled") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::buy, 100, 4)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 11, Side::sell, 99, 10, TimeInForce::ioc)) == RejectReason::ok);
  CHECK(fills_of(s.ev, 2).size() == 1);
  const Event done = done_of(s.ev, 2);
  CHECK(done.done_reason == DoneReason::expired);
  CHECK(done.remaining == 6);
  CHECK_FALSE(s.engine.best(btc, Side::sell));
  CHECK_FALSE(s.engine.best(btc, Side::buy));
}

// Ensure bad input is rejected with the specific reason and never enters the book.
TEST_CASE("MatchingEngine: validation rejects with specific reasons") {
  Setup s;
  CHECK(s.submit(limit(1, 10, Side::buy, 100, 0)) == RejectReason::bad_qty);
  CHECK(s.submit(limit(1, 10, Side::buy, 0, 5)) == RejectReason::bad_price);
  CHECK(s.submit(limit(1, 10, Side::buy, 100, 2'000'000)) == RejectReason::qty_out_of_range);
  CHECK(s.submit(limit(1, 10, Side::buy, 100, 1, TimeInForce::gtc, eth)) ==
        RejectReason::qty_out_of_range);
  CHECK(s.submit(limit(1, 10, Side::buy, 100, 5, TimeInForce::gtc, 7)) ==
        RejectReason::unknown_instrument);
  CHECK(s.submit(limit(1, 10, Side::buy, 100, 5)) == RejectReason::ok);
  CHECK(s.submit(limit(1, 11, Side::sell, 200, 5)) == RejectReason::duplicate_key);
  REQUIRE(s.ev.size() == 1);
  CHECK(s.ev[0].type == EventType::rejected);
  CHECK(s.ev[0].reject_reason == RejectReason::duplicate_key);
  CHECK(to_string(RejectReason::duplicate_key) == "duplicate_id");
  CHECK(s.engine.find(1)->account == 10);  // the live order is untouched
  CHECK(s.engine.stats().orders_rejected == 6);
}

// Ensure the instrument price band rejects far limits around the reference price.
TEST_CASE("MatchingEngine: instrument price band") {
  Setup s;  // eth band: 10% around the last trade, else the best opposite price
  CHECK(s.submit(limit(1, 10, Side::sell, 1000, 5, TimeInForce::gtc, eth)) == RejectReason::ok);
  CHECK(s.submit(limit(2, 11, Side::buy, 899, 5, TimeInForce::gtc, eth)) ==
        RejectReason::price_out_of_band);
  CHECK(s.submit(limit(2, 11, Side::buy, 900, 5, TimeInForce::gtc, eth)) == RejectReason::ok);
  CHECK(s.submit(limit(3, 11, Side::buy, 1000, 2, TimeInForce::gtc, eth)) == RejectReason::ok);
  // Last trade 1000 is now the reference for both sides.
  CHECK(s.submit(limit(4, 12, Side::sell, 1101, 2, TimeInForce::gtc, eth)) ==
        RejectReason::price_out_of_band);
  CHECK(s.submit(limit(4, 12, Side::sell, 1100, 2, TimeInForce::gtc, eth)) == RejectReason::ok);
}

// Filled makers are retired lazily (their index entry is erased over the next commands): until
// then their keys must look gone everywhere, and a key may be reused at once. 100 makers filled
// by one sweep overflow the 64-entry retire ring (the rest are erased inline).
TEST_CASE("MatchingEngine: filled makers' keys are gone at once and reusable") {
  Setup s;
  for (OrderKey k = 1; k <= 100; ++k) CHECK(s.submit(limit(k, 10, Side::sell, 100, 1)) == RejectReason::ok);
  CHECK(s.submit(limit(1000, 11, Side::buy, 100, 100, TimeInForce::ioc)) == RejectReason::ok);
  CHECK(s.engine.stats().resting_orders == 0);
  CHECK(!s.engine.find(5).has_value());
  CHECK(s.engine.open_orders(10).empty());
  s.ev.clear();
  CHECK(s.engine.cancel(10, 7, s.ev) == RejectReason::unknown_order);
  s.ev.clear();
  CHECK(s.engine.replace(10, 8, 100, 5, s.ev) == RejectReason::unknown_order);
  // Reuse retired keys right away: they rest, trade and cancel like any other.
  CHECK(s.submit(limit(3, 12, Side::sell, 101, 4)) == RejectReason::ok);
  CHECK(s.submit(limit(4, 12, Side::sell, 101, 4)) == RejectReason::ok);
  CHECK(s.engine.stats().resting_orders == 2);
  REQUIRE(s.engine.find(3).has_value());
  CHECK(s.engine.find(3)->leaves == 4);
  s.ev.clear();
  CHECK(s.engine.cancel(12, 4, s.ev) == RejectReason::ok);
  CHECK(s.submit(limit(9, 13, Side::buy, 101, 4)) == RejectReason::ok);
  CHECK(done_of(s.ev, 3).done_reason == DoneReason::filled);
  CHECK(s.engine.stats().resting_orders == 0);
  for (OrderKey k = 1; k <= 100; ++k) CHECK(!s.engine.find(k).has_value());
  for (int i = 0; i < 40; ++i) CHECK(s.submit(limit(5000 + i, 14, Side::buy, 90, 1)) == RejectReason::ok);
  CHECK(s.engine.stats().resting_orders == 40);
  CHECK(s.submit(limit(1, 15, Side::buy, 90, 1)) == RejectReason::ok);
}

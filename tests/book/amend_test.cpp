#include <doctest/doctest.h>

#include <algorithm>

#include "book/book_fixture.hpp"

using namespace book_test;

namespace {
struct Setup {
  explicit Setup(StpMode stp = StpMode::cancel_incoming) : engine(table, EngineOptions{stp, 500, 0}) {}
  InstrumentTable table = make_table();
  MatchingEngine engine;
  EventBuffer ev;
  RejectReason submit(const NewOrder& o) {
    ev.clear();
    return engine.submit(o, ev);
  }
  RejectReason replace(AccountId a, OrderKey k, Ticks p, Lots q) {
    ev.clear();
    return engine.replace(a, k, p, q, ev);
  }
};
}  // namespace

// Ensure cancel removes a live order once, reports dropped leaves, and refuses others' orders.
TEST_CASE("MatchingEngine: cancel, unknown order and ownership") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::buy, 100, 5)) == RejectReason::ok);
  s.ev.clear();
  CHECK(s.engine.cancel(11, 1, s.ev) == RejectReason::not_owner);
  CHECK(s.ev.empty());
  CHECK(s.engine.cancel(10, 1, s.ev) == RejectReason::ok);
  REQUIRE(s.ev.size() == 1);
  CHECK(s.ev[0].done_reason == DoneReason::cancelled);
  CHECK(s.ev[0].remaining == 5);
  CHECK(s.engine.cancel(10, 1, s.ev) == RejectReason::unknown_order);
  CHECK(s.ev.size() == 1);
  CHECK_FALSE(s.engine.best(btc, Side::buy));
  CHECK(s.engine.stats().cancels == 1);
}

// Ensure cancel_all removes exactly the account's orders, optionally for one instrument.
TEST_CASE("MatchingEngine: cancel_all by account and instrument") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::buy, 100, 5)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 10, Side::sell, 200, 5)) == RejectReason::ok);
  REQUIRE(s.submit(limit(3, 10, Side::buy, 1000, 5, TimeInForce::gtc, eth)) == RejectReason::ok);
  REQUIRE(s.submit(limit(4, 11, Side::buy, 100, 5)) == RejectReason::ok);
  s.ev.clear();
  CHECK(s.engine.cancel_all(10, btc, s.ev) == 2);
  CHECK(s.ev.size() == 2);
  CHECK(s.engine.open_orders(10) == std::vector<OrderKey>{3});
  CHECK(s.engine.cancel_all(10, std::nullopt, s.ev) == 1);
  CHECK(s.engine.open_orders(10).empty());
  CHECK(s.engine.open_orders(11) == std::vector<OrderKey>{4});
  CHECK(s.engine.cancel_all(99, std::nullopt, s.ev) == 0);
}

// Ensure quantity down keeps time priority while quantity up or a price change loses it.
TEST_CASE("MatchingEngine: replace priority rules") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::buy, 100, 5)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 11, Side::buy, 100, 5)) == RejectReason::ok);
  SUBCASE("quantity down keeps the queue position") {
    CHECK(s.replace(10, 1, 100, 3) == RejectReason::ok);
    REQUIRE(s.ev.size() == 1);
    CHECK(s.ev[0].type == EventType::replaced);
    CHECK(s.ev[0].priority_kept);
    CHECK(s.engine.priority_order(btc, Side::buy) == std::vector<OrderKey>{1, 2});
    CHECK(s.engine.best(btc, Side::buy)->qty == 8);
  }
  SUBCASE("quantity up goes to the back") {
    CHECK(s.replace(10, 1, 100, 6) == RejectReason::ok);
    CHECK_FALSE(s.ev[0].priority_kept);
    CHECK(s.engine.priority_order(btc, Side::buy) == std::vector<OrderKey>{2, 1});
    CHECK(s.engine.best(btc, Side::buy)->qty == 11);
  }
  SUBCASE("price change re-queues at the new level") {
    CHECK(s.replace(10, 1, 99, 5) == RejectReason::ok);
    CHECK(s.engine.priority_order(btc, Side::buy) == std::vector<OrderKey>{2, 1});
    CHECK(s.engine.depth(btc, 5).bids.size() == 2);
    CHECK(s.replace(10, 1, 100, 5) == RejectReason::ok);
    CHECK(s.engine.priority_order(btc, Side::buy) == std::vector<OrderKey>{2, 1});
  }
  SUBCASE("errors change nothing") {
    CHECK(s.replace(11, 1, 100, 3) == RejectReason::not_owner);
    CHECK(s.replace(10, 9, 100, 3) == RejectReason::unknown_order);
    CHECK(s.replace(10, 1, 100, 0) == RejectReason::bad_qty);
    CHECK(s.replace(10, 1, -1, 3) == RejectReason::bad_price);
    CHECK(s.ev.empty());
    CHECK(s.engine.find(1)->leaves == 5);
  }
}

// Ensure a replace that crosses trades as a taker and a replace below filled ends the order.
TEST_CASE("MatchingEngine: replace that crosses trades; total quantity counts fills") {
  Setup s;
  REQUIRE(s.submit(limit(1, 10, Side::sell, 101, 3)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 11, Side::buy, 100, 5)) == RejectReason::ok);
  CHECK(s.replace(11, 2, 101, 5) == RejectReason::ok);
  const auto f = fills_of(s.ev, 2);
  REQUIRE(f.size() == 1);
  CHECK(f[0].qty == 3);
  CHECK(f[0].liquidity == Liquidity::taker);
  CHECK(s.engine.find(2)->leaves == 2);
  CHECK(s.engine.find(2)->filled == 3);
  CHECK(s.engine.best(btc, Side::buy)->price == 101);
  // Total 4 with 3 filled leaves 1; total 3 leaves nothing, so the order ends.
  CHECK(s.replace(11, 2, 101, 4) == RejectReason::ok);
  CHECK(s.engine.find(2)->leaves == 1);
  CHECK(s.replace(11, 2, 101, 3) == RejectReason::ok);
  CHECK(done_of(s.ev, 2).done_reason == DoneReason::cancelled);
  CHECK_FALSE(s.engine.find(2));
}

// Ensure STP cancel_incoming stops the taker at its own order and keeps earlier fills.
TEST_CASE("MatchingEngine: self-trade prevention cancels the incoming order") {
  Setup s(StpMode::cancel_incoming);
  REQUIRE(s.submit(limit(1, 20, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 10, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(3, 20, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(4, 10, Side::buy, 100, 5)) == RejectReason::ok);
  CHECK(fills_of(s.ev, 4).size() == 1);
  const Event done = done_of(s.ev, 4);
  CHECK(done.done_reason == DoneReason::self_trade);
  CHECK(done.remaining == 3);
  CHECK(s.engine.priority_order(btc, Side::sell) == std::vector<OrderKey>{2, 3});
  CHECK_FALSE(s.engine.best(btc, Side::buy));
}

// Ensure STP cancel_resting removes the own resting order and keeps matching behind it.
TEST_CASE("MatchingEngine: self-trade prevention cancels the resting order") {
  Setup s(StpMode::cancel_resting);
  REQUIRE(s.submit(limit(1, 20, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(2, 10, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(3, 20, Side::sell, 100, 2)) == RejectReason::ok);
  REQUIRE(s.submit(limit(4, 10, Side::buy, 100, 5)) == RejectReason::ok);
  const auto f = fills_of(s.ev, 4);
  REQUIRE(f.size() == 2);
  CHECK(f[0].counterparty == 1);
  CHECK(f[1].counterparty == 3);
  CHECK(done_of(s.ev, 2).done_reason == DoneReason::self_trade);
  CHECK(done_of(s.ev, 2).remaining == 2);
  CHECK(s.engine.find(4)->leaves == 1);  // remainder rests
  CHECK(s.engine.stats().self_trades == 1);
}

// Ensure FOK's fillability check sees what STP would do: own liquidity never counts.
TEST_CASE("MatchingEngine: FOK with self-trade prevention") {
  SUBCASE("cancel_incoming: own order in the path makes FOK unfillable") {
    Setup s(StpMode::cancel_incoming);
    REQUIRE(s.submit(limit(1, 20, Side::sell, 100, 2)) == RejectReason::ok);
    REQUIRE(s.submit(limit(2, 10, Side::sell, 100, 2)) == RejectReason::ok);
    REQUIRE(s.submit(limit(3, 20, Side::sell, 100, 5)) == RejectReason::ok);
    REQUIRE(s.submit(limit(4, 10, Side::buy, 100, 4, TimeInForce::fok)) == RejectReason::ok);
    CHECK(of_type(s.ev, EventType::fill).empty());
    CHECK(done_of(s.ev, 4).done_reason == DoneReason::expired);
    CHECK(s.engine.find(2));  // no side effect on the own order
  }
  SUBCASE("cancel_resting: own liquidity is skipped, others' is enough") {
    Setup s(StpMode::cancel_resting);
    REQUIRE(s.submit(limit(1, 20, Side::sell, 100, 2)) == RejectReason::ok);
    REQUIRE(s.submit(limit(2, 10, Side::sell, 100, 2)) == RejectReason::ok);
    REQUIRE(s.submit(limit(3, 20, Side::sell, 100, 2)) == RejectReason::ok);
    REQUIRE(s.submit(limit(4, 10, Side::buy, 100, 5, TimeInForce::fok)) == RejectReason::ok);
    CHECK(of_type(s.ev, EventType::fill).empty());
    REQUIRE(s.submit(limit(5, 10, Side::buy, 100, 4, TimeInForce::fok)) == RejectReason::ok);
    CHECK(fills_of(s.ev, 5).size() == 2);
    CHECK(done_of(s.ev, 5).done_reason == DoneReason::filled);
  }
  SUBCASE("off: own orders trade") {
    Setup s(StpMode::off);
    REQUIRE(s.submit(limit(1, 10, Side::sell, 100, 2)) == RejectReason::ok);
    REQUIRE(s.submit(limit(2, 10, Side::buy, 100, 2, TimeInForce::fok)) == RejectReason::ok);
    CHECK(done_of(s.ev, 2).done_reason == DoneReason::filled);
  }
}

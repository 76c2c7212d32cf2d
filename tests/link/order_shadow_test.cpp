// The gateway's shadow of resting orders, built from events only, against the engine itself:
// after any mix of orders, market orders, IOCs, cancels, replaces and self-trades, every book the
// shadow exports is the book the engine exports (same orders, prices, leaves, filled, priority),
// and resting it on a fresh engine (failover) gives the same future as never moving.
#include <doctest/doctest.h>

#include <random>
#include <vector>

#include "book/book_fixture.hpp"
#include "tradeshard/link/order_shadow.hpp"

using namespace book_test;
using tradeshard::link::OrderShadow;

namespace {

struct Driver {
  explicit Driver(const InstrumentTable& t, std::uint64_t seed) : engine(t, EngineOptions{}), rng(seed) {}
  MatchingEngine engine;
  OrderShadow shadow;
  EventBuffer events;
  std::mt19937_64 rng;
  std::vector<std::pair<OrderKey, AccountId>> placed;
  OrderKey next = 1;

  void step(std::uint32_t worker) {
    events.clear();
    const auto dice = rng() % 100;
    const InstrumentId ins = rng() % 4 == 0 ? eth : btc;
    if (dice < 60 || placed.empty()) {
      const AccountId acct = 1 + rng() % 6;
      const Side side = rng() % 2 ? Side::buy : Side::sell;
      const auto kind = rng() % 10;
      const NewOrder o = kind == 0   ? market(next, acct, side, 2 + rng() % 8, TimeInForce::ioc, ins)
                         : kind == 1 ? limit(next, acct, side, 95 + rng() % 11, 2 + rng() % 10, TimeInForce::ioc, ins)
                         : kind == 2 ? limit(next, acct, side, 95 + rng() % 11, 2 + rng() % 10, TimeInForce::fok, ins)
                                     : limit(next, acct, side, 95 + rng() % 11, 2 + rng() % 10, TimeInForce::gtc, ins);
      (void)engine.submit(o, events);
      placed.emplace_back(next++, acct);
    } else if (dice < 80) {
      const auto [key, acct] = placed[rng() % placed.size()];
      (void)engine.cancel(acct, key, events);
    } else {
      const auto [key, acct] = placed[rng() % placed.size()];
      (void)engine.replace(acct, key, 95 + rng() % 11, 1 + rng() % 14, events);
    }
    shadow.apply(worker, events);
  }
};

}  // namespace

TEST_CASE("Order shadow: every exported book equals the engine's own export, at every step") {
  const InstrumentTable table = make_table();
  std::size_t compared = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    CAPTURE(seed);
    Driver d(table, seed);
    for (int i = 0; i < 400; ++i) {
      d.step(3);
      if (i % 20 != 19) continue;
      for (const InstrumentId ins : {btc, eth}) {
        const BookImage engine = d.engine.export_book(ins);
        const BookImage shadow = d.shadow.export_book(3, ins);
        REQUIRE(shadow.orders == engine.orders);
        compared += engine.orders.size();
        CHECK(shadow.last_trade == engine.last_trade);
      }
    }
    CHECK(d.shadow.size() == d.engine.stats().resting_orders);
  }
  CHECK(compared > 5000);  // the books were not empty
}

TEST_CASE("Order shadow: a dead worker's books rest on a new engine and trade as if nothing moved") {
  const InstrumentTable table = make_table();
  for (std::uint64_t seed = 100; seed < 110; ++seed) {
    CAPTURE(seed);
    Driver d(table, seed);
    for (int i = 0; i < 300; ++i) d.step(0);
    // Worker 0 "dies": its books are rebuilt on a fresh engine from the shadow alone.
    MatchingEngine fresh(table, EngineOptions{});
    for (const InstrumentId ins : d.shadow.instruments_on(0)) {
      REQUIRE(fresh.import_book(d.shadow.export_book(0, ins)) == ImportError::ok);
      d.shadow.move_book(0, 1, ins);
    }
    CHECK(d.shadow.instruments_on(0).empty());
    // The same next orders on the original and on the new home give the same events.
    EventBuffer a, b;
    for (int i = 0; i < 50; ++i) {
      const NewOrder o = limit(10'000 + i, 1 + i % 6, i % 2 ? Side::buy : Side::sell, 95 + i % 11, 2 + i % 9);
      a.clear();
      b.clear();
      (void)d.engine.submit(o, a);
      (void)fresh.submit(o, b);
      REQUIRE(a.size() == b.size());
      for (std::size_t k = 0; k < a.size(); ++k) {
        CHECK(a[k].type == b[k].type);
        CHECK(a[k].key == b[k].key);
        CHECK(a[k].counterparty == b[k].counterparty);
        CHECK(a[k].price == b[k].price);
        CHECK(a[k].qty == b[k].qty);
        CHECK(a[k].remaining == b[k].remaining);
      }
      d.shadow.apply(1, b);
    }
    for (const InstrumentId ins : {btc, eth}) CHECK(d.shadow.export_book(1, ins).orders == fresh.export_book(ins).orders);
  }
}

TEST_CASE("Order shadow: forget_book drops a book; a worker's books are listed") {
  const InstrumentTable table = make_table();
  OrderShadow s;
  MatchingEngine e(table, EngineOptions{});
  EventBuffer ev;
  (void)e.submit(limit(1, 1, Side::buy, 100, 5), ev);
  (void)e.submit(limit(2, 2, Side::sell, 101, 5, TimeInForce::gtc, eth), ev);
  s.apply(7, ev);
  CHECK(s.instruments_on(7) == std::vector<InstrumentId>{btc, eth});
  REQUIRE(s.find(1) != nullptr);
  CHECK(s.find(1)->leaves == 5);
  s.forget_book(7, btc);
  CHECK(s.find(1) == nullptr);
  CHECK(s.instruments_on(7) == std::vector<InstrumentId>{eth});
  CHECK(s.export_book(7, btc).orders.empty());
}

// Moving a book between engines (export_book / remove_book / import_book): what the target holds
// afterwards is what the source held (prices, leaves, fills, time priority, accounts, last trade),
// and a stream of commands gives the same events whether or not the book moved mid-stream.
#include <doctest/doctest.h>

#include <random>

#include "book/book_fixture.hpp"

using namespace book_test;

namespace {

// Events without engine-local trade ids (each engine numbers its own trades).
std::vector<Event> comparable(const EventBuffer& ev) {
  std::vector<Event> out(ev.begin(), ev.end());
  for (auto& e : out) e.trade_id = 0;
  return out;
}

bool same_events(const std::vector<Event>& a, const std::vector<Event>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const Event& x = a[i];
    const Event& y = b[i];
    if (x.type != y.type || x.side != y.side || x.liquidity != y.liquidity || x.reject_reason != y.reject_reason ||
        x.done_reason != y.done_reason || x.priority_kept != y.priority_kept || x.account != y.account ||
        x.instrument != y.instrument || x.key != y.key || x.counterparty != y.counterparty || x.price != y.price ||
        x.qty != y.qty || x.remaining != y.remaining) {
      return false;
    }
  }
  return true;
}

}  // namespace

TEST_CASE("Book migration: the target holds exactly what the source held") {
  const auto table = make_table();
  MatchingEngine a(table, {});
  MatchingEngine b(table, {});
  EventBuffer ev;
  (void)a.submit(limit(1, 1, Side::buy, 100, 5), ev);
  (void)a.submit(limit(2, 2, Side::buy, 100, 3), ev);  // behind 1 at 100
  (void)a.submit(limit(3, 1, Side::buy, 99, 4), ev);
  (void)a.submit(limit(4, 3, Side::sell, 102, 6), ev);
  (void)a.submit(limit(5, 4, Side::sell, 101, 2), ev);
  (void)a.submit(limit(6, 5, Side::sell, 100, 2), ev);  // trades 2 with key 1: leaves 3, filled 2
  (void)a.submit(limit(7, 1, Side::buy, 50, 2, TimeInForce::gtc, eth), ev);  // another instrument stays
  const auto image = a.export_book(btc);
  CHECK(image.last_trade == 100);
  REQUIRE(image.orders.size() == 5);
  CHECK(image.orders[0] == BookImage::Order{1, 1, Side::buy, 100, 3, 2});
  CHECK(image.orders[1].key == 2);
  CHECK(image.orders[2].key == 3);
  CHECK(image.orders[3].key == 5);  // asks best first
  CHECK(image.orders[4].key == 4);

  CHECK(a.remove_book(btc) == 5);
  CHECK(a.priority_order(btc, Side::buy).empty());
  CHECK(a.priority_order(btc, Side::sell).empty());
  CHECK_FALSE(a.find(1));
  CHECK(a.find(7));  // the other instrument's order is untouched
  CHECK(a.open_orders(1) == std::vector<OrderKey>{7});
  CHECK_FALSE(a.last_trade_price(btc));

  REQUIRE(b.import_book(image) == ImportError::ok);
  CHECK(b.export_book(btc).orders == image.orders);
  CHECK(b.last_trade_price(btc) == 100);
  CHECK(b.priority_order(btc, Side::buy) == std::vector<OrderKey>{1, 2, 3});
  const auto v = b.find(1);
  REQUIRE(v);
  CHECK(v->leaves == 3);
  CHECK(v->filled == 2);
  CHECK(v->qty == 5);
  CHECK(b.stats().resting_orders == 5);
  // Ownership moved with the orders: account 1 can cancel its order on the target; a stranger cannot.
  ev.clear();
  CHECK(b.cancel(2, 1, ev) == RejectReason::not_owner);
  CHECK(b.cancel(1, 1, ev) == RejectReason::ok);
  CHECK(done_of(ev, 1).remaining == 3);
  // And priority: a sell at 100 now trades with key 2 (the older one left), then key 3 never.
  ev.clear();
  (void)b.submit(limit(8, 9, Side::sell, 100, 3), ev);
  REQUIRE(fills_of(ev, 2).size() == 1);
  CHECK(fills_of(ev, 2)[0].qty == 3);
}

TEST_CASE("Book migration: refused imports change nothing") {
  const auto table = make_table();
  MatchingEngine a(table, {});
  MatchingEngine b(table, {});
  EventBuffer ev;
  (void)a.submit(limit(1, 1, Side::buy, 100, 5), ev);
  (void)a.submit(limit(2, 2, Side::sell, 101, 5), ev);
  const auto image = a.export_book(btc);

  (void)b.submit(limit(9, 1, Side::buy, 90, 1), ev);
  CHECK(b.import_book(image) == ImportError::book_not_empty);
  ev.clear();
  CHECK(b.cancel(1, 9, ev) == RejectReason::ok);
  (void)b.submit(limit(1, 1, Side::buy, 90, 2, TimeInForce::gtc, eth), ev);  // key 1 live on the other instrument
  CHECK(b.import_book(image) == ImportError::duplicate_key);
  CHECK(b.priority_order(btc, Side::buy).empty());

  MatchingEngine c(table, {});
  BookImage crossed = image;
  crossed.orders[1].price = 100;
  CHECK(c.import_book(crossed) == ImportError::bad_image);
  BookImage unordered = image;
  std::swap(unordered.orders[0], unordered.orders[1]);  // asks before bids
  CHECK(c.import_book(unordered) == ImportError::bad_image);
  BookImage twice = image;
  twice.orders.push_back(twice.orders.back());  // key 2 twice
  CHECK(c.import_book(twice) == ImportError::duplicate_key);
  CHECK(c.stats().resting_orders == 0);
  CHECK(c.priority_order(btc, Side::sell).empty());
  BookImage unknown = image;
  unknown.instrument = 7;
  CHECK(c.import_book(unknown) == ImportError::unknown_instrument);
  CHECK(c.import_book(image) == ImportError::ok);
}

TEST_CASE("Book migration: moving mid-stream gives the same events as never moving") {
  const auto table = make_table();
  for (std::uint32_t seed = 1; seed <= 20; ++seed) {
    std::mt19937_64 rng(seed);
    MatchingEngine reference(table, {});
    MatchingEngine engines[2] = {MatchingEngine(table, {}), MatchingEngine(table, {})};
    int home = 0;
    OrderKey next = 1;
    std::vector<std::pair<OrderKey, AccountId>> placed;
    EventBuffer want, got;
    for (int step = 0; step < 3000; ++step) {
      if (step % 97 == 0) {  // move the book to the other engine
        const auto image = engines[home].export_book(btc);
        engines[home].remove_book(btc);
        REQUIRE(engines[1 - home].import_book(image) == ImportError::ok);
        home = 1 - home;
      }
      want.clear();
      got.clear();
      const auto dice = rng() % 100;
      if (dice < 75 || placed.empty()) {
        const AccountId acct = 1 + rng() % 6;
        const Side side = rng() % 2 ? Side::buy : Side::sell;
        const NewOrder o = rng() % 10 == 0 ? market(next, acct, side, 1 + rng() % 8)
                                           : limit(next, acct, side, 95 + rng() % 11, 1 + rng() % 10);
        (void)reference.submit(o, want);
        (void)engines[home].submit(o, got);
        placed.emplace_back(next++, acct);
      } else if (dice < 90) {
        const auto [key, acct] = placed[rng() % placed.size()];
        CHECK(reference.cancel(acct, key, want) == engines[home].cancel(acct, key, got));
      } else {
        const auto [key, acct] = placed[rng() % placed.size()];
        const Ticks p = 95 + rng() % 11;
        const Lots q = 1 + rng() % 12;
        CHECK(reference.replace(acct, key, p, q, want) == engines[home].replace(acct, key, p, q, got));
      }
      REQUIRE(same_events(comparable(want), comparable(got)));
    }
    CHECK(reference.export_book(btc).orders == engines[home].export_book(btc).orders);
    CHECK(engines[1 - home].stats().resting_orders == 0);
  }
}

// The order path's invariants under every strategy, on randomized streams with workers added,
// drained and removed, books moved and rebalanced, and the strategy switched mid-stream:
// - at every step each symbol's live orders (queued ones too: books also move while an order is
//   still queued) are on one worker (its home: one book per symbol),
//   and no book is crossed;
// - every order gets the same fills (price, quantity, maker or taker), in the same order, and the
//   same end as in a single reference MatchingEngine fed the same stream, and each symbol's
//   trades come in the same order. Sharding, placement and live migration are invisible.
#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/book/matching_engine.hpp"

using namespace tradeshard;

namespace {

const char* const kSymbols[] = {"AAA", "BBB", "CCC", "DDD"};
constexpr int kAccounts = 4;

app::Config stream_config(balance::Strategy strategy) {
  app::Config c;
  for (const char* sym : kSymbols) {
    core::Instrument in;
    in.symbol = sym;
    in.cls = "crypto";
    in.base = sym;
    in.quote = "USDT";
    in.tick_size = {1, 2};
    in.lot_size = {1, 0};
    c.instruments.push_back(in);
  }
  for (int w = 1; w <= 3; ++w) c.workers.push_back({"worker-" + std::to_string(w), 1'000'000, "", {}, 50.0, 0});
  c.partitioning.nodes.push_back({"node-1", {market::StrategyKind::spread}});
  c.replication.log_keep = 64;
  c.balancer.strategy = strategy;
  c.balancer.rebalance.min_load = 0;
  return c;
}

// Everything the clients were told, per order id ("fill:price:qty:maker|taker", "done:reason",
// "reject:reason"), and per symbol the takers' fills in order.
struct Told {
  std::map<std::string, std::vector<std::string>> by_order;
  std::map<std::string, std::vector<std::string>> trades;  // symbol -> "taker-id:price:qty"
};

struct Port final : app::ClientPort {
  Told* told = nullptr;
  void send(const app::Outbound& m) override {
    if (const auto* f = std::get_if<app::FillOut>(&m)) {
      const std::string fill = std::to_string(f->price) + ":" + std::to_string(f->qty);
      told->by_order[std::string(f->id)].push_back("fill:" + fill + (f->maker ? ":maker" : ":taker"));
      if (!f->maker) told->trades[f->instrument->symbol].push_back(std::string(f->id) + ":" + fill);
    } else if (const auto* d = std::get_if<app::DoneOut>(&m)) {
      told->by_order[std::string(d->id)].push_back("done:" + std::string(d->reason));
    } else if (const auto* r = std::get_if<app::RejectOut>(&m)) {
      if (!r->id.empty()) told->by_order[std::string(r->id)].push_back("reject:" + std::string(r->reason));
    }
  }
};

// The same stream into one engine.
struct Reference {
  explicit Reference(const app::Config& c) : table(c.instruments), engine(table, options(c)) {}
  static book::EngineOptions options(const app::Config& c) {
    book::EngineOptions o;
    o.stp = c.matching.self_trade_prevention;
    o.market_band_bps = c.matching.market_protection_bps;
    return o;
  }
  void play(const book::EventBuffer& events) {
    for (const auto& ev : events) {
      const std::string& id = ids.at(ev.key);
      switch (ev.type) {
        case book::EventType::fill: {
          const std::string fill = std::to_string(ev.price) + ":" + std::to_string(ev.qty);
          const bool maker = ev.liquidity == book::Liquidity::maker;
          told.by_order[id].push_back("fill:" + fill + (maker ? ":maker" : ":taker"));
          if (!maker) told.trades[table.at(ev.instrument).symbol].push_back(id + ":" + fill);
          break;
        }
        case book::EventType::done:
          told.by_order[id].push_back("done:" + std::string(book::to_string(ev.done_reason)));
          live.erase(id);
          break;
        case book::EventType::rejected:
          told.by_order[id].push_back("reject:" + std::string(book::to_string(ev.reject_reason)));
          live.erase(id);
          break;
        default:
          break;
      }
    }
  }
  core::InstrumentTable table;
  book::MatchingEngine engine;
  Told told;
  std::map<book::OrderKey, std::string> ids;
  std::map<std::string, std::pair<book::OrderKey, book::AccountId>> live;  // id -> key, account
  book::OrderKey next = 0;
};

// One book per symbol and none crossed, seen from outside (open orders, the venue's depth).
void check_books(const app::Gateway& g) {
  std::map<std::string, std::set<std::string>> where;
  for (int a = 0; a < kAccounts; ++a) {
    for (const auto& o : g.orders().open_orders("acct-" + std::to_string(a))) where[o.symbol].insert(o.worker);
  }
  for (core::InstrumentId i = 0; i < std::size(kSymbols); ++i) {
    const std::string sym = kSymbols[i];
    CAPTURE(sym);
    const auto home = g.orders().home_of(i);
    if (where[sym].empty()) {
      CHECK_FALSE(home);
      continue;
    }
    REQUIRE(where[sym].size() == 1);
    REQUIRE(home);
    std::vector<app::DepthLevel> bids, asks;
    CHECK(g.venue().depth(*home, i, 1, bids, asks) == *where[sym].begin());
    if (!bids.empty() && !asks.empty()) CHECK(bids[0].price < asks[0].price);
  }
}

void run_stream(balance::Strategy strategy, std::uint64_t seed, int steps) {
  const app::Config config = stream_config(strategy);
  app::Gateway g(config);
  Reference ref(config);
  Told told;
  std::vector<Port> ports(kAccounts);
  std::vector<std::uint64_t> conns;
  for (auto& p : ports) {
    p.told = &told;
    conns.push_back(g.open(p));
  }
  std::mt19937_64 rng(seed);
  auto pick = [&rng](auto n) { return static_cast<decltype(n)>(rng() % static_cast<std::uint64_t>(n)); };
  int next_worker = 4;
  std::vector<std::string> ids;  // every order id, kept alive for the string_views of commands
  ids.reserve(static_cast<std::size_t>(steps));
  book::EventBuffer ev;
  std::int64_t now_ms = 0;
  auto next_roll = pick(100);
  for (int step = 0; step < steps; ++step) {
    CAPTURE(step);
    const auto roll = next_roll;
    next_roll = pick(100);
    bool defer_pump = false;
    if (roll < 68 || ref.live.empty()) {
      // A new order.
      const int a = pick(kAccounts);
      const auto inst = static_cast<core::InstrumentId>(pick(std::size(kSymbols)));
      ids.push_back("o" + std::to_string(step));
      app::OrderCmd o;
      o.id = ids.back();
      const std::string account = "acct-" + std::to_string(a);
      o.account = account;
      o.symbol = kSymbols[inst];
      o.side = pick(2) ? core::Side::buy : core::Side::sell;
      const bool market = pick(12) == 0;
      o.kind = market ? app::OrderKind::market : app::OrderKind::limit;
      o.tif = pick(8) == 0 ? app::Tif::ioc : app::Tif::gtc;
      o.has_price = !market;
      const std::int64_t price = 10'000 + static_cast<std::int64_t>(pick(21)) - 10;
      o.price = {price, 2};
      const std::int64_t qty = 1 + static_cast<std::int64_t>(pick(5));
      o.qty = {qty, 0};
      g.handle(conns[a], o, {});
      book::NewOrder n{++ref.next, static_cast<book::AccountId>(a + 1), inst, o.side,
                       market ? book::OrderType::market : book::OrderType::limit,
                       o.tif == app::Tif::ioc ? book::TimeInForce::ioc : book::TimeInForce::gtc, market ? 0 : price, qty};
      ref.ids[n.key] = ids.back();
      ref.live[ids.back()] = {n.key, n.account};
      ev.clear();
      (void)ref.engine.submit(n, ev);
      ref.play(ev);
      // Sometimes the order is still queued when the next step moves books (admin steps only:
      // a cancel or replace of a queued order is answered from the queue, which no engine does).
      defer_pump = next_roll >= 88 && pick(2) == 0;
    } else if (roll < 80) {
      // Cancel a live order.
      auto it = ref.live.begin();
      std::advance(it, pick(ref.live.size()));
      const std::string id = it->first;
      const auto [key, account] = it->second;
      app::CancelCmd c;
      c.id = id;
      const std::string acct = "acct-" + std::to_string(account - 1);
      c.account = acct;
      g.handle(conns[account - 1], c, {});
      ev.clear();
      (void)ref.engine.cancel(account, key, ev);
      ref.play(ev);
    } else if (roll < 88) {
      // Replace a live order: new price and total quantity (may trade, may lose priority).
      auto it = ref.live.begin();
      std::advance(it, pick(ref.live.size()));
      const std::string id = it->first;
      const auto [key, account] = it->second;
      const std::int64_t price = 10'000 + static_cast<std::int64_t>(pick(21)) - 10;
      const std::int64_t qty = 1 + static_cast<std::int64_t>(pick(6));
      app::ReplaceCmd r;
      r.id = id;
      const std::string acct = "acct-" + std::to_string(account - 1);
      r.account = acct;
      r.has_price = r.has_qty = true;
      r.price = {price, 2};
      r.qty = {qty, 0};
      g.handle(conns[account - 1], r, {});
      ev.clear();
      const auto rc = ref.engine.replace(account, key, price, qty, ev);
      if (rc != book::RejectReason::ok) ref.told.by_order[id].push_back("reject:" + std::string(book::to_string(rc)));
      ref.play(ev);
    } else {
      // Admin, mid-stream: never visible in what clients are told.
      const auto routable = [&] {
        std::vector<std::string> out;
        for (const auto& w : g.orders().balancer().workers()) {
          if (w.state == balance::WorkerState::healthy) out.push_back(w.id);
        }
        return out;
      }();
      const auto action = pick(6);
      std::string err;
      if (action == 0 && routable.size() < 6) {
        err = g.manage_orders([&](app::OrderFlow& f) {
          return f.add_worker({"worker-" + std::to_string(next_worker++), 1'000'000, "", {}, 50.0, 0});
        });
      } else if (action == 1 && routable.size() > 1) {
        err = g.manage_orders([&](app::OrderFlow& f) { return f.drain_worker(routable[pick(routable.size())]); });
      } else if (action == 2 && routable.size() > 1) {
        err = g.manage_orders([&](app::OrderFlow& f) { return f.remove_worker(routable[pick(routable.size())]); });
      } else if (action == 3) {
        (void)g.sample_orders(now_ms += 1000, 1000);
        (void)g.manage_orders([&](app::OrderFlow& f) { return f.rebalance(now_ms); });
      } else if (action == 4) {
        std::size_t moved = 0;
        const auto e = g.manage_orders([&](app::OrderFlow& f) {
          return f.move_book(kSymbols[pick(std::size(kSymbols))], routable[pick(routable.size())], moved);
        });
        CHECK((e.empty() || e == "no_live_orders"));
      } else if (action == 5) {
        const auto s = balance::all_strategies[pick(std::size(balance::all_strategies))];
        err = g.manage_orders([&](app::OrderFlow& f) { return f.set_strategy(balance::to_string(s)); });
      }
      CHECK(err.empty());
    }
    if (!defer_pump) {
      while (g.pump({})) {
      }
    }
    check_books(g);
  }
  while (g.pump({})) {
  }
  // The stream did what it is for: trades on every symbol, books moved, workers came and went.
  std::size_t trades = 0;
  for (const auto& [sym, list] : ref.told.trades) trades += list.size();
  CHECK(ref.told.trades.size() == std::size(kSymbols));
  CHECK(trades > 200);
  CHECK(g.orders().stats().books_moved > 5);
  CHECK(next_worker > 5);
  MESSAGE(balance::to_string(strategy) << " seed " << seed << ": " << trades << " trades, " << ref.live.size()
          << " live at the end, " << g.orders().stats().books_moved << " books moved, " << next_worker - 4 << " workers added");
  CHECK(g.orders().live_orders() == ref.live.size());
  CHECK(told.trades == ref.told.trades);
  // Order by order, the first difference is the one to read.
  for (const auto& [id, seen] : ref.told.by_order) {
    CAPTURE(id);
    CHECK(told.by_order[id] == seen);
  }
  CHECK(told.by_order.size() == ref.told.by_order.size());
}

}  // namespace

TEST_CASE("Invariants: one unsplit, uncrossed book per symbol; the same trades as one engine, whatever moves") {
  for (const auto strategy : balance::all_strategies) {
    for (const std::uint64_t seed : {1u, 2u, 3u}) {
      CAPTURE(balance::to_string(strategy));
      CAPTURE(seed);
      run_stream(strategy, seed * 7919 + static_cast<std::uint64_t>(strategy), 1500);
    }
  }
}

// The order path end to end over TCP: routing, matching, both sides told, admin management.
#include <doctest/doctest.h>

#include <map>
#include <set>
#include <sys/socket.h>

#include <thread>

#include "fixture.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;

namespace {
const char* kToken = "change-me-admin-token-0123";

json order(const std::string& id, const std::string& account, const std::string& side, const std::string& price,
           const std::string& qty, const std::string& symbol = "BTCUSDT") {
  return {{"type", "order"}, {"id", id}, {"account", account}, {"symbol", symbol},
          {"side", side},    {"price", price}, {"qty", qty}};
}

json expect(LineClient& c, const std::string& type, const std::string& id) {
  auto m = c.read_until(type, id);
  REQUIRE_MESSAGE(m, "no " << type << " for " << id);
  return *m;
}
}  // namespace

// Ensure crossing orders from two clients trade at the resting price and both sides are told.
TEST_CASE("Orders: two clients cross; fills on both connections") {
  DaemonProcess d(test_config());
  LineClient alice(d.tcp_port()), bob(d.tcp_port());
  alice.send(order("s-1", "alice", "sell", "100.00", "1"));
  auto ack = expect(alice, "ack", "s-1");
  CHECK(ack["worker"].get<std::string>().rfind("worker-", 0) == 0);
  bob.send(order("b-1", "bob", "buy", "100.50", "0.4"));
  expect(bob, "ack", "b-1");
  auto tf = expect(bob, "fill", "b-1");
  CHECK(tf["price"] == "100.00");
  CHECK(tf["qty"] == "0.40000");
  CHECK(tf["liquidity"] == "taker");
  CHECK(tf["remaining"] == "0.00000");
  CHECK(expect(bob, "done", "b-1")["reason"] == "filled");
  auto mf = expect(alice, "fill", "s-1");
  CHECK(mf["liquidity"] == "maker");
  CHECK(mf["remaining"] == "0.60000");
  CHECK(mf["trade_id"] == tf["trade_id"]);
  auto book = http_request(d.http_port(), "GET", "/book/BTCUSDT").body_json();
  CHECK(book["worker"].is_string());
  CHECK(book["best_ask"] == "100.00");
  CHECK(book["best_bid"].is_null());
  CHECK(book["asks"][0]["qty"] == "0.60000");
  auto open = http_request(d.http_port(), "GET", "/orders/alice").body_json();
  REQUIRE(open["orders"].size() == 1);
  CHECK(open["orders"][0]["leaves"] == "0.60000");
  auto stats = http_request(d.http_port(), "GET", "/stats").body_json();
  CHECK(stats["matching"]["trades"] == 1);
  CHECK(stats["balancer"]["orders_routed"] == 2);
}

// Ensure each bad order gets a reject with its id and a specific reason.
TEST_CASE("Orders: specific reject reasons") {
  DaemonProcess d(test_config());
  LineClient c(d.tcp_port());
  c.send(order("o-1", "a", "buy", "100.001", "1"));
  CHECK(expect(c, "reject", "o-1")["reason"] == "bad_price_tick");
  c.send(order("o-2", "a", "buy", "100", "0.000001"));
  CHECK(expect(c, "reject", "o-2")["reason"] == "bad_qty_lot");
  c.send(order("o-3", "a", "buy", "100", "1", "DOGEUSDT"));
  CHECK(expect(c, "reject", "o-3")["reason"] == "unknown_symbol");
  c.send(order("o-4", "a", "buy", "100", "5000"));
  CHECK(expect(c, "reject", "o-4")["reason"] == "qty_out_of_range");
  c.send(order("o-5", "a", "buy", "100", "1"));
  expect(c, "ack", "o-5");
  c.send(order("o-5", "a", "buy", "99", "1"));
  CHECK(expect(c, "reject", "o-5")["reason"] == "duplicate_id");
  c.send({{"type", "cancel"}, {"id", "nope"}});
  CHECK(expect(c, "reject", "nope")["reason"] == "unknown_order");
  c.send({{"type", "order"}, {"id", "o-6"}, {"symbol", "BTCUSDT"}, {"side", "buy"}, {"qty", "1"}});
  CHECK(expect(c, "reject", "o-6")["reason"] == "missing_field");
}

// Ensure cancel, replace and cancel_all answer with done/replaced and change the book.
TEST_CASE("Orders: cancel, replace, cancel_all") {
  DaemonProcess d(test_config());
  LineClient c(d.tcp_port());
  c.send(order("a", "acc", "buy", "100", "1"));
  c.send(order("b", "acc", "buy", "99", "1"));
  c.send(order("e", "acc", "sell", "2000", "1", "ETHUSDT"));
  expect(c, "ack", "a");
  expect(c, "ack", "b");
  expect(c, "ack", "e");
  c.send({{"type", "replace"}, {"id", "a"}, {"qty", "0.5"}});
  auto r = expect(c, "replaced", "a");
  CHECK(r["qty"] == "0.50000");
  CHECK(r["price"] == "100.00");
  c.send({{"type", "cancel"}, {"id", "a"}});
  CHECK(expect(c, "done", "a")["reason"] == "cancelled");
  c.send({{"type", "cancel_all"}, {"symbol", "BTCUSDT"}});
  CHECK(expect(c, "done", "b")["reason"] == "cancelled");
  auto open = http_request(d.http_port(), "GET", "/orders/acc").body_json();
  REQUIRE(open["orders"].size() == 1);
  CHECK(open["orders"][0]["id"] == "e");
}

// Ensure a disconnect cancels the connection's resting orders (cancel_on_disconnect default).
TEST_CASE("Orders: cancel on disconnect") {
  DaemonProcess d(test_config());
  {
    LineClient c(d.tcp_port());
    c.send(order("r-1", "gone", "buy", "100", "1"));
    expect(c, "ack", "r-1");
  }
  bool empty = false;
  for (int i = 0; i < 50 && !empty; ++i) {
    empty = http_request(d.http_port(), "GET", "/orders/gone").body_json()["orders"].empty();
    if (!empty) std::this_thread::sleep_for(20ms);
  }
  CHECK(empty);
}

// Ensure a client that half-closes after sending (like `nc`) still gets its replies.
TEST_CASE("Orders: half-closed client still gets its acks") {
  DaemonProcess d(test_config());
  LineClient c(d.tcp_port());
  c.send(order("h-1", "half", "buy", "100", "1"));
  c.send({{"type", "ping"}});
  ::shutdown(c.fd(), SHUT_WR);
  auto ack = c.read_until("ack", "h-1");
  CHECK(ack.has_value());
}

// Ensure with auth on a connection must log in and may trade only its own account.
TEST_CASE("Orders: login and account ownership") {
  DaemonProcess d(test_config({{"auth", {{"enabled", true},
                                         {"api_keys", {{{"account", "alice"}, {"key", "alice-key-0123456789"}}}}}}}));
  LineClient c(d.tcp_port());
  c.send(order("x", "alice", "buy", "100", "1"));
  CHECK(expect(c, "reject", "x")["reason"] == "not_logged_in");
  c.send({{"type", "login"}, {"api_key", "wrong-key-0000000000"}});
  CHECK(c.read_until("error").value()["error"] == "bad_login");
  c.send({{"type", "login"}, {"api_key", "alice-key-0123456789"}});
  CHECK(c.read_until("login").value()["account"] == "alice");
  c.send(order("y", "bob", "buy", "100", "1"));
  CHECK(expect(c, "reject", "y")["reason"] == "not_owner");
  c.send({{"type", "order"}, {"id", "z"}, {"symbol", "BTCUSDT"}, {"side", "buy"}, {"price", "100"}, {"qty", "1"}});
  expect(c, "ack", "z");
  auto open = http_request(d.http_port(), "GET", "/orders/alice").body_json();
  CHECK(open["orders"].size() == 1);
}

// Ensure admin endpoints need the bearer token and manage workers without restart; round robin
// places symbols in turn and keeps each symbol's orders on its worker (one book per symbol).
TEST_CASE("Admin: token, round robin placement, drain, remove tells owners") {
  DaemonProcess d(test_config({{"balancer", {{"strategy", "round_robin"}}}}));
  CHECK(http_request(d.http_port(), "POST", "/admin/balancer", R"({"strategy":"hash"})").status == 401);
  CHECK(http_request(d.http_port(), "POST", "/admin/balancer", R"({"strategy":"hash"})", "wrong-token-123456789").status == 401);
  LineClient c(d.tcp_port());
  const std::vector<std::string> symbols = {"BTCUSDT", "ETHUSDT", "SOLUSDT"};
  for (int i = 0; i < 15; ++i) {
    c.send(order("rr-" + std::to_string(i), "acc", "buy", std::to_string(100 + i), "1", symbols[i % 3]));
  }
  std::map<std::string, std::set<std::string>> homes;  // symbol -> workers that acked its orders
  for (int i = 0; i < 15; ++i) homes[symbols[i % 3]].insert(expect(c, "ack", "rr-" + std::to_string(i))["worker"]);
  for (const auto& [symbol, on] : homes) CHECK(on.size() == 1);
  CHECK(*homes["BTCUSDT"].begin() == "worker-1");  // placed in turn: worker-1, -2, -3
  CHECK(*homes["ETHUSDT"].begin() == "worker-2");
  CHECK(*homes["SOLUSDT"].begin() == "worker-3");
  auto workers = http_request(d.http_port(), "GET", "/workers").body_json()["workers"];
  REQUIRE(workers.size() == 3);
  for (const auto& w : workers) CHECK(w["current_load"] == 5);
  // Drain worker-1: its BTCUSDT book moves, live, to where round robin places it now, and the
  // worker leaves at once (it holds nothing). The five orders keep trading where they went.
  CHECK(http_request(d.http_port(), "POST", "/admin/workers/worker-1/drain", "", kToken).status == 200);
  auto ids = [&] {
    std::set<std::string> out;
    const json workers = http_request(d.http_port(), "GET", "/workers").body_json();  // keep it alive
    for (const auto& w : workers["workers"]) out.insert(w["id"].get<std::string>());
    return out;
  };
  CHECK(ids() == std::set<std::string>{"worker-2", "worker-3"});
  const auto open = http_request(d.http_port(), "GET", "/orders/acc").body_json()["orders"];
  CHECK(open.size() == 15);
  std::string btc_home;
  for (const auto& o : open) {
    if (o["symbol"] == "BTCUSDT") btc_home = o["worker"];
  }
  CHECK((btc_home == "worker-2" || btc_home == "worker-3"));
  c.send(order("btc-late", "acc", "buy", "50", "1"));
  CHECK(expect(c, "ack", "btc-late")["worker"] == btc_home);
  CHECK(http_request(d.http_port(), "GET", "/stats").body_json()["matching"]["books_moved"] == 1);
  // Remove worker-2: its books move to worker-3, the only worker left; no order ends.
  CHECK(http_request(d.http_port(), "DELETE", "/admin/workers/worker-2", "", kToken).status == 200);
  CHECK(ids() == std::set<std::string>{"worker-3"});
  const auto kept = http_request(d.http_port(), "GET", "/orders/acc").body_json()["orders"];
  CHECK(kept.size() == 16);  // the 15 placed in turn and btc-late
  for (const auto& o : kept) CHECK(o["worker"] == "worker-3");
  CHECK(http_request(d.http_port(), "DELETE", "/admin/workers/nope", "", kToken).status == 404);
  auto add = http_request(d.http_port(), "POST", "/admin/workers", R"({"id":"worker-9","capacity":10})", kToken);
  CHECK(add.status == 200);
  CHECK(http_request(d.http_port(), "POST", "/admin/workers", R"({"id":"worker-9"})", kToken).status == 400);
  auto st = http_request(d.http_port(), "POST", "/admin/balancer", R"({"strategy":"least_connections"})", kToken);
  CHECK(st.status == 200);
  // A symbol without live orders: least connections places it on the empty worker-9.
  c.send(order("lc", "acc", "buy", "40", "1", "EURUSD"));
  CHECK(expect(c, "ack", "lc")["worker"] == "worker-9");
  CHECK(http_request(d.http_port(), "POST", "/admin/balancer", R"({"strategy":"random"})", kToken).status == 400);
}

// Ensure the rebalancer moves a hot book, live, off the busiest worker: every order survives, the
// moved book's orders trade where it went, and new orders follow it; /workers, /stats and the
// on-demand endpoint show it.
TEST_CASE("Admin: load-aware rebalancing moves a hot book off the busiest worker, live") {
  DaemonProcess d(test_config({{"balancer",
                                {{"strategy", "round_robin"},
                                 {"rebalance", {{"after_ms", 0}, {"cooldown_ms", 0}, {"min_load", 5}, {"max_over_avg", 1.3}}}}},
                               {"partitioning", {{"load_sample_ms", 200}}},
                               {"workers", {{{"id", "w1"}, {"capacity", 10000}}, {{"id", "w2"}, {"capacity", 10000}}}}}));
  LineClient c(d.tcp_port());
  // Round robin places BTCUSDT on w1, ETHUSDT on w2, SOLUSDT on w1.
  c.send(order("p-btc", "acc", "buy", "100", "1", "BTCUSDT"));
  CHECK(expect(c, "ack", "p-btc")["worker"] == "w1");
  c.send(order("p-eth", "acc", "buy", "100", "1", "ETHUSDT"));
  CHECK(expect(c, "ack", "p-eth")["worker"] == "w2");
  c.send(order("p-sol", "acc", "buy", "100", "1", "SOLUSDT"));
  CHECK(expect(c, "ack", "p-sol")["worker"] == "w1");
  // BTCUSDT and SOLUSDT get busy; both live on w1.
  const int n = 400;
  for (int i = 0; i < n; ++i) {
    c.send(order("h-" + std::to_string(i), "acc", "buy", std::to_string(50 + i % 40), "1", i % 2 ? "SOLUSDT" : "BTCUSDT"));
  }
  for (int i = 0; i < n; ++i) expect(c, "ack", "h-" + std::to_string(i));
  // Within a few load samples one of the two books moves to w2.
  std::string moved;
  for (int tries = 0; tries < 50 && moved.empty(); ++tries) {
    const json workers = http_request(d.http_port(), "GET", "/workers").body_json();
    for (const auto& w : workers["workers"]) {
      if (w["id"] != "w2") continue;
      for (const auto& sym : w["symbols"]) {
        if (sym != "ETHUSDT") moved = sym.get<std::string>();
      }
    }
    if (moved.empty()) std::this_thread::sleep_for(100ms);
  }
  REQUIRE_MESSAGE(!moved.empty(), "no book moved to w2");
  const json stats = http_request(d.http_port(), "GET", "/stats").body_json();
  CHECK(stats["matching"]["rebalance_moves"].get<int>() >= 1);
  CHECK(stats["matching"]["books_moved"].get<int>() >= 1);
  // Nothing lost: every order is live, the moved symbol's all on w2.
  const json open = http_request(d.http_port(), "GET", "/orders/acc").body_json();
  CHECK(open["orders"].size() == static_cast<std::size_t>(n + 3));
  for (const auto& o : open["orders"]) {
    if (o["symbol"] == moved) CHECK(o["worker"] == "w2");
  }
  const json book = http_request(d.http_port(), "GET", "/book/" + moved).body_json();
  CHECK(book["worker"] == "w2");
  CHECK(book["best_bid"] == "100.00");
  // The best bid (the first order placed) trades with a sell that crosses it, on w2.
  LineClient seller(d.tcp_port());
  seller.send(order("x-1", "other", "sell", "100", "1", moved));
  CHECK(expect(seller, "ack", "x-1")["worker"] == "w2");
  CHECK(expect(seller, "fill", "x-1")["price"] == "100.00");
  CHECK(expect(c, "fill", moved == "BTCUSDT" ? "p-btc" : "p-sol")["liquidity"] == "maker");
  // On demand: the answer names the imbalance before and after and what moved (maybe nothing now).
  CHECK(http_request(d.http_port(), "POST", "/admin/balancer/rebalance", "").status == 401);
  const auto r = http_request(d.http_port(), "POST", "/admin/balancer/rebalance", "", kToken);
  REQUIRE(r.status == 200);
  const json rb = r.body_json();
  CHECK(rb["ok"] == true);
  CHECK(rb["before"].is_number());
  CHECK(rb["after"].get<double>() <= rb["before"].get<double>() + 1e-9);
  CHECK(rb["moves"].is_array());
}

// Ensure a drained worker whose books can go nowhere (no other worker) keeps them, refuses new
// orders of those symbols rather than open a second book, and leaves once its last order ends.
TEST_CASE("Admin: a drained worker with nowhere to move its books leaves when its last order ends") {
  DaemonProcess d(test_config({{"workers", {{{"id", "w1"}, {"capacity", 10}}}}}));
  LineClient c(d.tcp_port());
  c.send(order("d-1", "acc", "buy", "100", "1"));
  const std::string home = expect(c, "ack", "d-1")["worker"];
  CHECK(http_request(d.http_port(), "POST", "/admin/workers/" + home + "/drain", "", kToken).status == 200);
  auto state_of = [&](const std::string& id) {
    const json workers = http_request(d.http_port(), "GET", "/workers").body_json();  // keep it alive
    for (const auto& w : workers["workers"]) {
      if (w["id"] == id) return w["state"].get<std::string>();
    }
    return std::string("gone");
  };
  CHECK(state_of(home) == "draining");
  c.send(order("d-2", "acc", "buy", "99", "1"));
  CHECK(expect(c, "reject", "d-2")["reason"] == "symbol_draining");
  c.send({{"type", "cancel"}, {"id", "d-1"}});
  expect(c, "done", "d-1");
  CHECK(state_of(home) == "gone");
}

// Ensure removing a worker whose books can go nowhere ends its orders with done:worker_removed.
TEST_CASE("Admin: removing the last worker tells owners worker_removed") {
  DaemonProcess d(test_config({{"workers", {{{"id", "w1"}, {"capacity", 10}}}}}));
  LineClient c(d.tcp_port());
  c.send(order("r-1", "acc", "buy", "100", "1"));
  c.send(order("r-2", "acc", "sell", "101", "1", "ETHUSDT"));
  expect(c, "ack", "r-1");
  expect(c, "ack", "r-2");
  CHECK(http_request(d.http_port(), "DELETE", "/admin/workers/w1", "", kToken).status == 200);
  CHECK(expect(c, "done", "r-1")["reason"] == "worker_removed");
  CHECK(expect(c, "done", "r-2")["reason"] == "worker_removed");
  CHECK(http_request(d.http_port(), "GET", "/orders/acc").body_json()["orders"].empty());
}

// Ensure a full worker refuses with no_capacity and a release frees the slot.
TEST_CASE("Orders: capacity exhaustion and release") {
  DaemonProcess d(test_config({{"workers", {{{"id", "w1"}, {"capacity", 2}}}}}));
  LineClient c(d.tcp_port());
  c.send(order("c1", "a", "buy", "10", "1"));
  c.send(order("c2", "a", "buy", "11", "1"));
  c.send(order("c3", "a", "buy", "12", "1"));
  expect(c, "ack", "c1");
  expect(c, "ack", "c2");
  CHECK(expect(c, "reject", "c3")["reason"] == "no_capacity");
  c.send({{"type", "cancel"}, {"id", "c1"}});
  expect(c, "done", "c1");
  c.send(order("c4", "a", "buy", "12", "1"));
  expect(c, "ack", "c4");
}

// Ensure trades:SYMBOL and depth:SYMBOL subscribers are told about trades and book changes.
TEST_CASE("Orders: trades and depth channels") {
  DaemonProcess d(test_config());
  LineClient watcher(d.tcp_port()), a(d.tcp_port());
  watcher.send({{"type", "subscribe"}, {"channels", {"trades:ETHUSDT", "depth:ETHUSDT"}}});
  REQUIRE(watcher.read_until("subscribed"));
  a.send(order("m", "mm", "sell", "2000.50", "2", "ETHUSDT"));
  expect(a, "ack", "m");
  auto depth = watcher.read_until("depth");
  REQUIRE(depth);
  a.send(order("t", "tk", "buy", "2001", "0.5", "ETHUSDT"));
  auto trade = watcher.read_until("trade");
  REQUIRE(trade);
  CHECK((*trade)["price"] == "2000.50");
  CHECK((*trade)["qty"] == "0.50000");
  CHECK((*trade)["aggressor"] == "buy");
}

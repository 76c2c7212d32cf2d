// The HTTP API's routes without sockets: HttpApi over a Gateway, edge counters and an admin
// token, driven by HttpRequest values (what HttpSession hands it after parsing).
#include <doctest/doctest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "net/http_api.hpp"
#include "tradeshard/app/gateway.hpp"
#include "tradeshard/net/logging.hpp"
#include "tradeshard/net/net_stats.hpp"
#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;
using json = nlohmann::json;

namespace {

constexpr const char* kConfig = R"({
  "instruments": [
    { "symbol": "BTCUSDT", "class": "crypto", "base": "BTC", "quote": "USDT", "tick_size": "0.01", "lot_size": "0.00001" }
  ],
  "workers": [ { "id": "worker-1", "capacity": 1000 } ],
  "replication": { "replicas": 3, "log_keep": 16 },
  "ledger": { "durable": false, "data_dir": "" },
  "admin": { "token": "test-admin-token-0123456789" }
})";

struct Api {
  Api() { net::setup_logging("off"); }  // the loggers the edge writes to (main.cpp sets them up)
  app::Config config = protocol::parse_config(kConfig);
  app::Gateway gateway{config};
  net::NetStats stats;
  net::HttpApi api{config.admin_token, stats, gateway};

  net::HttpResponse call(std::string_view method, std::string_view path, std::string_view body = {},
                         std::string_view authorization = {}, std::string_view query = {}) {
    net::HttpRequest r;
    r.method = method;
    r.path = path;
    r.query = query;
    r.body = body;
    r.authorization = authorization;
    return api.handle(r);
  }
};

json body(const net::HttpResponse& r) { return json::parse(r.body); }

struct NullPort final : app::ClientPort {
  void send(const app::Outbound&) override {}
};

}  // namespace

TEST_CASE("HttpApi: health, unknown paths and methods") {
  Api a;
  const auto health = a.call("GET", "/health");
  CHECK(health.status == 200);
  CHECK(body(health)["status"] == "ok");
  const auto missing = a.call("GET", "/nope");
  CHECK(missing.status == 404);
  CHECK(body(missing)["error"] == "not_found");
  const auto wrong = a.call("DELETE", "/health");
  CHECK(wrong.status == 405);
  CHECK(wrong.allow.find("GET") != std::string::npos);
}

TEST_CASE("HttpApi: admin routes need the bearer token") {
  Api a;
  const std::string deposit = R"({"currency":"USDT","amount":"250.5"})";
  CHECK(a.call("POST", "/admin/accounts/A/deposit", deposit).status == 401);
  CHECK(a.call("POST", "/admin/accounts/A/deposit", deposit, "Bearer wrong-token").status == 401);
  const auto ok = a.call("POST", "/admin/accounts/A/deposit", deposit, "Bearer test-admin-token-0123456789");
  CHECK(ok.status == 200);
  CHECK(body(ok)["ok"] == true);
  const auto account = body(a.call("GET", "/accounts/A"));
  CHECK(account["cash"][0]["balance"] == "250.5000000");
  CHECK(a.call("POST", "/admin/accounts/A/deposit", "not json", "Bearer test-admin-token-0123456789").status == 400);
}

TEST_CASE("HttpApi: /book shows each worker's depth from the app layer") {
  Api a;
  NullPort port;
  const auto conn = a.gateway.open(port);
  app::OrderCmd o;
  o.id = "b1";
  o.account = "A";
  o.symbol = "BTCUSDT";
  o.side = core::Side::buy;
  o.has_price = true;
  o.price = core::Decimal{10000, 2};  // 100.00
  o.qty = core::Decimal{3, 5};        // 0.00003
  a.gateway.handle(conn, o, {});
  while (a.gateway.pump({})) {
  }
  const auto book = a.call("GET", "/book/BTCUSDT");
  REQUIRE(book.status == 200);
  const auto b = body(book);
  CHECK(b["symbol"] == "BTCUSDT");
  CHECK(b["worker"] == "worker-1");
  CHECK(b["best_bid"] == "100.00");
  CHECK(b["best_ask"].is_null());
  CHECK(b["bids"][0]["qty"] == "0.00003");
  CHECK(b["bids"][0]["orders"] == 1);
  CHECK(b["asks"].empty());
  CHECK(a.call("GET", "/book/NOPE").status == 404);
  const auto matching = body(a.call("GET", "/stats"))["matching"];
  CHECK(matching["resting_orders"] == 1);
  CHECK(matching["workers"]["worker-1"]["resting_orders"] == 1);
}

TEST_CASE("HttpApi: /stats and /metrics read the edge counters by name") {
  Api a;
  a.stats.out_by_type[app::Outbound{app::PongOut{}}.index()] = 7;
  a.stats.errors_by_code[static_cast<int>(app::WireError::bad_json)] = 2;
  const auto s = body(a.call("GET", "/stats"));
  CHECK(s["messages_out"]["pong"] == 7);
  CHECK(s["errors"]["bad_json"] == 2);
  const auto m = a.call("GET", "/metrics");
  CHECK(m.status == 200);
  CHECK(m.body.find("tradeshard_messages_out_total{type=\"pong\"} 7") != std::string::npos);
  CHECK(m.body.find("tradeshard_wire_errors_total{code=\"bad_json\"} 2") != std::string::npos);
}

TEST_CASE("HttpApi: order path admin routes act through the Gateway and show in /workers and /orders") {
  Api a;
  const std::string auth = "Bearer test-admin-token-0123456789";
  CHECK(a.call("POST", "/admin/workers", R"({"id":"worker-2","capacity":10})", auth).status == 200);
  CHECK(a.call("POST", "/admin/workers", R"({"id":"worker-2","capacity":10})", auth).status == 400);  // exists
  CHECK(a.call("POST", "/admin/workers", R"({"id":"w","capacity":0})", auth).status == 400);
  auto workers = body(a.call("GET", "/workers"));
  REQUIRE(workers["workers"].size() == 2);
  CHECK(workers["workers"][1]["id"] == "worker-2");
  CHECK(workers["workers"][1]["queued"] == 0);

  NullPort port;
  const auto conn = a.gateway.open(port);
  app::OrderCmd o;
  o.id = "q1";
  o.account = "acct";
  o.symbol = "BTCUSDT";
  o.side = core::Side::sell;
  o.has_price = true;
  o.price = core::Decimal{10100, 2};
  o.qty = core::Decimal{2, 5};
  a.gateway.handle(conn, o, {});
  auto open = body(a.call("GET", "/orders/acct"));
  REQUIRE(open["orders"].size() == 1);
  CHECK(open["orders"][0]["state"] == "queued");  // not pumped yet
  while (a.gateway.pump({})) {
  }
  open = body(a.call("GET", "/orders/acct"));
  CHECK(open["orders"][0]["state"] == "resting");
  CHECK(open["orders"][0]["price"] == "101.00");
  CHECK(open["orders"][0]["leaves"] == "0.00002");

  // Removing the worker that holds it moves its book to the other worker: the order lives on.
  const std::string holder = open["orders"][0]["worker"];
  CHECK(a.call("DELETE", "/admin/workers/" + holder, {}, auth).status == 200);
  open = body(a.call("GET", "/orders/acct"));
  REQUIRE(open["orders"].size() == 1);
  CHECK(open["orders"][0]["worker"] != holder);
  CHECK(open["orders"][0]["leaves"] == "0.00002");
  // Removing the last worker: nowhere to go, so the order ends (done worker_removed).
  const std::string last = open["orders"][0]["worker"];
  CHECK(a.call("DELETE", "/admin/workers/" + last, {}, auth).status == 200);
  CHECK(body(a.call("GET", "/orders/acct"))["orders"].empty());
  CHECK(a.call("DELETE", "/admin/workers/nope", {}, auth).status == 404);
  CHECK(a.call("POST", "/admin/balancer", R"({"strategy":"hash"})", auth).status == 200);
  const auto bad = a.call("POST", "/admin/balancer", R"({"strategy":"fastest"})", auth);
  CHECK(bad.status == 400);
  CHECK(body(bad)["message"].get<std::string>().find("least_connections") != std::string::npos);
  CHECK(body(a.call("GET", "/stats"))["balancer"]["strategy"] == "hash");
}

TEST_CASE("HttpApi: tick path routes (partitions, processors, bars, node admin)") {
  Api a;
  NullPort port;
  const auto conn = a.gateway.open(port);
  app::TickCmd t;
  t.symbol = "BTCUSDT";
  t.bid = 1'000'000'000'000;
  t.ask = 1'000'100'000'000;
  t.bid_size = 100'000'000;
  t.ask_size = 100'000'000;
  t.ts_ms = 1'700'000'000'000;
  a.gateway.handle(conn, t, {1'700'000'000'000, 1});
  const auto parts = body(a.call("GET", "/partitions"));
  CHECK(parts["symbols"] == 1);
  CHECK(parts["partitions"].size() == 1);
  const auto procs = body(a.call("GET", "/processors"));
  REQUIRE(procs["nodes"].size() >= 1);
  std::uint64_t processed = 0;
  for (const auto& n : procs["nodes"]) processed += n["ticks_processed"].get<std::uint64_t>();
  CHECK(processed == 1);
  const auto bars = body(a.call("GET", "/bars/BTCUSDT", {}, {}, "interval=1s"));
  CHECK(bars["interval"] == "1s");
  CHECK(a.call("GET", "/bars/BTCUSDT", {}, {}, "interval=7s").status == 400);
  CHECK(a.call("GET", "/bars/NOPE").status == 404);
  const std::string auth = "Bearer test-admin-token-0123456789";
  const auto added = a.call("POST", "/admin/nodes", R"({"id":"node-x"})", auth);
  CHECK(added.status == 200);
  CHECK(body(added)["plan"]["kind"].is_string());
  CHECK(a.call("POST", "/admin/nodes", "[]", auth).status == 400);
  CHECK(a.call("DELETE", "/admin/nodes/nope", {}, auth).status == 404);
  CHECK(body(a.call("GET", "/stats"))["ticks"]["ticks_processed"] == 1);
}

TEST_CASE("HttpApi: ledger routes (replicas, consistency, replica faults)") {
  Api a;
  const std::string auth = "Bearer test-admin-token-0123456789";
  auto replicas = body(a.call("GET", "/replicas"));
  REQUIRE(replicas["replicas"].size() == 3);
  CHECK(replicas["has_quorum"] == true);
  const std::string r1 = replicas["replicas"][0]["node_id"];
  const std::string r2 = replicas["replicas"][1]["node_id"];
  CHECK(a.call("POST", "/admin/replicas/" + r1 + "/fail", {}, auth).status == 200);
  CHECK(a.call("POST", "/admin/replicas/" + r2 + "/pause", {}, auth).status == 200);
  CHECK(body(a.call("GET", "/replicas"))["has_quorum"] == false);
  CHECK(a.call("GET", "/health").status == 503);
  CHECK(a.call("POST", "/admin/replicas/" + r2 + "/resume", {}, auth).status == 200);
  CHECK(body(a.call("GET", "/replicas"))["has_quorum"] == true);
  CHECK(a.call("POST", "/admin/replicas/nope/pause", {}, auth).status == 404);
  const auto c = body(a.call("GET", "/replicas/consistency"));
  CHECK(c["replica_count"] == 3);
  CHECK(body(a.call("GET", "/stats"))["ledger"]["replica_count"] == 3);
}

TEST_CASE("HttpApi: every component's metrics come from the one registry, each name once") {
  Api a;
  const auto names = a.api.metrics().names();
  for (const char* expected : {"tradeshard_connections_open", "tradeshard_http_errors_total",
                               "tradeshard_order_handling_seconds", "tradeshard_trades_total",
                               "tradeshard_worker_load", "tradeshard_ticks_total", "tradeshard_ledger_quorum"}) {
    CHECK(std::count(names.begin(), names.end(), expected) == 1);
  }
  a.stats.count_http_error(431);
  a.stats.count_http_error(401);
  const auto m = a.call("GET", "/metrics").body;
  CHECK(m.find("tradeshard_http_errors_total{reason=\"too_large\"} 1\n") != std::string::npos);
  CHECK(m.find("tradeshard_http_errors_total{reason=\"unauthorized\"} 1\n") != std::string::npos);
  CHECK(m.find("tradeshard_worker_load{worker=\"worker-1\"} 0\n") != std::string::npos);
  CHECK(m.find("# TYPE tradeshard_order_handling_seconds histogram\n") != std::string::npos);
}

TEST_CASE("HttpApi: POST /admin/books/{symbol}/move moves a live book; /workers lists symbols") {
  Api a;
  const std::string auth = "Bearer test-admin-token-0123456789";
  CHECK(a.call("POST", "/admin/workers", R"({"id":"worker-2","capacity":10})", auth).status == 200);
  NullPort port;
  const auto conn = a.gateway.open(port);
  app::OrderCmd o;
  o.id = "m1";
  o.account = "acct";
  o.symbol = "BTCUSDT";
  o.side = core::Side::buy;
  o.has_price = true;
  o.price = core::Decimal{10000, 2};
  o.qty = core::Decimal{1, 5};
  a.gateway.handle(conn, o, {});
  while (a.gateway.pump({})) {
  }
  const std::string from = body(a.call("GET", "/orders/acct"))["orders"][0]["worker"];
  const std::string to = from == "worker-1" ? "worker-2" : "worker-1";
  CHECK(a.call("POST", "/admin/books/BTCUSDT/move", R"({"to":")" + to + "\"}").status == 401);
  const auto moved = a.call("POST", "/admin/books/BTCUSDT/move", R"({"to":")" + to + "\"}", auth);
  REQUIRE(moved.status == 200);
  CHECK(body(moved)["orders"] == 1);
  CHECK(body(a.call("GET", "/orders/acct"))["orders"][0]["worker"] == to);
  const json workers = body(a.call("GET", "/workers"));  // alive through the loop
  for (const auto& w : workers["workers"]) {
    CHECK(w["symbols"] == (w["id"] == to ? json::array({"BTCUSDT"}) : json::array()));
  }
  CHECK(body(a.call("GET", "/stats"))["matching"]["books_moved"] == 1);
  CHECK(a.call("POST", "/admin/books/NOPE/move", R"({"to":"worker-1"})", auth).status == 404);
  CHECK(a.call("POST", "/admin/books/BTCUSDT/move", R"({"to":"worker-7"})", auth).status == 404);
  CHECK(a.call("POST", "/admin/books/BTCUSDT/move", R"({"x":1})", auth).status == 400);
  const auto none = a.call("POST", "/admin/books/ETHUSDT/move", R"({"to":"worker-1"})", auth);
  CHECK(none.status == 404);  // not an instrument of this config
}

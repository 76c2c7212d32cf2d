// The HTTP API's routes without sockets: HttpApi over a Gateway, edge counters and an admin
// token, driven by HttpRequest values (what HttpSession hands it after parsing).
#include <doctest/doctest.h>

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
  REQUIRE(b["workers"].size() == 1);
  CHECK(b["workers"][0]["worker"] == "worker-1");
  CHECK(b["workers"][0]["best_bid"] == "100.00");
  CHECK(b["workers"][0]["bids"][0]["qty"] == "0.00003");
  CHECK(b["workers"][0]["asks"].empty());
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

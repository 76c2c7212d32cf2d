// The balancer keys docs/balancer.md lists are real: the loader accepts them, refuses bad values
// by name, and each has an effect the Gateway shows.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;

namespace {

std::string config_with(const std::string& balancer, const std::string& workers) {
  return R"({
  "instruments": [
    { "symbol": "BTCUSDT", "class": "crypto", "base": "BTC", "quote": "USDT", "tick_size": "0.01", "lot_size": "0.00001" }
  ],
  "workers": )" + workers + R"(,
  "balancer": )" + balancer + R"(,
  "replication": { "replicas": 3, "log_keep": 16 },
  "ledger": { "durable": false, "data_dir": "" }
})";
}

const std::string kTwo = R"([{"id":"w-one","capacity":10},{"id":"w-two","capacity":10}])";
const std::string kOne = R"([{"id":"w-one","capacity":10}])";

// Records, in order, "ack:<id>@worker" and "reject:<id>:<reason>".
struct NullPort final : app::ClientPort {
  std::string last_worker;
  std::vector<std::string> seen;
  void send(const app::Outbound& m) override {
    if (const auto* a = std::get_if<app::AckOut>(&m)) {
      last_worker = std::string(a->worker);
      seen.push_back("ack:" + std::string(a->id));
    } else if (const auto* r = std::get_if<app::RejectOut>(&m)) {
      seen.push_back("reject:" + std::string(r->id) + ":" + std::string(r->reason));
    }
  }
};

app::OrderCmd buy(std::string_view id, std::string_view account, std::int64_t cents,
                  core::Priority priority = core::Priority::normal) {
  app::OrderCmd o;
  o.id = id;
  o.account = account;
  o.symbol = "BTCUSDT";
  o.side = core::Side::buy;
  o.has_price = true;
  o.price = core::Decimal{cents, 2};
  o.qty = core::Decimal{1, 5};
  o.priority = priority;
  return o;
}

void drain(app::Gateway& g) {
  while (g.pump({0, 2'000})) {
  }
}

}  // namespace

TEST_CASE("Config: balancer.points_per_worker and latency_alpha are read, bounded and used") {
  const auto c = protocol::parse_config(
      config_with(R"({"strategy":"lowest_latency","points_per_worker":64,"latency_alpha":1.0})", kTwo));
  CHECK(c.balancer.points_per_worker == 64);
  CHECK(c.balancer.latency_alpha == 1.0);
  app::Gateway g(c);
  const auto& lb = g.orders().balancer();
  CHECK(lb.config().points_per_worker == 64);
  CHECK(lb.config().latency_alpha == 1.0);
  NullPort port;
  const auto conn = g.open(port);
  g.handle(conn, buy("v1", "a", 10000), {0, 1'000});
  // latency_alpha 1.0: the worker's EWMA is exactly the last sample (1,000 ns waited = 1 us).
  drain(g);
  REQUIRE(!port.last_worker.empty());
  CHECK(lb.worker(*lb.find(port.last_worker))->latency_us == doctest::Approx(1.0));

  for (const char* bad : {R"({"points_per_worker":0})", R"({"points_per_worker":5000})", R"({"latency_alpha":0})",
                          R"({"latency_alpha":1.5})", R"({"latency_alpha":"fast"})", R"({"priority_reserve_pct":51})",
                          R"({"rebalance":{"max_over_avg":1.0}})", R"({"rebalance":{"after":5}})"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(protocol::parse_config(config_with(bad, kTwo)), protocol::ConfigError);
  }
}

TEST_CASE("Config: the removed VIP pool keys are refused with what replaced them") {
  for (const char* gone : {R"({"vip_pool":"vip"})", R"({"vip_fallback":true})"}) {
    CAPTURE(gone);
    try {
      (void)protocol::parse_config(config_with(gone, kTwo));
      FAIL("accepted");
    } catch (const protocol::ConfigError& e) {
      CHECK(std::string(e.what()).find("lane") != std::string::npos);
    }
  }
  CHECK_THROWS_AS(protocol::parse_config(config_with("{}", R"([{"id":"w","capacity":10,"pool":"vip"}])")),
                  protocol::ConfigError);
}

// VIP and emergency are lanes of the symbol's one book: same worker, matched first, with a
// reserved share of capacity; claiming them needs the account listed.
TEST_CASE("Priority lanes: reserve, order of matching, and who may claim them") {
  const auto c = protocol::parse_config(config_with(
      R"({"strategy":"least_connections","priority_reserve_pct":20,"vip_accounts":["gold"],"emergency_accounts":["ops"]})",
      kOne));
  CHECK(c.balancer.priority_reserve_pct == 20);
  app::Gateway g(c);
  NullPort port;
  const auto conn = g.open(port);

  // Nobody else may claim a lane.
  g.handle(conn, buy("x1", "plain", 10000, core::Priority::vip), {});
  g.handle(conn, buy("x2", "plain", 10000, core::Priority::emergency), {});
  g.handle(conn, buy("x3", "gold", 10000, core::Priority::emergency), {});
  CHECK(port.seen == std::vector<std::string>{"reject:x1:priority_not_allowed", "reject:x2:priority_not_allowed",
                                              "reject:x3:priority_not_allowed"});
  port.seen.clear();

  // Queued together, matched emergency first, then VIP, then normal (each in arrival order).
  g.handle(conn, buy("n1", "plain", 10000), {});
  g.handle(conn, buy("v1", "gold", 10001, core::Priority::vip), {});
  g.handle(conn, buy("n2", "plain", 10002), {});
  g.handle(conn, buy("v2", "gold", 10003), {});  // a VIP account rides the VIP lane by default
  g.handle(conn, buy("e1", "ops", 10004, core::Priority::emergency), {});
  drain(g);
  CHECK(port.seen == std::vector<std::string>{"ack:e1", "ack:v1", "ack:v2", "ack:n1", "ack:n2"});
  port.seen.clear();

  // Capacity 10, 20 % reserved: normal orders stop at 8 live ones, VIP/emergency may use 10.
  for (int i = 0; i < 3; ++i) g.handle(conn, buy("n" + std::to_string(10 + i), "plain", 9000 + i), {});
  drain(g);
  CHECK(g.orders().live_orders() == 8);
  g.handle(conn, buy("n-over", "plain", 8000), {});
  g.handle(conn, buy("v-in", "gold", 8001), {});
  g.handle(conn, buy("e-in", "ops", 8002, core::Priority::emergency), {});
  g.handle(conn, buy("e-over", "ops", 8003, core::Priority::emergency), {});
  drain(g);
  CHECK(port.seen == std::vector<std::string>{"ack:n10", "ack:n11", "ack:n12", "reject:n-over:no_capacity",
                                              "reject:e-over:no_capacity", "ack:e-in", "ack:v-in"});
  CHECK(g.orders().live_orders() == 10);
  CHECK(g.orders().stats().priority_refused == 3);
}

TEST_CASE("Priority lanes: with auth on, the API key must carry the permission too") {
  auto text = config_with(R"({"vip_accounts":["gold"],"emergency_accounts":["gold"]})", kOne);
  text.insert(text.rfind('}'), R"(, "auth": {"enabled": true, "api_keys": [
      {"account": "gold", "key": "gold-key-without-lanes"},
      {"account": "gold", "key": "gold-key-with-vip-lane", "priorities": ["vip"]}]})");
  const auto c = protocol::parse_config(text);
  app::Gateway g(c);
  NullPort bare, vip;
  const auto a = g.open(bare);
  const auto b = g.open(vip);
  g.handle(a, app::LoginCmd{"gold-key-without-lanes"}, {});
  g.handle(b, app::LoginCmd{"gold-key-with-vip-lane"}, {});
  g.handle(a, buy("a1", "gold", 10000, core::Priority::vip), {});
  g.handle(b, buy("b1", "gold", 10001, core::Priority::vip), {});
  g.handle(b, buy("b2", "gold", 10002, core::Priority::emergency), {});
  drain(g);
  CHECK(bare.seen == std::vector<std::string>{"reject:a1:priority_not_allowed"});
  CHECK(vip.seen == std::vector<std::string>{"reject:b2:priority_not_allowed", "ack:b1"});
  auto bad = config_with("{}", kOne);
  bad.insert(bad.rfind('}'), R"(, "auth": {"enabled": true, "api_keys": [
      {"account": "gold", "key": "gold-key-without-lanes", "priorities": ["admin"]}]})");
  CHECK_THROWS_AS(protocol::parse_config(bad), protocol::ConfigError);
}

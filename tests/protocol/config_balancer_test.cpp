// The balancer keys docs/balancer.md lists are real: the loader accepts them, refuses bad values
// by name, and each has an effect the Gateway shows.
#include <doctest/doctest.h>

#include <string>

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

const std::string kTwo = R"([{"id":"w-general","capacity":10},{"id":"w-gold","capacity":10,"pool":"gold"}])";

struct NullPort final : app::ClientPort {
  std::string last_worker;
  void send(const app::Outbound& m) override {
    if (const auto* a = std::get_if<app::AckOut>(&m)) last_worker = std::string(a->worker);
  }
};

}  // namespace

TEST_CASE("Config: balancer.points_per_worker, vip_pool and latency_alpha are read, bounded and used") {
  const auto c = protocol::parse_config(config_with(
      R"({"strategy":"lowest_latency","points_per_worker":64,"vip_pool":"gold","latency_alpha":1.0,"vip_accounts":["vip-1"]})",
      kTwo));
  CHECK(c.balancer.points_per_worker == 64);
  CHECK(c.balancer.vip_pool == "gold");
  CHECK(c.balancer.latency_alpha == 1.0);
  app::Gateway g(c);
  const auto& lb = g.orders().balancer();
  CHECK(lb.config().points_per_worker == 64);
  CHECK(lb.config().latency_alpha == 1.0);
  // vip_pool: a VIP account's order goes to the worker whose pool is "gold".
  NullPort port;
  const auto conn = g.open(port);
  app::OrderCmd o;
  o.id = "v1";
  o.account = "vip-1";
  o.symbol = "BTCUSDT";
  o.side = core::Side::buy;
  o.has_price = true;
  o.price = core::Decimal{10000, 2};
  o.qty = core::Decimal{1, 5};
  g.handle(conn, o, {0, 1'000});
  // latency_alpha 1.0: the worker's EWMA is exactly the last sample (1,000 ns waited = 1 us).
  while (g.pump({0, 2'000})) {
  }
  CHECK(port.last_worker == "w-gold");
  CHECK(lb.worker(*lb.find("w-gold"))->latency_us == doctest::Approx(1.0));

  for (const char* bad : {R"({"points_per_worker":0})", R"({"points_per_worker":5000})", R"({"vip_pool":""})",
                          R"({"latency_alpha":0})", R"({"latency_alpha":1.5})", R"({"latency_alpha":"fast"})"}) {
    CAPTURE(bad);
    CHECK_THROWS_AS(protocol::parse_config(config_with(bad, kTwo)), protocol::ConfigError);
  }
}

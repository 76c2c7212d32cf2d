// TickFlow through the Gateway, with a fake port: a processing node runs the strategies its
// config lists (before, every node ran both defaults whatever partitioning.nodes[].strategies said).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradeshard/app/gateway.hpp"

using namespace tradeshard;

namespace {

struct SignalPort final : app::ClientPort {
  std::vector<std::string> strategies;  // of the signals received
  void send(const app::Outbound& m) override {
    if (const auto* s = std::get_if<app::SignalOut>(&m)) strategies.emplace_back(s->strategy);
  }
};

app::Config config_with(std::vector<market::StrategyKind> kinds) {
  app::Config c;
  c.partitioning.nodes.push_back({"node-1", std::move(kinds)});
  c.workers.push_back({"worker-1", 1000, "", {}, 50.0, 0});
  return c;
}

// One quote that fires both seed strategies: a 1-step spread on 10,000.00 (< 1 bp) and bid size
// twice the ask size (> 1.5x).
std::vector<std::string> signals_for(const app::Config& config) {
  app::Gateway g(config);
  SignalPort port;
  const auto id = g.open(port);
  const std::vector<std::string_view> channels = {"signals"};
  app::SubscribeCmd sub;
  sub.channels = &channels;
  g.handle(id, sub, {});
  app::TickCmd t;
  t.symbol = "BTCUSDT";
  t.bid = 1'000'000'000'000;  // 10,000.00000000
  t.ask = 1'000'000'000'001;
  t.bid_size = 200'000'000;  // 2
  t.ask_size = 100'000'000;  // 1
  t.ts_ms = 1'700'000'000'000;
  g.handle(id, t, {});
  return port.strategies;
}

}  // namespace

TEST_CASE("TickFlow: a node runs only the strategies its config lists, in that order") {
  using market::StrategyKind;
  CHECK(signals_for(config_with({StrategyKind::spread, StrategyKind::imbalance})) ==
        std::vector<std::string>{"spread", "imbalance"});
  CHECK(signals_for(config_with({StrategyKind::imbalance})) == std::vector<std::string>{"imbalance"});
  CHECK(signals_for(config_with({StrategyKind::spread})) == std::vector<std::string>{"spread"});
  CHECK(signals_for(config_with({StrategyKind::imbalance, StrategyKind::spread})) ==
        std::vector<std::string>{"imbalance", "spread"});
}

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

namespace {
// Node slots hosted elsewhere (cluster mode): records what TickFlow hands over.
struct FakeRemote final : app::RemoteNodeSink {
  std::vector<std::pair<std::uint32_t, market::Quote>> sent;
  bool hosts(std::uint32_t) const override { return true; }
  void send(std::uint32_t node, market::SymbolId, const market::Quote& q, std::int64_t) override {
    sent.emplace_back(node, q);
  }
};

struct ErrorPort final : app::ClientPort {
  std::vector<std::string> errors, strategies;
  void send(const app::Outbound& m) override {
    if (const auto* e = std::get_if<app::ErrorOut>(&m)) errors.emplace_back(std::string(e->error) + ":" + std::string(e->message));
    if (const auto* s = std::get_if<app::SignalOut>(&m)) strategies.emplace_back(s->strategy);
  }
};
}  // namespace

TEST_CASE("TickFlow: ticks of remotely hosted node slots are validated, handed over, and their output published") {
  app::Gateway g(config_with({market::StrategyKind::spread, market::StrategyKind::imbalance}));
  FakeRemote remote;
  g.ticks().set_remote(&remote);
  ErrorPort port;
  const auto id = g.open(port);
  const std::vector<std::string_view> channels = {"signals"};
  app::SubscribeCmd sub;
  sub.channels = &channels;
  g.handle(id, sub, {});
  app::TickCmd t;
  t.symbol = "BTCUSDT";
  t.bid = 1'000'000'000'000;
  t.ask = 1'000'000'000'001;
  t.bid_size = 200'000'000;
  t.ask_size = 100'000'000;
  t.ts_ms = 1'700'000'000'000;
  g.handle(id, t, {});
  REQUIRE(remote.sent.size() == 1);
  CHECK(remote.sent[0].second.bid == t.bid);
  CHECK(port.strategies.empty());  // nothing processed here
  CHECK(g.ticks().nodes()[0].ticks_processed() == 0);
  // A crossed quote is refused here, with the node's reason, and not sent.
  app::TickCmd crossed = t;
  crossed.ask = t.bid - 1;
  g.handle(id, crossed, {});
  CHECK(remote.sent.size() == 1);
  REQUIRE(port.errors.size() == 1);
  CHECK(port.errors[0] == "bad_field:crossed");
  // What the node process made of it is published as local output is.
  market::TickOutput out;
  out.signals.push_back(market::Signal{0, core::Side::buy, t.ask, 100'000'000, "spread", 0, t.ts_ms});
  g.ticks().on_remote_output(out);
  CHECK(port.strategies == std::vector<std::string>{"spread"});
  // Moving partitions between nodes needs their state: refused in cluster mode.
  CHECK(g.ticks().add_node("node-9").error == "not_in_cluster_mode");
}

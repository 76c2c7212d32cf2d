// The gateway's node links against NodeHosts in memory: signals and bars come back as in-process
// nodes make them; batches cap; a dead node's slots move and restart; a stale output is dropped.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "tradeshard/link/node_host.hpp"
#include "tradeshard/link/remote_nodes.hpp"

using namespace tradeshard;
using namespace tradeshard::link;

namespace {

market::NodeSlotConfigs slots(std::size_t n) {
  market::NodeSlotConfigs c;
  for (std::size_t i = 0; i < n; ++i) {
    c.ids.push_back("node-" + std::to_string(i + 1));
    c.slots.emplace_back();
  }
  return c;
}

market::Quote quote(std::int64_t ts, std::int64_t bid_size) {
  return market::Quote{100'000'000'000, 100'001'000'000, bid_size, 100'000'000, ts};
}

struct Nodes {
  explicit Nodes(std::size_t processes, std::size_t node_slots, std::uint32_t max_in_flight = 64)
      : configs(slots(node_slots)),
        gw(RemoteNodesOptions{"gw", 1, node_config_digest(configs), 100, max_in_flight, 4096, default_max_payload}) {
    gw.on_node_output([this](const market::TickOutput& o) {
      got.signals.insert(got.signals.end(), o.signals.begin(), o.signals.end());
      got.bars.insert(got.bars.end(), o.bars.begin(), o.bars.end());
    });
    for (std::size_t i = 0; i < processes; ++i) {
      hosts.push_back(std::make_unique<NodeHost>(configs, NodeHostOptions{"np-" + std::to_string(i + 1)}));
      links.push_back(gw.add_link("np-" + std::to_string(i + 1)));
    }
    for (std::uint32_t s = 0; s < node_slots; ++s) gw.assign(s, links[s % processes]);
    for (std::size_t i = 0; i < processes; ++i) connect(i);
  }
  void connect(std::size_t i, bool reset = false) {
    std::string out;
    REQUIRE(hosts[i]->on_bytes(gw.hello(links[i], reset), out));
    REQUIRE(gw.on_bytes(links[i], out, app::Now{1, 1}));
  }
  void settle() {
    for (std::size_t i = 0; i < hosts.size(); ++i) {
      const auto to_node = gw.take_output(links[i]);
      if (to_node.empty()) continue;
      std::string back;
      REQUIRE(hosts[i]->on_bytes(to_node, back));
      REQUIRE_MESSAGE(gw.on_bytes(links[i], back, app::Now{2, 2}), gw.link(links[i]).error);
    }
  }
  market::NodeSlotConfigs configs;
  RemoteNodes gw;
  std::vector<std::unique_ptr<NodeHost>> hosts;
  std::vector<RemoteNodes::LinkId> links;
  market::TickOutput got;
};

}  // namespace

TEST_CASE("Remote nodes: signals and bars come back as in-process nodes make them") {
  Nodes n(2, 4);
  std::vector<market::ProcessorNode> ref;
  for (std::uint32_t s = 0; s < 4; ++s) ref.emplace_back(s, n.configs.ids[s], n.configs.slots[s]);
  market::TickOutput want;
  for (int i = 0; i < 200; ++i) {
    const auto slot = static_cast<std::uint32_t>(i % 4);
    const auto sym = static_cast<std::uint32_t>(i % 7);
    const auto q = quote(1'000 + 37 * i, i % 5 == 0 ? 900'000'000 : 60'000'000);
    REQUIRE(n.gw.hosts(slot));
    n.gw.send(slot, sym, q, 0);
    REQUIRE(ref[slot].process(sym, q, 0, want) == market::QuoteError::ok);
    if (i % 16 == 15) n.settle();
  }
  n.settle();
  REQUIRE(n.got.signals.size() == want.signals.size());
  CHECK_FALSE(want.signals.empty());
  // Per slot, in order (slots on different processes interleave differently).
  for (std::uint32_t s = 0; s < 4; ++s) {
    std::vector<market::Signal> a, b;
    for (const auto& x : n.got.signals) if (x.node == s) a.push_back(x);
    for (const auto& x : want.signals) if (x.node == s) b.push_back(x);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CHECK(a[i].symbol == b[i].symbol);
      CHECK(a[i].side == b[i].side);
      CHECK(a[i].strategy == b[i].strategy);
      CHECK(a[i].price == b[i].price);
      CHECK(a[i].ts_ms == b[i].ts_ms);
    }
  }
  CHECK(n.got.bars.size() == want.bars.size());
  CHECK(n.gw.link(n.links[0]).counters.ticks == 100);
  CHECK(n.gw.link(n.links[0]).outstanding == 0);
}

TEST_CASE("Remote nodes: past max_batches_in_flight ticks are dropped and counted") {
  Nodes n(1, 1, 2);
  for (int b = 0; b < 4; ++b) {
    n.gw.send(0, 0, quote(1'000 + b, 50'000'000), 0);
    std::string out = n.gw.take_output(n.links[0]);  // sent, never answered
    if (b < 2) CHECK_FALSE(out.empty());
  }
  CHECK(n.gw.link(n.links[0]).outstanding == 2);
  CHECK(n.gw.link(n.links[0]).counters.dropped == 2);
}

TEST_CASE("Remote nodes: a dead node process's slots move and restart; what it says later is dropped") {
  Nodes n(2, 2);
  n.gw.send(0, 0, quote(1'000, 900'000'000), 0);
  const std::string lost = n.gw.take_output(n.links[0]);  // in flight when it dies
  n.gw.on_link_down(n.links[0]);
  n.gw.rehome(n.links[0], n.links[1]);
  CHECK(n.gw.link(n.links[0]).needs_reset);
  CHECK(n.gw.link(n.links[0]).counters.lost == 1);
  CHECK(n.gw.link(n.links[1]).slots == std::vector<std::uint32_t>{0, 1});
  n.gw.send(0, 0, quote(2'000, 900'000'000), 0);
  n.settle();
  REQUIRE_FALSE(n.got.signals.empty());  // the strategy starts afresh on the new home
  CHECK(n.got.signals.front().node == 0);
  CHECK(n.gw.link(n.links[0]).slots.empty());
}

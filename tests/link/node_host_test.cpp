// A node process's end of the link, driven with frames as a gateway sends them (no sockets): the
// HELLO rules, one NODE_OUTPUT per TICKS batch with the same signals and bars an in-process
// ProcessorNode gives, per-slot strategies, and state dropped on reset or a newer epoch.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradeshard/link/node_host.hpp"

using namespace tradeshard;
using namespace tradeshard::link;

namespace {

std::vector<std::pair<std::uint64_t, Message>> frames_of(const std::string& bytes) {
  std::vector<std::pair<std::uint64_t, Message>> out;
  FrameReader r;
  r.feed(bytes);
  while (auto f = r.next()) {
    std::string error;
    auto m = decode(*f, error);
    REQUIRE_MESSAGE(m.has_value(), error);
    out.emplace_back(f->seq, std::move(*m));
  }
  REQUIRE(r.error().empty());
  return out;
}

NodeSlotConfigs two_slots() {
  NodeSlotConfigs c;
  c.ids = {"node-1", "node-2"};
  c.slots = {market::NodeConfig{}, market::NodeConfig{}};
  c.slots[1].strategies.resize(1);  // node-2: the spread strategy only
  c.fallback = market::NodeConfig{};
  return c;
}

std::string hello(std::uint64_t epoch, std::uint64_t digest, bool reset = false) {
  std::string b;
  append(b, 0, Hello{epoch, digest, 100, reset, 0, "gw"});
  return b;
}

// Quotes that make both strategies fire: a tight spread, a heavy bid.
market::Quote quote(std::int64_t ts, std::int64_t bid_size = 900'000'000) {
  return market::Quote{100'000'000'000, 100'001'000'000, bid_size, 100'000'000, ts};
}

}  // namespace

TEST_CASE("Node host: HELLO first, the same node config, no older epoch") {
  NodeHost host(two_slots(), {});
  std::string out;
  std::string ticks;
  append(ticks, 1, TickBatch{{TickItem{0, 0, quote(1000), 1000}}});
  CHECK_FALSE(host.on_bytes(ticks, out));
  CHECK(host.error().find("expected HELLO") != std::string::npos);
  host.on_link_closed();
  out.clear();
  CHECK_FALSE(host.on_bytes(hello(5, host.digest() + 1), out));
  CHECK(std::get<Refuse>(frames_of(out).at(0).second).code == RefuseCode::config_mismatch);
  host.on_link_closed();
  out.clear();
  REQUIRE(host.on_bytes(hello(5, host.digest()), out));
  CHECK(std::get<Welcome>(frames_of(out).at(0).second).epoch == 5);
  host.on_link_closed();
  out.clear();
  CHECK_FALSE(host.on_bytes(hello(4, host.digest()), out));
  CHECK(std::get<Refuse>(frames_of(out).at(0).second).code == RefuseCode::stale_epoch);
  // Another strategy list is another digest.
  auto other = two_slots();
  other.slots[1].strategies[0].max_spread_bps = 7;
  CHECK(node_config_digest(other) != host.digest());
}

TEST_CASE("Node host: each TICKS batch gets one NODE_OUTPUT with what an in-process node emits") {
  const auto configs = two_slots();
  NodeHost host(configs, {});
  std::string out;
  REQUIRE(host.on_bytes(hello(1, host.digest()), out));
  // The same ticks through local nodes: the reference.
  market::ProcessorNode ref0(0, "node-1", configs.slots[0]), ref1(1, "node-2", configs.slots[1]);
  market::TickOutput want;
  TickBatch batch;
  for (int i = 0; i < 6; ++i) {
    const std::uint32_t slot = static_cast<std::uint32_t>(i % 2);
    const auto q = quote(1000 + 700 * i, i % 3 == 0 ? 900'000'000 : 50'000'000);
    batch.ticks.push_back(TickItem{slot, static_cast<std::uint32_t>(i % 3), q, 5000});
    REQUIRE((slot == 0 ? ref0 : ref1).process(static_cast<market::SymbolId>(i % 3), q, 5000, want) == market::QuoteError::ok);
  }
  std::string b;
  append(b, 7, batch);
  out.clear();
  REQUIRE(host.on_bytes(b, out));
  const auto got = frames_of(out);
  REQUIRE(got.size() == 1);
  CHECK(got[0].first == 7);
  const auto& o = std::get<NodeOutput>(got[0].second);
  REQUIRE(o.signals.size() == want.signals.size());
  CHECK_FALSE(o.signals.empty());
  for (std::size_t i = 0; i < o.signals.size(); ++i) {
    CHECK(o.signals[i].node == want.signals[i].node);
    CHECK(o.signals[i].symbol == want.signals[i].symbol);
    CHECK(o.signals[i].side == want.signals[i].side);
    CHECK(market::to_string(o.signals[i].strategy) == want.signals[i].strategy);
    CHECK(o.signals[i].price == want.signals[i].price);
    CHECK(o.signals[i].ts_ms == want.signals[i].ts_ms);
  }
  REQUIRE(o.bars.size() == want.bars.size());
  for (std::size_t i = 0; i < o.bars.size(); ++i) CHECK(o.bars[i].bar == want.bars[i].bar);
  // node-2 runs the spread strategy only.
  for (const auto& s : o.signals) {
    if (s.node == 1) CHECK(s.strategy == market::StrategyKind::spread);
  }
  CHECK(host.stats().ticks == 6);
  CHECK(host.node(1)->ticks_processed() == 3);
  // An empty batch is answered too (the gateway counts batches in flight).
  out.clear();
  std::string empty;
  append(empty, 8, TickBatch{});
  REQUIRE(host.on_bytes(empty, out));
  CHECK(frames_of(out).at(0).first == 8);
}

TEST_CASE("Node host: a reset or a newer epoch drops the state; the same epoch keeps it") {
  NodeHost host(two_slots(), {});
  std::string out, b;
  REQUIRE(host.on_bytes(hello(3, host.digest()), out));
  append(b, 1, TickBatch{{TickItem{0, 0, quote(1000), 1000}}});
  REQUIRE(host.on_bytes(b, out));
  REQUIRE(host.node(0) != nullptr);
  host.on_link_closed();
  REQUIRE(host.on_bytes(hello(3, host.digest()), out));  // same gateway back: state kept
  CHECK(host.node(0) != nullptr);
  host.on_link_closed();
  REQUIRE(host.on_bytes(hello(4, host.digest()), out));  // a new leader
  CHECK(host.node(0) == nullptr);
  REQUIRE(host.on_bytes(b, out));
  host.on_link_closed();
  REQUIRE(host.on_bytes(hello(4, host.digest(), true), out));  // reset: its slots moved away
  CHECK(host.node(0) == nullptr);
  CHECK(host.stats().resets == 2);
  // Frames a node is never sent are refused.
  std::string order;
  append(order, 1, OrderCommand{});
  CHECK_FALSE(host.on_bytes(order, out));
  CHECK(host.error().find("not sent to a node") != std::string::npos);
}

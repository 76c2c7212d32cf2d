// A port that closes its own connection from inside send() (what the network sessions did on the
// slow-consumer path before issue 14's fix): the Gateway must not mutate a subscriber list while a
// publish iterates it, nor free the connection a command is being handled for. Before the fix
// this test read freed memory (ASan: heap-use-after-free in Gateway::publish).
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradeshard/app/gateway.hpp"

using namespace tradeshard;

namespace {

struct Port final : app::ClientPort {
  app::Gateway* gateway = nullptr;
  std::uint64_t id = 0;
  bool close_on_send = false;
  std::vector<std::size_t> received;  // Outbound variant indexes

  void send(const app::Outbound& m) override {
    received.push_back(m.index());
    if (close_on_send) {
      close_on_send = false;
      gateway->close(id, {});
    }
  }
};

void subscribe(app::Gateway& g, Port& p, const std::vector<std::string_view>& channels) {
  app::SubscribeCmd cmd;
  cmd.channels = &channels;
  g.handle(p.id, cmd, {});
}

app::Config small_config() {
  app::Config c;
  c.partitioning.nodes.push_back({"node-1", {market::StrategyKind::spread}});
  c.workers.push_back({"worker-1", 1000, "", {}, 50.0, 0});
  return c;
}

}  // namespace

TEST_CASE("Gateway: a port closing itself during a publish leaves the subscriber walk intact") {
  const app::Config config = small_config();
  app::Gateway g(config);
  std::vector<Port> ports(3);
  const std::vector<std::string_view> chans = {"signals"};
  for (auto& p : ports) {
    p.gateway = &g;
    p.id = g.open(p);
    subscribe(g, p, chans);
  }
  REQUIRE(g.connection_count() == 3);
  // Every subscriber but the last closes itself on the message: the only subscriber list entry
  // left after the walk is the last one, and each was called exactly once.
  ports[0].close_on_send = true;
  ports[1].close_on_send = true;
  for (auto& p : ports) p.received.clear();
  g.publish("signals", app::PongOut{});
  CHECK(ports[0].received.size() == 1);
  CHECK(ports[1].received.size() == 1);
  CHECK(ports[2].received.size() == 1);
  CHECK(g.connection_count() == 1);
  const auto* subs = g.channels().subscribers("signals");
  REQUIRE(subs != nullptr);
  CHECK(*subs == std::vector<std::uint64_t>{ports[2].id});
  // Closed connections get nothing more.
  g.publish("signals", app::PongOut{});
  CHECK(ports[0].received.size() == 1);
  CHECK(ports[2].received.size() == 2);
}

TEST_CASE("Gateway: the only subscriber closing itself during a publish") {
  const app::Config config = small_config();
  app::Gateway g(config);
  Port p;
  p.gateway = &g;
  p.id = g.open(p);
  const std::vector<std::string_view> chans = {"quotes:BTCUSDT"};
  subscribe(g, p, chans);
  p.close_on_send = true;
  g.publish("quotes:BTCUSDT", app::PongOut{});  // the channel's vector would be erased mid-walk
  CHECK(g.connection_count() == 0);
  CHECK(g.channels().subscribers("quotes:BTCUSDT") == nullptr);
  CHECK_FALSE(g.has_subscribers("quotes:BTCUSDT"));
}

TEST_CASE("Gateway: a port closing itself while its own command is handled") {
  const app::Config config = small_config();
  app::Gateway g(config);
  Port p;
  p.gateway = &g;
  p.id = g.open(p);
  p.close_on_send = true;
  g.handle(p.id, app::PingCmd{}, {});  // the pong's send closes: the Conn& in handle() stays valid
  CHECK(p.received.size() == 1);
  CHECK(g.connection_count() == 0);
  g.handle(p.id, app::PingCmd{}, {});  // a command for a closed connection is ignored
  CHECK(p.received.size() == 1);
}

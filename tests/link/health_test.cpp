// Peer states and failover decisions from what the links show (pure, driven with explicit times).
#include <doctest/doctest.h>

#include "tradeshard/link/health.hpp"

using namespace tradeshard::link;

namespace {
ClusterHealth three_up(std::int64_t at = 0) {
  ClusterHealth h;
  for (const char* id : {"worker-1", "worker-2", "worker-3"}) {
    const auto p = h.add_peer(id);
    CHECK(h.on_connected(p, at).admitted == std::vector<std::size_t>{p});
  }
  return h;
}
void heard_all(ClusterHealth& h, std::int64_t now, std::size_t except = 99) {
  for (std::size_t i = 0; i < h.size(); ++i) {
    if (i != except) h.on_heartbeat(i, now);
  }
}
}  // namespace

TEST_CASE("Health: a closed link is dead at once; its slots fail over") {
  auto h = three_up();
  const auto d = h.on_closed(1, 5, "connection reset by peer");
  CHECK(d.failed == std::vector<std::size_t>{1});
  CHECK(h.peer(1).state == PeerState::dead);
  CHECK(h.peer(1).reason == "connection reset by peer");
  CHECK(h.on_closed(1, 6, "again").failed.empty());  // once
}

TEST_CASE("Health: silence makes a peer suspect after 3 heartbeats, dead at peer_timeout") {
  auto h = three_up();
  for (std::int64_t t = 100; t <= 250; t += 50) {
    heard_all(h, t, 2);
    CHECK(h.tick(t).failed.empty());
  }
  CHECK(h.peer(2).state == PeerState::up);  // 250 ms of silence: under 3 heartbeats
  heard_all(h, 400, 2);
  CHECK(h.tick(400).failed.empty());
  CHECK(h.peer(2).state == PeerState::suspect);
  CHECK(h.peer(2).reason.find("missed heartbeats") != std::string::npos);
  heard_all(h, 999, 2);
  CHECK(h.tick(999).failed.empty());
  heard_all(h, 1000, 2);
  const auto d = h.tick(1000);
  CHECK(d.failed == std::vector<std::size_t>{2});
  CHECK_FALSE(d.degraded);
  CHECK(h.peer(2).state == PeerState::dead);
  // A late frame from the dead peer does not revive it.
  h.on_heard(2, 1001);
  CHECK(h.peer(2).state == PeerState::dead);
}

TEST_CASE("Health: a suspect peer heard again is up; no failover for a short pause") {
  auto h = three_up();
  heard_all(h, 350, 0);
  h.tick(350);
  CHECK(h.peer(0).state == PeerState::suspect);
  h.on_heard(0, 400);
  CHECK(h.peer(0).state == PeerState::up);
}

TEST_CASE("Health: most peers silent at once means the gateway is degraded, nobody fails over") {
  auto h = three_up();
  heard_all(h, 500, 99);
  h.on_heartbeat(0, 1200);  // only worker-1 still heard
  const auto d = h.tick(1600);
  CHECK(d.degraded);
  CHECK(d.failed.empty());
  CHECK(h.degraded());
  CHECK(h.peer(1).state == PeerState::suspect);
  CHECK(h.peer(1).reason.find("likely culprit") != std::string::npos);
  // Heard again: no longer degraded.
  heard_all(h, 1700, 99);
  CHECK_FALSE(h.tick(1700).degraded);
  CHECK_FALSE(h.degraded());
  CHECK(h.peer(1).state == PeerState::up);
}

TEST_CASE("Health: a returning peer is admitted after 3 good heartbeats in a row") {
  auto h = three_up();
  h.on_closed(0, 10, "eof");
  CHECK(h.on_connected(0, 20).admitted.empty());
  CHECK(h.peer(0).state == PeerState::joining);
  CHECK(h.on_heartbeat(0, 120).admitted.empty());
  CHECK(h.on_heartbeat(0, 220).admitted.empty());
  // A gap breaks the run.
  heard_all(h, 600, 0);
  h.tick(600);
  CHECK(h.peer(0).good_heartbeats == 0);
  CHECK(h.on_heartbeat(0, 700).admitted.empty());
  CHECK(h.on_heartbeat(0, 800).admitted.empty());
  CHECK(h.on_heartbeat(0, 900).admitted == std::vector<std::size_t>{0});
  CHECK(h.peer(0).state == PeerState::up);
}

TEST_CASE("Health: a flapping peer backs off before it may reconnect") {
  auto h = three_up();
  CHECK(h.may_connect(0, 0));
  h.on_closed(0, 1000, "eof");
  CHECK(h.may_connect(0, 1000));  // the first death costs nothing
  h.on_connected(0, 1100);
  h.on_closed(0, 2000, "eof");
  CHECK_FALSE(h.may_connect(0, 2400));
  CHECK(h.may_connect(0, 2500));  // 500 ms
  h.on_connected(0, 2600);
  h.on_closed(0, 3000, "eof");
  CHECK_FALSE(h.may_connect(0, 3999));
  CHECK(h.may_connect(0, 4000));  // 1 s
  // Outside the window the history is forgotten.
  h.on_connected(0, 5000);
  h.on_closed(0, 100'000, "eof");
  CHECK(h.may_connect(0, 100'000));
  CHECK(h.peer(0).deaths == 4);
}

TEST_CASE("Health: a peer that never connects within peer_timeout fails over once; connecting later it serves") {
  ClusterHealth h;
  const auto a = h.add_peer("worker-1");
  const auto b = h.add_peer("worker-2");  // registered in etcd, dead before the gateway reached it
  CHECK(h.on_connected(a, 0).admitted == std::vector<std::size_t>{a});
  CHECK(h.tick(0).failed.empty());
  for (std::int64_t t = 100; t < 1000; t += 100) {
    h.on_heartbeat(a, t);
    CHECK(h.tick(t).failed.empty());
  }
  h.on_heartbeat(a, 1000);
  CHECK(h.tick(1000).failed == std::vector<std::size_t>{b});
  CHECK(h.peer(b).reason == "never connected within 1000 ms");
  CHECK(h.peer(b).state == PeerState::dead);
  h.on_heartbeat(a, 1100);
  CHECK(h.tick(1100).failed.empty());  // once
  CHECK(h.on_connected(b, 1200).admitted == std::vector<std::size_t>{b});  // a first connection serves
  CHECK(h.peer(b).state == PeerState::up);
}

TEST_CASE("Health: a peer refused before it ever served fails over at once, once") {
  ClusterHealth h;
  const auto a = h.add_peer("worker-1");
  const auto b = h.add_peer("worker-2");
  CHECK(h.on_connected(a, 0).admitted == std::vector<std::size_t>{a});
  CHECK(h.on_closed(b, 5, "connect: Connection refused").failed == std::vector<std::size_t>{b});
  CHECK(h.on_closed(b, 60, "connect: Connection refused").failed.empty());
  h.on_heartbeat(a, 1500);
  CHECK(h.tick(1500).failed.empty());  // not again at peer_timeout
}

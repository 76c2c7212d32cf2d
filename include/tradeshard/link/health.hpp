#pragma once
// Which worker processes the gateway may trust (cluster mode, docs/cluster.md "Failure
// detection"): the states of each peer from what its link shows, and when to fail over. Pure:
// the edge reports connections, frames and closes with the loop's monotonic time, and calls
// tick(); the decisions come back as values. Standard library only.
//
//  - dead:    the link closed or a connection was refused (kill -9 shows as a reset at once), or
//             nothing was heard for peer_timeout_ms. A dead peer's slots fail over.
//  - suspect: heartbeats missed (nothing heard for 3 heartbeat intervals), not yet timed out.
//  - joining: connected again after being dead; admitted (up) after `admit_after` good
//             heartbeats in a row. A peer that died often recently (flapping) waits longer
//             before it may even reconnect (backoff doubling per recent death, capped).
//  - up:      serving.
// When more than half of the peers that were up time out in the same tick, the likely culprit
// is the gateway itself (its network, a pause): it reports `degraded` and fails nobody over.
#include <cstdint>
#include <string>
#include <vector>

namespace tradeshard::link {

enum class PeerState : std::uint8_t { up, suspect, joining, dead };
[[nodiscard]] const char* to_string(PeerState s) noexcept;

struct HealthOptions {
  std::int64_t heartbeat_ms = 100;
  std::int64_t peer_timeout_ms = 1000;
  std::uint32_t admit_after = 3;            // good heartbeats before a returning peer serves
  std::int64_t flap_window_ms = 60'000;     // deaths within this window count as flapping
  std::int64_t backoff_base_ms = 500;       // reconnect delay after the 2nd recent death...
  std::int64_t backoff_max_ms = 30'000;     // ...doubling up to this
};

struct PeerHealth {
  std::string id;
  PeerState state = PeerState::dead;  // until its first connection is admitted
  std::int64_t last_heard_ms = 0;     // any frame
  std::int64_t since_ms = 0;          // in this state since
  std::uint32_t good_heartbeats = 0;  // in a row, while joining
  std::uint64_t deaths = 0;
  std::vector<std::int64_t> recent_deaths;  // within flap_window_ms
  std::int64_t reconnect_after_ms = 0;      // flapping backoff: no connection before this
  std::string reason;                       // why it is not up
  bool ever_up = false;
  std::int64_t watched_since_ms = -1;  // the first tick() that saw it
  bool given_up = false;               // never connected within peer_timeout_ms: its slots moved
};

struct HealthDecision {
  std::vector<std::size_t> failed;    // peers that became dead now: fail their slots over
  std::vector<std::size_t> admitted;  // peers that became up now
  bool degraded = false;              // the gateway is the likely culprit: nobody failed over
};

class ClusterHealth {
 public:
  explicit ClusterHealth(HealthOptions options = {}) : options_(options) {}

  std::size_t add_peer(std::string id);
  // The link is open (a WELCOME came back): the first admission is immediate; a peer that was
  // dead joins and must show admit_after good heartbeats.
  HealthDecision on_connected(std::size_t peer, std::int64_t now_ms);
  // Any frame from the peer (results, pongs): it is alive.
  void on_heard(std::size_t peer, std::int64_t now_ms);
  // A PONG: a good heartbeat (admits a joining peer after enough of them).
  HealthDecision on_heartbeat(std::size_t peer, std::int64_t now_ms);
  // The link closed, reset or refused: dead now (its slots fail over), also when it never served
  // (a process registered in etcd that died before this gateway reached it: refused).
  HealthDecision on_closed(std::size_t peer, std::int64_t now_ms, std::string reason);
  // Timeouts: suspect after 3 missed heartbeats, dead after peer_timeout_ms of silence; a peer
  // that never connected within peer_timeout_ms of the first tick that saw it is failed too (its
  // slots move: a process registered in etcd that died before this gateway reached it).
  HealthDecision tick(std::int64_t now_ms);

  // Whether the edge may dial the peer now (flapping backoff).
  [[nodiscard]] bool may_connect(std::size_t peer, std::int64_t now_ms) const;
  [[nodiscard]] const PeerHealth& peer(std::size_t i) const { return peers_.at(i); }
  [[nodiscard]] std::size_t size() const noexcept { return peers_.size(); }
  [[nodiscard]] bool degraded() const noexcept { return degraded_; }
  [[nodiscard]] const HealthOptions& options() const noexcept { return options_; }

 private:
  void enter(PeerHealth& p, PeerState s, std::int64_t now_ms);
  void die(std::size_t i, std::int64_t now_ms, std::string reason, HealthDecision& d);

  HealthOptions options_;
  std::vector<PeerHealth> peers_;
  bool degraded_ = false;
};

}  // namespace tradeshard::link

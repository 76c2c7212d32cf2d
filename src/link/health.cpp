// Peer states and failover decisions (include/tradeshard/link/health.hpp).
#include "tradeshard/link/health.hpp"

#include <algorithm>

namespace tradeshard::link {

const char* to_string(PeerState s) noexcept {
  switch (s) {
    case PeerState::up: return "up";
    case PeerState::suspect: return "suspect";
    case PeerState::joining: return "joining";
    case PeerState::dead: return "dead";
  }
  return "?";
}

std::size_t ClusterHealth::add_peer(std::string id) {
  PeerHealth p;
  p.id = std::move(id);
  p.reason = "not connected yet";
  peers_.push_back(std::move(p));
  return peers_.size() - 1;
}

void ClusterHealth::enter(PeerHealth& p, PeerState s, std::int64_t now_ms) {
  if (p.state != s) p.since_ms = now_ms;
  p.state = s;
}

void ClusterHealth::die(std::size_t i, std::int64_t now_ms, std::string reason, HealthDecision& d) {
  PeerHealth& p = peers_[i];
  const bool was_serving = p.state == PeerState::up || p.state == PeerState::suspect;
  if (p.state == PeerState::dead) return;
  enter(p, PeerState::dead, now_ms);
  p.reason = std::move(reason);
  p.good_heartbeats = 0;
  ++p.deaths;
  std::erase_if(p.recent_deaths, [&](std::int64_t t) { return now_ms - t > options_.flap_window_ms; });
  p.recent_deaths.push_back(now_ms);
  // The first death in the window costs nothing; each further one doubles the wait.
  if (p.recent_deaths.size() >= 2) {
    std::int64_t wait = options_.backoff_base_ms;
    for (std::size_t k = 2; k < p.recent_deaths.size() && wait < options_.backoff_max_ms; ++k) wait *= 2;
    p.reconnect_after_ms = now_ms + std::min(wait, options_.backoff_max_ms);
  }
  if (was_serving) d.failed.push_back(i);
}

HealthDecision ClusterHealth::on_connected(std::size_t i, std::int64_t now_ms) {
  HealthDecision d;
  PeerHealth& p = peers_.at(i);
  p.last_heard_ms = now_ms;
  p.good_heartbeats = 0;
  if (!p.ever_up) {  // a first connection serves at once (nothing to distrust yet)
    p.ever_up = true;
    enter(p, PeerState::up, now_ms);
    p.reason.clear();
    d.admitted.push_back(i);
  } else if (p.state == PeerState::dead) {
    enter(p, PeerState::joining, now_ms);
    p.reason = "joining: waiting for " + std::to_string(options_.admit_after) + " good heartbeats";
  }
  return d;
}

void ClusterHealth::on_heard(std::size_t i, std::int64_t now_ms) {
  PeerHealth& p = peers_.at(i);
  if (p.state == PeerState::dead) return;  // a dead peer's late frames do not revive it
  p.last_heard_ms = std::max(p.last_heard_ms, now_ms);
  if (p.state == PeerState::suspect) {
    enter(p, PeerState::up, now_ms);
    p.reason.clear();
  }
}

HealthDecision ClusterHealth::on_heartbeat(std::size_t i, std::int64_t now_ms) {
  HealthDecision d;
  PeerHealth& p = peers_.at(i);
  if (p.state == PeerState::dead) return d;
  on_heard(i, now_ms);
  if (p.state == PeerState::joining && ++p.good_heartbeats >= options_.admit_after) {
    enter(p, PeerState::up, now_ms);
    p.reason.clear();
    d.admitted.push_back(i);
  }
  return d;
}

HealthDecision ClusterHealth::on_closed(std::size_t i, std::int64_t now_ms, std::string reason) {
  HealthDecision d;
  PeerHealth& p = peers_.at(i);
  if (!p.ever_up && !p.given_up) {  // refused before it ever served: not listening, so dead
    p.given_up = true;
    ++p.deaths;
    p.reason = std::move(reason);
    d.failed.push_back(i);
    return d;
  }
  die(i, now_ms, std::move(reason), d);
  return d;
}

HealthDecision ClusterHealth::tick(std::int64_t now_ms) {
  HealthDecision d;
  std::vector<std::size_t> timed_out;
  std::size_t serving = 0;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    PeerHealth& p = peers_[i];
    if (p.watched_since_ms < 0) p.watched_since_ms = now_ms;
    if (!p.ever_up && !p.given_up && now_ms - p.watched_since_ms >= options_.peer_timeout_ms) {
      p.given_up = true;
      ++p.deaths;
      p.reason = "never connected within " + std::to_string(options_.peer_timeout_ms) + " ms";
      d.failed.push_back(i);
    }
    if (p.state == PeerState::dead) continue;
    if (p.state == PeerState::up || p.state == PeerState::suspect) ++serving;
    const std::int64_t silent = now_ms - p.last_heard_ms;
    if (silent >= options_.peer_timeout_ms) {
      timed_out.push_back(i);
    } else if (silent >= 3 * options_.heartbeat_ms && p.state == PeerState::up) {
      enter(p, PeerState::suspect, now_ms);
      p.reason = "missed heartbeats: nothing heard for " + std::to_string(silent) + " ms";
    } else if (p.state == PeerState::joining && silent >= 3 * options_.heartbeat_ms) {
      p.good_heartbeats = 0;  // admission needs heartbeats in a row
    }
  }
  // More than half of the serving peers silent at once: suspect ourselves, not them.
  std::size_t serving_timed_out = 0;
  for (const auto i : timed_out) {
    if (peers_[i].state == PeerState::up || peers_[i].state == PeerState::suspect) ++serving_timed_out;
  }
  degraded_ = serving >= 2 && serving_timed_out * 2 > serving;
  if (degraded_) {
    d.degraded = true;
    for (const auto i : timed_out) {
      PeerHealth& p = peers_[i];
      enter(p, PeerState::suspect, now_ms);
      p.reason = "silent, but so are most peers: the gateway is the likely culprit (degraded)";
    }
    return d;
  }
  for (const auto i : timed_out) {
    die(i, now_ms, "no heartbeat for " + std::to_string(now_ms - peers_[i].last_heard_ms) + " ms", d);
  }
  return d;
}

bool ClusterHealth::may_connect(std::size_t i, std::int64_t now_ms) const {
  return now_ms >= peers_.at(i).reconnect_after_ms;
}

}  // namespace tradeshard::link

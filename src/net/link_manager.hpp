#pragma once
// The gateway's links to its worker processes (cluster mode, docs/cluster.md): one TCP
// connection per worker, dialed and redialed here; the bytes go to link::RemoteVenue, the peer
// states to link::ClusterHealth, and a dead worker's slots are rehomed on the live worker with
// the fewest. Heartbeats every cluster.heartbeat_ms. Everything runs on the loop thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tradeshard/app/config.hpp"
#include "tradeshard/app/metrics.hpp"
#include "tradeshard/cluster/membership.hpp"
#include "tradeshard/link/health.hpp"
#include "tradeshard/link/link_end.hpp"

namespace tradeshard::net {

class ClusterCoordinator;

class LinkManager {
 public:
  // after_results runs after results reached the Gateway (the daemon releases replies there).
  // role: "worker" (venue: the RemoteVenue) or "node" (the RemoteNodes); peers: the processes.
  LinkManager(boost::asio::io_context& io, const app::ClusterConfig& config, std::string role,
              std::vector<app::ClusterPeer> peers, link::LinkEnd& venue, std::function<void()> after_results);
  ~LinkManager();
  LinkManager(const LinkManager&) = delete;
  LinkManager& operator=(const LinkManager&) = delete;

  // With cluster.etcd (before start): every failover's placement is written to etcd, and
  // /cluster says whether each member's key is there.
  void attach(ClusterCoordinator& coordinator);
  // The registered processes of this role changed (etcd): one that registers later joins as a
  // spare (it takes slots at the next failover), a changed address is dialed next, and one whose
  // key vanished is only marked (its link, not etcd, says whether it is alive).
  void on_members(const std::vector<app::ClusterPeer>& members);
  void start();
  void stop();
  // GET /cluster and /stats "cluster".
  [[nodiscard]] nlohmann::json cluster_json() const;
  // "" when healthy, else why /health is degraded.
  [[nodiscard]] std::string health_problem() const;
  [[nodiscard]] std::uint64_t failovers() const noexcept { return failovers_; }
  // Link up, link RTT, failovers, re-sent commands on /metrics.
  void register_metrics(app::MetricsRegistry& m) const;

  struct Conn;
  struct Peer;

 private:
  void connect(std::size_t p);
  void reconnect_later(std::size_t p);
  void read(std::size_t p, const std::shared_ptr<Conn>& c);
  void read_fenced(std::size_t p, const std::shared_ptr<Conn>& c, const boost::system::error_code& e, std::size_t n);
  void flush(std::size_t p);
  void closed(std::size_t p, const std::shared_ptr<Conn>& c, const std::string& why);
  void heartbeat();
  void apply(const link::HealthDecision& d);
  void fail_over(std::size_t dead);
  std::int64_t now_ms() const;
  std::size_t add_peer(const app::ClusterPeer& w);
  [[nodiscard]] std::vector<std::string> placement() const;  // hosts[slot] = process id

  boost::asio::io_context& io_;
  const app::ClusterConfig& config_;
  std::string role_;
  link::LinkEnd& venue_;
  std::function<void()> after_results_;
  link::ClusterHealth health_;
  ClusterCoordinator* coordinator_ = nullptr;
  std::vector<std::unique_ptr<Peer>> peers_;
  boost::asio::steady_timer heartbeat_;
  bool stopped_ = false;
  bool was_degraded_ = false;
  std::uint64_t failovers_ = 0;
  std::uint64_t stale_frames_ = 0;  // dropped from fenced links
  std::int64_t last_detect_ms_ = -1;  // detection -> rehome of the last failover
  std::string last_failover_;
};

}  // namespace tradeshard::net

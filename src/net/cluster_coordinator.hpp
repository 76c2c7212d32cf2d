#pragma once
// The gateway's side of etcd (cluster mode with cluster.etcd, docs/cluster.md "In etcd"): it
// leads through etcd's election (the leader key's creation revision is its epoch, sent in every
// HELLO), learns its worker and node processes from their member keys, and writes where each
// worker slot and processing-node slot lives in transactions fenced on that leader key. Nothing
// per order or per tick goes to etcd.
//
// lead_cluster() runs before the daemon is built, on a loop of its own; the ClusterCoordinator
// then carries the same lease on the daemon's loop. Losing the lease, or a fenced write that etcd
// refuses because another gateway leads, is fatal: the gateway stops serving (on_fatal) rather
// than act on a leadership it no longer holds.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tradeshard/app/config.hpp"
#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/membership.hpp"
#include "tradeshard/net/daemon.hpp"
#include "etcd_ledger_log.hpp"

namespace tradeshard::net {

// What the bootstrap won and wrote, handed to the coordinator.
struct ClusterSeed {
  cluster::etcd::LeaderKey leader;  // leader.rev is the epoch
  std::int64_t lease_ttl = 0;
  cluster::Assignments assignments;
  std::int64_t assignments_mod = 0;  // the assignments key's mod revision after the write
  LedgerLogSeed ledger;              // the ledger's log as etcd held it when this gateway won
};

// Blocking, before the leading daemon is built, once its standby phase won the election (`won`:
// the leader key, whose lease this keeps alive meanwhile): reads the ledger (etcd's snapshot if it
// is newer than the state the standby followed, then the log after it, checked), lists the
// registered workers and nodes (waiting up to cluster.startup_timeout_ms for a first worker and
// cluster.min_nodes nodes), places worker slot i on the i-th worker by id and node slot j (of
// `node_slots`) on the j-th node, round robin, and writes that, fenced. Sets config.cluster.epoch,
// .workers and .nodes (the registered processes, by id). Throws std::runtime_error with the
// reason when it cannot.
ClusterSeed lead_cluster(app::Config& config, std::size_t node_slots, const Promotion& won);

class ClusterCoordinator {
 public:
  ClusterCoordinator(boost::asio::io_context& io, const app::ClusterConfig& config, ClusterSeed seed);
  ~ClusterCoordinator();
  ClusterCoordinator(const ClusterCoordinator&) = delete;
  ClusterCoordinator& operator=(const ClusterCoordinator&) = delete;

  using Members = std::vector<app::ClusterPeer>;  // registered processes, by id, addresses checked
  // on_members(role, members) after every change of the registered workers ("worker") or nodes
  // ("node"); on_fatal once, when this gateway must stop serving (its lease is gone, or etcd
  // refused a fenced write: another leads).
  void start(std::function<void(const std::string& role, const Members&)> on_members,
             std::function<void(const std::string&)> on_fatal);
  void stop();
  // A clean stop: revokes the lease, so the leader key goes now (the next gateway need not wait a
  // TTL); done when etcd answered, or after 500 ms. Then stop().
  void release(std::function<void()> done);
  // Persists the placement of one role's slots: hosts[slot] = process id ("worker": the worker
  // slots, "node": the processing-node slots). One write in flight; a call meanwhile changes what
  // is written next (only the latest placement matters). A write whose outcome is unknown is
  // resolved by reading the key back.
  void assign(const std::string& role, std::vector<std::string> hosts);

  // The leader key's value again, with the addresses the listeners bound (a port 0 in the config
  // is only known then): what GET /leader shows on every gateway and replica.
  void proclaim(const std::string& value);

  [[nodiscard]] std::uint64_t epoch() const noexcept;
  // The followers (replica processes, standby gateways) as they publish themselves under
  // <prefix>/replicas/ (a value that does not decode is left out), by id.
  [[nodiscard]] std::vector<cluster::FollowerStatus> followers() const;
  [[nodiscard]] nlohmann::json to_json() const;  // /cluster "etcd"
  [[nodiscard]] std::string health_problem() const;

 private:
  void write();
  void resolve(const cluster::Assignments& attempted);
  void watch(cluster::PrefixMirror& mirror, const std::string& role);
  void fatal(const std::string& why);

  boost::asio::io_context& io_;
  const app::ClusterConfig& config_;
  ClusterSeed seed_;
  cluster::Keys keys_;
  cluster::EtcdClient client_;
  cluster::LeaseKeeper lease_;
  cluster::PrefixMirror members_;       // <prefix>/members/worker/
  cluster::PrefixMirror node_members_;  // <prefix>/members/node/
  cluster::PrefixMirror leader_watch_;  // the leader key itself: gone or replaced = step down
  cluster::PrefixMirror followers_;     // <prefix>/replicas/
  boost::asio::steady_timer retry_;
  std::function<void(const std::string&)> on_fatal_;
  std::function<void(const std::string&, const Members&)> on_members_;
  cluster::Assignments wanted_;  // the latest placement asked for (hosts and nodes)
  bool has_pending_ = false;     // wanted_ not yet written
  bool writing_ = false;
  bool stopped_ = false;
  bool fatal_ = false;
  std::size_t registered_workers_ = 0, registered_nodes_ = 0;
  std::uint64_t writes_ = 0, write_retries_ = 0;
  std::string last_error_;
};

}  // namespace tradeshard::net

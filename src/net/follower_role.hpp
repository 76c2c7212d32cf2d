#pragma once
// The follower side of a cluster process (docs/cluster.md "Replica processes", "Standby
// gateways"): a replica process, or a gateway on etcd before it leads. Its ledger follows the log
// in etcd (LedgerFollower), it publishes its status (FollowerRegistration), observes the election
// for GET /leader, and serves HTTP read-only. A standby also campaigns with its registration's
// lease (again with a new one if that is lost) and calls `won` once it leads; the daemon then
// hands over to the leading one (net::Promotion). Loop thread only.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>

#include "tradeshard/app/config.hpp"
#include "tradeshard/app/ledger_service.hpp"
#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/net/daemon.hpp"
#include "follower_registration.hpp"
#include "ledger_follower.hpp"

namespace tradeshard::net {

class HttpApi;

// Cluster mode on etcd: the leading gateway and its followers keep a digest of the ledger's
// state every this many versions (LedgerService::keep_checkpoints; /replicas/consistency
// compares them). O(state) each, so not every version.
inline constexpr std::uint64_t kCheckpointEvery = 1000;

class FollowerRole {
 public:
  struct Hooks {
    std::function<std::uint16_t()> http_port;            // the bound HTTP port (published)
    std::function<nlohmann::json()> leader_value;         // a standby's campaign value
    std::function<void(const cluster::etcd::LeaderKey&)> won;  // null: a replica (no campaign)
  };
  FollowerRole(boost::asio::io_context& io, const app::Config& config, app::LedgerService& ledger, HttpApi& api,
               Hooks hooks);
  ~FollowerRole();
  FollowerRole(const FollowerRole&) = delete;
  FollowerRole& operator=(const FollowerRole&) = delete;

  void start();
  // Stops following, publishing, observing and campaigning; the lease is not revoked (a standby
  // that won keeps it: its leader key is bound to it).
  void stop();
  // A standby that won: the ledger's state it followed, for the leading daemon.
  void hand_over(Promotion& p) const;

 private:
  [[nodiscard]] const char* kind() const { return hooks_.won ? "standby" : "replica"; }
  cluster::FollowerStatus status();
  void campaign_tick();
  void start_campaign(std::int64_t lease);
  void observe_leader();

  boost::asio::io_context& io_;
  const app::Config& config_;
  app::LedgerService& ledger_;
  Hooks hooks_;
  cluster::EtcdClient client_;  // declared first: destroyed after what uses it
  LedgerFollower follower_;
  FollowerRegistration registration_;
  std::unique_ptr<cluster::EtcdClient::Stream> observe_, campaign_;
  boost::asio::steady_timer observe_timer_, campaign_timer_;
  nlohmann::json leader_;  // GET /leader (null: none known)
  cluster::DigestAt digest_at_;
  std::int64_t campaign_lease_ = 0;
  bool campaign_ended_ = false, won_ = false, stopped_ = false;
};

}  // namespace tradeshard::net

#pragma once
// A follower's status in etcd (docs/cluster.md "Replicas and standby gateways"): a replica
// process or a standby gateway publishes <prefix>/replicas/<id> on a lease of its own (gone a
// lease TTL after the process), at most every 500 ms and only when its status changed, so the
// leading gateway's /replicas shows it with its applied version and digests. A lost lease is
// granted again after a second. Loop thread only; the client must outlive it.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "tradeshard/app/config.hpp"
#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/ledger_log.hpp"

namespace tradeshard::net {

class FollowerRegistration {
 public:
  FollowerRegistration(boost::asio::io_context& io, cluster::EtcdClient& client, const app::ClusterConfig& config,
                       std::function<cluster::FollowerStatus()> status);
  ~FollowerRegistration();
  FollowerRegistration(const FollowerRegistration&) = delete;
  FollowerRegistration& operator=(const FollowerRegistration&) = delete;

  void start();
  void stop();
  // The lease this process holds (0: none yet): a standby campaigns with it.
  [[nodiscard]] std::int64_t lease() const noexcept;
  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] std::string health_problem() const;

 private:
  void grant();
  void tick();

  boost::asio::io_context& io_;
  cluster::EtcdClient& client_;
  const cluster::LedgerKeys keys_;
  const std::string id_;
  const std::int64_t ttl_;
  std::function<cluster::FollowerStatus()> status_;
  std::unique_ptr<cluster::LeaseKeeper> lease_;
  boost::asio::steady_timer timer_;
  std::int64_t lease_id_ = 0;
  std::string published_;  // the value etcd has
  bool writing_ = false, stopped_ = false, lost_ = false;
  std::uint64_t puts_ = 0, leases_ = 0;
  std::string last_error_;
};

}  // namespace tradeshard::net

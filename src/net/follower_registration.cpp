// A follower's status in etcd (follower_registration.hpp).
#include "follower_registration.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace tradeshard::net {

namespace etcd = cluster::etcd;
using std::chrono::milliseconds;

FollowerRegistration::FollowerRegistration(boost::asio::io_context& io, cluster::EtcdClient& client,
                                           const app::ClusterConfig& config,
                                           std::function<cluster::FollowerStatus()> status)
    : io_(io),
      client_(client),
      keys_{config.prefix},
      id_(config.id),
      ttl_(static_cast<std::int64_t>(config.lease_ttl_s)),
      status_(std::move(status)),
      timer_(io) {}

FollowerRegistration::~FollowerRegistration() { stop(); }

void FollowerRegistration::start() {
  grant();
  tick();
}

void FollowerRegistration::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_.cancel();
  if (lease_) lease_->stop();
}

std::int64_t FollowerRegistration::lease() const noexcept { return lease_id_; }

void FollowerRegistration::grant() {
  if (stopped_) return;
  lease_id_ = 0;
  published_.clear();
  lease_ = std::make_unique<cluster::LeaseKeeper>(io_, client_, ttl_);
  lease_->start(
      [this](std::int64_t id) {
        lease_id_ = id;
        ++leases_;
        spdlog::get("main")->info("etcd: {} publishes under {} (lease {:x})", id_, keys_.follower(id_), id);
      },
      [this](const std::string& why) {
        last_error_ = "lease lost: " + why;
        spdlog::get("main")->warn("etcd: {}'s lease lost ({}); a new one in 1 s", id_, why);
        lease_id_ = 0;
        lost_ = true;  // not from inside the keeper's own handler: the next tick replaces it
      });
}

// Every 500 ms: the status, put when it changed (one put in flight).
void FollowerRegistration::tick() {
  if (stopped_) return;
  if (lost_) {
    lost_ = false;
    grant();
  }
  if (lease_id_ != 0 && !writing_) {
    auto value = cluster::encode(status_());
    if (value != published_) {
      writing_ = true;
      client_.put(etcd::PutRequest{keys_.follower(id_), value, lease_id_, false},
                  [this, value](etcd::Result<etcd::PutResponse> r) {
                    if (stopped_) return;
                    writing_ = false;
                    if (!r.ok()) {
                      last_error_ = etcd::describe(r.error);
                      return;
                    }
                    ++puts_;
                    published_ = value;
                    if (last_error_.rfind("lease lost", 0) != 0) last_error_.clear();
                  });
    }
  }
  timer_.expires_after(milliseconds(500));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

nlohmann::json FollowerRegistration::to_json() const {
  return nlohmann::json{{"key", keys_.follower(id_)},
                        {"lease", lease_id_},
                        {"puts", puts_},
                        {"leases", leases_},
                        {"published", published_.empty() ? nlohmann::json(nullptr) : nlohmann::json::parse(published_)},
                        {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)}};
}

std::string FollowerRegistration::health_problem() const {
  if (lease_id_ == 0) return "etcd: " + id_ + " holds no lease" + (last_error_.empty() ? "" : ": " + last_error_);
  return {};
}

}  // namespace tradeshard::net

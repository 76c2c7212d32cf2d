// The follower side of a cluster process (follower_role.hpp).
#include "follower_role.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>

#include "http_api.hpp"
#include "tradeshard/cluster/membership.hpp"
#include "tradeshard/ledger/codec.hpp"

namespace tradeshard::net {

namespace etcd = cluster::etcd;
using std::chrono::milliseconds;

namespace {
cluster::EtcdOptions options_of(const app::ClusterConfig& c) {
  cluster::EtcdOptions o;
  o.endpoints = c.etcd;
  return o;
}
}  // namespace

FollowerRole::FollowerRole(boost::asio::io_context& io, const app::Config& config, app::LedgerService& ledger,
                           HttpApi& api, Hooks hooks)
    : io_(io),
      config_(config),
      ledger_(ledger),
      hooks_(std::move(hooks)),
      client_(io, options_of(config.cluster)),
      follower_(io, client_, config.cluster.prefix, ledger.coordinator().committed_version(),
                LedgerFollower::Sink{[this](std::uint64_t, const std::string& b) { return ledger_.restore_snapshot(b); },
                                     [this](std::uint64_t, const std::string& b) { return ledger_.replay(b); }}),
      registration_(io, client_, config.cluster, [this] { return status(); }),
      observe_timer_(io),
      campaign_timer_(io) {
  ledger_.keep_checkpoints(kCheckpointEvery);
  api.set_read_only(std::string(kind()) + " " + config.cluster.id +
                        " serves reads only: orders and admin actions go to the leading gateway (GET /leader)",
                    [this] { return leader_; });
  api.add_stats_section("ledger_follower", [this] { return follower_.to_json(); });
  api.add_stats_section("registration", [this] { return registration_.to_json(); });
  api.add_health_check([this] {
    auto p = follower_.health_problem();
    return p.empty() ? registration_.health_problem() : p;
  });
  api.route("GET", "/leader", false, [this](const HttpRequest&, const HttpApi::Params&) {
    if (leader_.is_null()) return HttpApi::error(503, "no_leader", "no gateway leads the cluster now");
    return HttpApi::reply(200, leader_);
  });
}

FollowerRole::~FollowerRole() {
  stop();
  client_.stop();
}

void FollowerRole::start() {
  follower_.start();
  registration_.start();
  observe_leader();
  if (hooks_.won) campaign_tick();
}

void FollowerRole::stop() {
  if (stopped_) return;
  stopped_ = true;
  campaign_timer_.cancel();
  campaign_.reset();
  follower_.stop();
  registration_.stop();
  observe_timer_.cancel();
  observe_.reset();
}

void FollowerRole::hand_over(Promotion& p) const {
  p.version = ledger_.coordinator().committed_version();
  if (const auto* st = ledger_.coordinator().committed_state(); st != nullptr && p.version > 0) {
    ledger::encode(*st, p.state);
  }
  p.next_batch = follower_.next_batch();
}

// What it publishes: its applied version, the digest there (computed again only when the
// version moved) and its last checkpoint.
cluster::FollowerStatus FollowerRole::status() {
  const auto applied = ledger_.coordinator().committed_version();
  if (applied != digest_at_.version || digest_at_.version == 0) digest_at_ = cluster::DigestAt{applied, ledger_.digest()};
  cluster::FollowerStatus s{config_.cluster.id, kind(), config_.http.host + ":" + std::to_string(hooks_.http_port()),
                            applied, std::nullopt, digest_at_};
  if (const auto& c = ledger_.checkpoints(); !c.empty()) s.checkpoint = cluster::DigestAt{c.back().version, c.back().digest};
  return s;
}

void FollowerRole::campaign_tick() {
  campaign_timer_.expires_after(milliseconds(200));
  campaign_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || won_ || stopped_) return;
    const auto lease = registration_.lease();
    if (campaign_ && (lease != campaign_lease_ || campaign_ended_)) campaign_.reset();
    if (!campaign_ && lease != 0) start_campaign(lease);
    campaign_tick();
  });
}

void FollowerRole::start_campaign(std::int64_t lease) {
  campaign_lease_ = lease;
  campaign_ended_ = false;
  const auto election = cluster::Keys{config_.cluster.prefix}.election();
  spdlog::get("main")->info("etcd: {} campaigns for {} (lease {:x}) while following the ledger", config_.cluster.id,
                            election, lease);
  campaign_ = client_.campaign(election, lease, hooks_.leader_value().dump(),
                               [this, lease](etcd::Result<etcd::CampaignResponse> r) {
                                 campaign_ended_ = true;  // reset by the next tick, not inside its own handler
                                 if (!r.ok()) {
                                   spdlog::get("main")->warn("etcd: campaign: {}; again", etcd::describe(r.error));
                                   return;
                                 }
                                 if (lease != registration_.lease()) return;  // won with a lease since lost
                                 won_ = true;
                                 boost::asio::post(io_, [this, won = r.value->leader] {
                                   if (!stopped_) hooks_.won(won);
                                 });
                               });
}

// GET /leader: the election's leader as etcd shows it (observed).
void FollowerRole::observe_leader() {
  observe_ = client_.observe(
      cluster::Keys{config_.cluster.prefix}.election(),
      [this](const etcd::LeaderResponse& r) {
        if (r.kv.key.empty()) {
          leader_ = nullptr;
          return;
        }
        auto v = nlohmann::json::parse(r.kv.value, nullptr, false);
        if (!v.is_object()) v = nlohmann::json::object();
        leader_ = nlohmann::json{{"id", v.value("id", "")},
                                 {"tcp", v.value("tcp", "")},
                                 {"http", v.value("http", "")},
                                 {"epoch", r.kv.create_revision}};
      },
      [this](const etcd::Error&) {
        leader_ = nullptr;
        observe_timer_.expires_after(milliseconds(500));
        observe_timer_.async_wait([this](const boost::system::error_code& ec) {
          if (!ec && !stopped_) observe_leader();
        });
      });
}

}  // namespace tradeshard::net

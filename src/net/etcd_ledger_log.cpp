// The ledger's log in etcd (etcd_ledger_log.hpp).
#include "etcd_ledger_log.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <nlohmann/json.hpp>

#include "tradeshard/cluster/membership.hpp"

namespace tradeshard::net {

namespace etcd = cluster::etcd;
using std::chrono::milliseconds;

namespace {
cluster::EtcdOptions options_of(const app::ClusterConfig& c) {
  cluster::EtcdOptions o;
  o.endpoints = c.etcd;
  o.connections = 1;  // one batch in flight
  return o;
}
}  // namespace

EtcdLedgerLog::EtcdLedgerLog(boost::asio::io_context& io, const app::ClusterConfig& config, etcd::LeaderKey leader,
                             const LedgerLogSeed& seed, Hooks hooks)
    : io_(io),
      keys_{config.prefix},
      leader_(std::move(leader)),
      client_(io, options_of(config)),
      hooks_(std::move(hooks)),
      retry_(io),
      head_(seed.head),
      head_mod_(seed.head_mod),
      staged_(seed.head.version) {
  head_.epoch = static_cast<std::uint64_t>(leader_.rev);
}

EtcdLedgerLog::~EtcdLedgerLog() { stop(); }

void EtcdLedgerLog::stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_.cancel();
  client_.stop();  // no handler of ours runs after this
}

bool EtcdLedgerLog::stage(std::uint64_t version, std::string_view bytes) {
  if (stopped_ || fatal_) return false;
  if (version != staged_ + 1) {
    spdlog::get("ledger")->critical("ledger log: version {} staged after {}", version, staged_);
    return false;
  }
  if (!growing_.fits(bytes.size())) {
    if (growing_.empty()) {
      spdlog::get("ledger")->critical("ledger log: a change set of {} bytes does not fit a batch", bytes.size());
      return false;
    }
    full_.push_back(Batch{growing_.first(), growing_.last(), growing_.take()});
  }
  if (!growing_.add(version, bytes)) return false;
  staged_ = version;
  return true;
}

bool EtcdLedgerLog::flush() {
  if (fatal_) return false;
  send();
  return true;
}

void EtcdLedgerLog::snapshot(std::uint64_t version, std::string /*bytes*/) {
  if (snapshot_warned_) return;
  snapshot_warned_ = true;
  spdlog::get("ledger")->warn("ledger log: snapshots in etcd are not built yet (version {}); the log in etcd keeps "
                              "every change set until they are",
                              version);
}

void EtcdLedgerLog::send() {
  if (in_flight_ || stopped_ || fatal_) return;
  if (!full_.empty()) {
    in_flight_ = std::move(full_.front());
    full_.pop_front();
  } else if (!growing_.empty()) {
    in_flight_ = Batch{growing_.first(), growing_.last(), growing_.take()};
  } else {
    return;
  }
  transmit();
}

// The in-flight batch's fenced append, on the head this writer last saw (a resend sends it again).
void EtcdLedgerLog::transmit() {
  const cluster::LedgerHead next{head_.epoch, in_flight_->last, head_.snapshot};
  client_.txn(cluster::append_batch(keys_, leader_, head_mod_, in_flight_->first, in_flight_->bytes, next),
              [this](etcd::Result<etcd::TxnResponse> r) { sent(r); });
}

void EtcdLedgerLog::sent(const etcd::Result<etcd::TxnResponse>& r) {
  if (stopped_) return;
  if (r.ok() && r.value->succeeded) return committed(r.value->header.revision);
  if (r.ok()) {
    if (cluster::lost_leadership(leader_, *r.value)) {
      return fatal("etcd refused the ledger's append: this gateway (epoch " + std::to_string(head_.epoch) +
                   ") no longer leads");
    }
    // The head moved under us: ours after all (only after an unknown outcome), or another's.
    const auto* read = r.value->responses.size() == 2 ? std::get_if<etcd::RangeResponse>(&r.value->responses[1]) : nullptr;
    if (read != nullptr && !read->kvs.empty()) {
      const auto there = cluster::decode_head(read->kvs.front().value);
      if (there && there->epoch == head_.epoch && there->version >= in_flight_->last) {
        return committed(read->kvs.front().mod_revision);
      }
    }
    return fatal("the ledger's head in etcd was written by another writer: two gateways wrote the ledger");
  }
  last_error_ = etcd::describe(r.error);
  spdlog::get("ledger")->warn("ledger log: appending versions {}..{}: {}", in_flight_->first, in_flight_->last,
                              last_error_);
  switch (r.error.kind) {
    case etcd::Error::Kind::ambiguous:
      return retry_later(milliseconds(100), true);  // it may have landed: read the head first
    case etcd::Error::Kind::not_sent:
    case etcd::Error::Kind::etcd:  // nothing applied (no leader, NOSPACE, …): the same batch again
      return retry_later(milliseconds(200), false);
    default:
      return fatal("the ledger's append cannot be sent: " + last_error_);
  }
}

void EtcdLedgerLog::committed(std::int64_t head_mod) {
  head_mod_ = head_mod;
  head_.version = in_flight_->last;
  ++batches_;
  records_ += in_flight_->last - in_flight_->first + 1;
  bytes_ += in_flight_->bytes.size();
  in_flight_.reset();
  last_error_.clear();
  if (hooks_.durable) hooks_.durable(head_.version);
  send();
}

// After an unknown outcome: the head says whether the batch landed.
void EtcdLedgerLog::resolve() {
  ++resolved_;
  client_.range(etcd::RangeRequest{keys_.head(), {}, 0, 0, false, false}, [this](etcd::Result<etcd::RangeResponse> r) {
    if (stopped_) return;
    if (!r.ok()) return retry_later(milliseconds(200), true);
    std::int64_t mod = 0;
    std::optional<cluster::LedgerHead> there;
    if (!r.value->kvs.empty()) {
      mod = r.value->kvs.front().mod_revision;
      there = cluster::decode_head(r.value->kvs.front().value);
      if (!there) return fatal("the ledger's head in etcd does not decode");
    }
    if (there && there->epoch == head_.epoch && there->version >= in_flight_->last) return committed(mod);
    if (mod == head_mod_) return retry_later(milliseconds(0), false);  // not applied: send it again
    return fatal("the ledger's head in etcd was written by another writer: two gateways wrote the ledger");
  });
}

void EtcdLedgerLog::retry_later(milliseconds delay, bool resolve_first) {
  retry_.expires_after(delay);
  retry_.async_wait([this, resolve_first](const boost::system::error_code& ec) {
    if (ec || stopped_ || fatal_) return;
    if (resolve_first) return resolve();
    ++resends_;
    transmit();
  });
}

void EtcdLedgerLog::fatal(const std::string& why) {
  if (fatal_) return;
  fatal_ = true;
  last_error_ = why;
  spdlog::get("ledger")->critical("ledger log: {}", why);
  boost::asio::post(io_, [this, why] {
    if (!stopped_ && hooks_.fatal) hooks_.fatal(why);
  });
}

nlohmann::json EtcdLedgerLog::to_json() const {
  return nlohmann::json{{"head_version", head_.version},
                        {"epoch", head_.epoch},
                        {"staged_version", staged_},
                        {"batches", batches_},
                        {"records", records_},
                        {"bytes", bytes_},
                        {"in_flight", in_flight_.has_value()},
                        {"resends", resends_},
                        {"resolved", resolved_},
                        {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)}};
}

std::string EtcdLedgerLog::health_problem() const {
  if (fatal_) return "ledger log: " + last_error_;
  if (!last_error_.empty()) return "ledger log: appends to etcd failing: " + last_error_;
  return {};
}

}  // namespace tradeshard::net

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
  o.connections = 3;  // an append (or a switch), a snapshot chunk and an alarm read in flight
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
      snapshot_retry_(io),
      alarm_timer_(io),
      head_(seed.head),
      head_mod_(seed.head_mod),
      logged_(seed.batches.begin(), seed.batches.end()),
      staged_(seed.head.version) {
  head_.epoch = static_cast<std::uint64_t>(leader_.rev);
  poll_alarms();
}

EtcdLedgerLog::~EtcdLedgerLog() { stop(); }

void EtcdLedgerLog::stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_.cancel();
  snapshot_retry_.cancel();
  alarm_timer_.cancel();
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

void EtcdLedgerLog::snapshot(std::uint64_t version, std::string bytes) {
  if (stopped_ || fatal_ || version <= head_.snapshot) return;
  if (snap_) {
    if (snap_next_) ++snapshots_skipped_;  // a newer one replaces it
    snap_next_.emplace(version, std::move(bytes));
    return;
  }
  start_snapshot(version, std::move(bytes));
}

void EtcdLedgerLog::start_snapshot(std::uint64_t version, std::string bytes) {
  auto chunks = cluster::split_snapshot(version, bytes);
  if (chunks.empty()) {
    snapshot_error_ = "the snapshot at version " + std::to_string(version) + " (" + std::to_string(bytes.size()) +
                      " bytes) needs more than " + std::to_string(cluster::max_chunks) + " chunks";
    spdlog::get("ledger")->error("ledger log: {}; the log in etcd keeps growing", snapshot_error_);
    return;
  }
  snapshot_bytes_ = bytes.size();
  snap_ = SnapshotJob{version, std::move(chunks), 0, false};
  write_snapshot();
}

// One step of the snapshot being written: clear its keys, then put its chunks one by one; once
// all are in etcd, the switch goes out through the head pipeline (send()).
void EtcdLedgerLog::write_snapshot() {
  if (stopped_ || fatal_ || !snap_) return;
  if (snap_->cleared && snap_->next == snap_->chunks.size()) return send();
  const auto version = snap_->version;
  auto request = !snap_->cleared
                     ? cluster::clear_snapshot(keys_, leader_, version)
                     : cluster::put_chunk(keys_, leader_, version, static_cast<std::uint32_t>(snap_->next),
                                          snap_->chunks[snap_->next]);
  client_.txn(request, [this, version](etcd::Result<etcd::TxnResponse> r) {
    if (stopped_ || fatal_ || !snap_ || snap_->version != version) return;
    if (r.ok() && !r.value->succeeded) {
      return fatal("etcd refused a snapshot chunk: this gateway (epoch " + std::to_string(head_.epoch) +
                   ") no longer leads");
    }
    if (!r.ok()) {  // a put or a delete may be sent again whatever happened to it
      snapshot_error_ = etcd::describe(r.error);
      spdlog::get("ledger")->warn("ledger log: writing the snapshot at version {}: {}", version, snapshot_error_);
      snapshot_retry_.expires_after(milliseconds(200));
      snapshot_retry_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) write_snapshot();
      });
      return;
    }
    snapshot_error_.clear();
    if (!snap_->cleared) {
      snap_->cleared = true;
    } else {
      snap_->chunks[snap_->next].clear();
      snap_->chunks[snap_->next].shrink_to_fit();  // written: not kept
      ++snap_->next;
    }
    write_snapshot();
  });
}

void EtcdLedgerLog::send() {
  if (in_flight_ || stopped_ || fatal_) return;
  Op op;
  if (snap_ && snap_->cleared && snap_->next == snap_->chunks.size() && head_.version >= snap_->version) {
    // The switch: the snapshot whole in etcd and its version covered by the head.
    op.target = cluster::LedgerHead{head_.epoch, head_.version, snap_->version};
    op.keep_log_from = head_.version + 1;
    for (const auto& b : logged_) {
      if (b.last > snap_->version) {
        op.keep_log_from = b.first;
        break;
      }
    }
  } else {
    if (!full_.empty()) {
      op.batch = std::move(full_.front());
      full_.pop_front();
    } else if (!growing_.empty()) {
      op.batch = Batch{growing_.first(), growing_.last(), growing_.take()};
    } else {
      return;
    }
    op.target = cluster::LedgerHead{head_.epoch, op.batch.last, head_.snapshot};
  }
  in_flight_ = std::move(op);
  in_flight_since_ = std::chrono::steady_clock::now();
  transmit();
}

// The in-flight operation's fenced transaction, on the head this writer last saw (a resend sends
// it again).
void EtcdLedgerLog::transmit() {
  const auto& op = *in_flight_;
  client_.txn(op.is_switch() ? cluster::switch_snapshot(keys_, leader_, head_mod_, op.target, op.keep_log_from)
                             : cluster::append_batch(keys_, leader_, head_mod_, op.batch.first, op.batch.bytes, op.target),
              [this](etcd::Result<etcd::TxnResponse> r) { sent(r); });
}

// Whether the head etcd holds says the in-flight operation landed (after an unknown outcome).
bool EtcdLedgerLog::landed(const cluster::LedgerHead& there) const {
  return there.epoch == head_.epoch && there.version >= in_flight_->target.version &&
         there.snapshot >= in_flight_->target.snapshot;
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
      if (there && landed(*there)) return committed(read->kvs.front().mod_revision);
    }
    return fatal("the ledger's head in etcd was written by another writer: two gateways wrote the ledger");
  }
  last_error_ = etcd::describe(r.error);
  if (in_flight_->is_switch()) {
    spdlog::get("ledger")->warn("ledger log: switching to the snapshot at version {}: {}", in_flight_->target.snapshot,
                                last_error_);
  } else {
    spdlog::get("ledger")->warn("ledger log: appending versions {}..{}: {}", in_flight_->batch.first,
                                in_flight_->batch.last, last_error_);
  }
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
  const Op op = std::move(*in_flight_);
  in_flight_.reset();
  last_error_.clear();
  if (op.is_switch()) {
    head_.snapshot = op.target.snapshot;
    while (!logged_.empty() && logged_.front().last <= head_.snapshot) logged_.pop_front();
    ++snapshots_;
    spdlog::get("ledger")->info("ledger log: snapshot at version {} ({} bytes) in etcd; the log before it deleted",
                                head_.snapshot, snapshot_bytes_);
    snap_.reset();
    if (snap_next_) {
      auto [version, bytes] = std::move(*snap_next_);
      snap_next_.reset();
      if (version > head_.snapshot) start_snapshot(version, std::move(bytes));
    }
    return send();
  }
  head_.version = op.batch.last;
  logged_.push_back(cluster::BatchSpan{op.batch.first, op.batch.last});
  ++batches_;
  records_ += op.batch.last - op.batch.first + 1;
  bytes_ += op.batch.bytes.size();
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
    if (there && landed(*there)) return committed(mod);
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

// etcd's alarms, every second: NOSPACE means etcd takes no writes until an operator frees space
// (docs/cluster.md), so the ledger's appends stall and /health says why. With them, etcd's
// members and the status of the member answering (its leader, its database size) for /replicas.
void EtcdLedgerLog::poll_alarms() {
  if (stopped_) return;
  client_.alarms([this](etcd::Result<etcd::AlarmResponse> r) {
    if (stopped_) return;
    if (r.ok()) {
      std::vector<std::string> now;
      for (const auto& a : r.value->alarms) now.push_back(fmt::format("{} on member {:x}", a.alarm, a.member_id));
      if (now != alarms_ && !now.empty()) spdlog::get("ledger")->error("ledger log: etcd alarms: {}", fmt::join(now, ", "));
      if (now != alarms_ && now.empty()) spdlog::get("ledger")->info("ledger log: etcd's alarms are cleared");
      alarms_ = std::move(now);
    }
    client_.member_list([this](etcd::Result<etcd::MemberListResponse> m) {
      if (stopped_) return;
      if (m.ok()) members_ = std::move(m.value->members);
      client_.status([this](etcd::Result<etcd::StatusResponse> st) {
        if (stopped_) return;
        if (st.ok()) {
          etcd_leader_ = st.value->leader;
          etcd_db_size_ = st.value->db_size;
        }
        alarm_timer_.expires_after(std::chrono::seconds(1));
        alarm_timer_.async_wait([this](const boost::system::error_code& ec) {
          if (!ec) poll_alarms();
        });
      });
    });
  });
}

nlohmann::json EtcdLedgerLog::etcd_members() const {
  auto out = nlohmann::json::array();
  for (const auto& m : members_) {
    out.push_back({{"id", fmt::format("{:x}", m.id)},
                   {"name", m.name},
                   {"client_urls", m.client_urls},
                   {"leader", m.id == etcd_leader_},
                   {"learner", m.learner}});
  }
  return out;
}

nlohmann::json EtcdLedgerLog::to_json() const {
  return nlohmann::json{{"head_version", head_.version},
                        {"snapshot_version", head_.snapshot},
                        {"epoch", head_.epoch},
                        {"staged_version", staged_},
                        {"batches", batches_},
                        {"records", records_},
                        {"bytes", bytes_},
                        {"in_flight", in_flight_.has_value()},
                        {"resends", resends_},
                        {"resolved", resolved_},
                        {"log_batches", logged_.size()},
                        {"snapshots", snapshots_},
                        {"snapshot_bytes", snapshot_bytes_},
                        {"snapshots_skipped", snapshots_skipped_},
                        {"snapshot_writing", snap_ ? nlohmann::json(snap_->version) : nlohmann::json(nullptr)},
                        {"snapshot_error", snapshot_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(snapshot_error_)},
                        {"alarms", alarms_},
                        {"etcd_db_size", etcd_db_size_},
                        {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)}};
}

std::string EtcdLedgerLog::health_problem() const {
  if (fatal_) return "ledger log: " + last_error_;
  if (!alarms_.empty()) {
    return fmt::format("ledger log: etcd alarm {}: etcd takes no writes, fills are held (docs/cluster.md)",
                       fmt::join(alarms_, ", "));
  }
  if (!last_error_.empty()) return "ledger log: appends to etcd failing: " + last_error_;
  if (in_flight_) {
    const auto waited = std::chrono::duration_cast<milliseconds>(std::chrono::steady_clock::now() - in_flight_since_);
    if (waited >= milliseconds(1000)) {
      return "ledger log: an append has waited " + std::to_string(waited.count()) + " ms for etcd; fills are held";
    }
  }
  return {};
}

}  // namespace tradeshard::net

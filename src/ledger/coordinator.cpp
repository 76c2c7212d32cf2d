#include "tradeshard/ledger/coordinator.hpp"

#include <algorithm>
#include <cassert>

namespace tradeshard::ledger {

std::string_view to_string(ProposeError e) noexcept {
  switch (e) {
    case ProposeError::ok: return "ok";
    case ProposeError::no_quorum: return "no_quorum";
    case ProposeError::invalid: return "invalid";
    case ProposeError::bad_version: return "bad_version";
  }
  return "unknown";
}

Coordinator::Coordinator(const CashRules* rules, CoordinatorConfig config)
    : Coordinator(rules, {}, config) {}

Coordinator::Coordinator(const CashRules* rules, std::vector<std::unique_ptr<Replica>> replicas,
                         CoordinatorConfig config)
    : rules_(rules), replicas_(std::move(replicas)) {
  if (replicas_.empty()) {
    const std::size_t n = std::max<std::size_t>(config.replicas, 1);
    for (std::size_t i = 0; i < n; ++i) {
      replicas_.push_back(std::make_unique<MemoryReplica>("node-" + std::to_string(i + 1), rules_));
    }
  }
  const std::size_t n = replicas_.size();
  quorum_ = config.quorum == 0 ? n / 2 + 1 : std::min(config.quorum, n);
  retain_ = std::max<std::size_t>(config.log_retain, 1);
  // Reserved so committing never allocates; holds up to 2 × retain before a truncation.
  ring_capacity_ = retain_ * 2;
  ring_.reserve(ring_capacity_);
}

std::size_t Coordinator::ready_count(std::uint64_t v) const noexcept {
  std::size_t n = 0;
  for (const auto& r : replicas_) {
    if (r->state() == ReplicaState::active && r->version() + 1 == v) ++n;
  }
  return n;
}

bool Coordinator::has_quorum() const noexcept { return ready_count(committed_ + 1) >= quorum_; }

ProposeResult Coordinator::propose(ChangeSet& cs) {
  const std::uint64_t v = committed_ + 1;
  if (ready_count(v) < quorum_) {
    // Refuse before touching any replica: nothing half-applied, version not consumed.
    cs.version = 0;
    return ProposeResult{v, false, 0, ProposeError::no_quorum, LedgerError::ok};
  }
  cs.version = v;
  ProposeResult r = commit_at(cs);
  if (!r.committed) cs.version = 0;
  return r;
}

ProposeResult Coordinator::replay(const ChangeSet& cs) {
  if (cs.version != committed_ + 1) {
    return ProposeResult{cs.version, false, 0, ProposeError::bad_version, LedgerError::ok};
  }
  if (ready_count(cs.version) < quorum_) {
    return ProposeResult{cs.version, false, 0, ProposeError::no_quorum, LedgerError::ok};
  }
  return commit_at(cs);
}

ProposeResult Coordinator::commit_at(const ChangeSet& cs) {
  ProposeResult out{cs.version, false, 0, ProposeError::ok, LedgerError::ok};
  for (const auto& rep : replicas_) rep->prefetch(cs);
  for (auto& rep : replicas_) {
    const ApplyResult a = rep->apply(cs);
    if (a.status == ApplyStatus::applied) {
      ++out.acks;
    } else if (a.status == ApplyStatus::rejected) {
      // Up-to-date replicas hold equal books, so the first one to judge the set refuses it
      // before any other applied it.
      assert(out.acks == 0);
      out.error = ProposeError::invalid;
      out.ledger_error = a.error;
      return out;
    }
  }
  assert(out.acks >= quorum_);
  out.committed = true;
  committed_ = cs.version;
  append_log(cs);
  return out;
}

void Coordinator::append_log(const ChangeSet& cs) {
  if (log_count_ == ring_capacity_) truncate_log();
  const std::size_t i = (ring_head_ + log_count_) % ring_capacity_;
  if (i == ring_.size()) {
    ring_.push_back(cs);  // first pass over the ring: within the reserved capacity
  } else {
    ring_[i].assign(cs);
  }
  ++log_count_;
}

void Coordinator::truncate_log() {
  const LedgerState* state = committed_state();
  assert(state != nullptr);
  if (snapshot_) {
    *snapshot_ = *state;
  } else {
    snapshot_ = std::make_unique<LedgerState>(*state);
  }
  ring_head_ = (ring_head_ + retain_) % ring_capacity_;
  log_count_ -= retain_;
  log_first_ += retain_;
}

bool Coordinator::restore(const LedgerState& snapshot) {
  bool any = false;
  for (auto& r : replicas_) {
    if (r->install(snapshot)) any = true;
  }
  if (!any) return false;
  committed_ = snapshot.version();
  log_first_ = committed_ + 1;
  log_count_ = 0;
  ring_head_ = 0;
  snapshot_ = std::make_unique<LedgerState>(snapshot);
  return true;
}

const LedgerState* Coordinator::committed_state() const noexcept {
  for (const auto& r : replicas_) {
    if (r->version() == committed_) return &r->view();
  }
  return nullptr;
}

std::optional<AccountId> Coordinator::resolve_account(ChangeSet& cs, std::string_view name) const {
  if (name.empty() || name.size() > AccountOpen::max_name) return std::nullopt;
  const LedgerState* state = committed_state();
  if (state == nullptr) return std::nullopt;
  if (const auto id = state->find_account(name)) return id;
  for (std::size_t i = 0; i < cs.open_count(); ++i) {
    if (cs.opened(i).name() == name) return cs.opened(i).id;
  }
  const auto id = static_cast<AccountId>(state->account_count() + cs.open_count());
  if (cs.open(id, name) != LedgerError::ok) return std::nullopt;
  return id;
}

const ChangeSet* Coordinator::log_entry(std::uint64_t v) const noexcept {
  if (v < log_first_ || v >= log_first_ + log_count_) return nullptr;
  return &ring_[(ring_head_ + (v - log_first_)) % ring_capacity_];
}

Replica* Coordinator::find(std::string_view node_id) noexcept {
  for (auto& r : replicas_) {
    if (r->node_id() == node_id) return r.get();
  }
  return nullptr;
}

SyncResult Coordinator::sync(std::string_view node_id) {
  SyncResult out;
  Replica* r = find(node_id);
  if (r == nullptr) return SyncResult{SyncError::unknown_replica, 0, false, 0};
  if (r->state() != ReplicaState::active) {
    return SyncResult{SyncError::not_active, 0, false, r->version()};
  }
  // Too far behind for the log: start from the snapshot, then replay what follows it.
  if (r->version() + 1 < log_first_ && snapshot_) {
    if (!r->install(*snapshot_)) return SyncResult{SyncError::apply_failed, 0, false, r->version()};
    out.from_snapshot = true;
  }
  for (std::uint64_t v = r->version() + 1; v <= committed_; ++v) {
    const ChangeSet* cs = log_entry(v);
    if (cs == nullptr || !r->apply(*cs).ok()) {
      out.error = SyncError::apply_failed;
      break;
    }
    ++out.applied;
  }
  out.version = r->version();
  return out;
}

bool Coordinator::set_replica_state(std::string_view node_id, ReplicaState s) {
  Replica* r = find(node_id);
  if (r == nullptr) return false;
  r->set_state(s);
  return true;
}

SyncResult Coordinator::resync(std::string_view node_id) {
  if (!set_replica_state(node_id, ReplicaState::active)) {
    return SyncResult{SyncError::unknown_replica, 0, false, 0};
  }
  return sync(node_id);
}

ConsistencyReport Coordinator::consistency() const {
  ConsistencyReport rep;
  rep.replica_count = replicas_.size();
  std::uint64_t lo = UINT64_MAX;
  std::uint64_t hi = 0;
  for (const auto& r : replicas_) {
    rep.versions.push_back(ReplicaVersion{std::string(r->node_id()), r->version()});
    lo = std::min(lo, r->version());
    hi = std::max(hi, r->version());
  }
  if (replicas_.empty()) lo = 0;
  rep.version_lag = hi - lo;
  rep.is_consistent = rep.version_lag == 0;
  return rep;
}

std::vector<ReplicaInfo> Coordinator::replicas() const {
  std::vector<ReplicaInfo> out;
  for (const auto& r : replicas_) {
    const std::uint64_t v = r->version();
    out.push_back(ReplicaInfo{std::string(r->node_id()), v, r->state(),
                              committed_ > v ? committed_ - v : 0, r->last_error()});
  }
  return out;
}

}  // namespace tradeshard::ledger

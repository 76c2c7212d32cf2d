#include "tradeshard/ledger/replica.hpp"

namespace tradeshard::ledger {

std::string_view to_string(ReplicaState s) noexcept {
  switch (s) {
    case ReplicaState::active: return "active";
    case ReplicaState::paused: return "paused";
    case ReplicaState::failed: return "failed";
  }
  return "unknown";
}

std::string_view to_string(ApplyStatus s) noexcept {
  switch (s) {
    case ApplyStatus::applied: return "applied";
    case ApplyStatus::gap: return "gap";
    case ApplyStatus::paused: return "paused";
    case ApplyStatus::failed: return "failed";
    case ApplyStatus::rejected: return "rejected";
  }
  return "unknown";
}

ApplyResult MemoryReplica::apply(const ChangeSet& cs) {
  ApplyResult r;
  const std::uint64_t expected = books_.version() + 1;
  if (state_ == ReplicaState::failed) {
    r.status = ApplyStatus::failed;
  } else if (state_ == ReplicaState::paused) {
    r.status = ApplyStatus::paused;
  } else if (cs.version != expected) {
    r = ApplyResult{ApplyStatus::gap, expected, cs.version, LedgerError::ok};
  } else if (const LedgerError e = books_.apply(cs); e != LedgerError::ok) {
    r = ApplyResult{ApplyStatus::rejected, expected, cs.version, e};
  }
  if (r.status != ApplyStatus::rejected) last_error_ = r;
  return r;
}

bool MemoryReplica::install(const LedgerState& snapshot) {
  if (state_ == ReplicaState::failed) return false;
  books_ = snapshot;
  last_error_ = ApplyResult{};
  return true;
}

}  // namespace tradeshard::ledger

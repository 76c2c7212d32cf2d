#pragma once
// Quorum commit over replicas (the seed's StateCoordinator, without its shortcuts).
//
// propose(cs) assigns version committed+1 and commits iff at least `quorum` replicas applied it.
// Refusal is clean: if fewer than `quorum` replicas are ready for that version, or the change set
// is invalid, nothing is applied anywhere, the version is not consumed and the caller keeps the
// change pending (the Gateway answers new orders with `ledger_unavailable`). Replicas that are
// paused, failed or behind do not take part; they catch up with sync().
//
// Committed change sets stay in an in-memory log; once it holds 2 × log_retain entries, a snapshot
// of an up-to-date replica is taken and the oldest log_retain entries are dropped, so memory stays
// bounded and a replica further behind than the log catches up from snapshot + log.
// Single-threaded (event loop). propose() does not allocate (except on snapshot rounds).
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/ledger/change_set.hpp"
#include "tradeshard/ledger/ledger_state.hpp"
#include "tradeshard/ledger/replica.hpp"

namespace tradeshard::ledger {

struct CoordinatorConfig {
  std::size_t replicas = 3;        // replication.replicas
  std::size_t quorum = 0;          // replication.quorum; 0 = majority (replicas / 2 + 1)
  std::size_t log_retain = 16384;  // ledger.log_retain: change sets kept after a truncation
};

enum class ProposeError : std::uint8_t { ok, no_quorum, invalid, bad_version };
std::string_view to_string(ProposeError e) noexcept;

struct ProposeResult {
  std::uint64_t version = 0;  // assigned version (committed) or the one that was tried
  bool committed = false;
  std::size_t acks = 0;
  ProposeError error = ProposeError::ok;
  LedgerError ledger_error = LedgerError::ok;  // why an invalid set was refused
};

enum class SyncError : std::uint8_t { ok, unknown_replica, not_active, apply_failed };
struct SyncResult {
  SyncError error = SyncError::ok;
  std::size_t applied = 0;      // change sets replayed from the log
  bool from_snapshot = false;   // the log did not reach back far enough
  std::uint64_t version = 0;    // replica version afterwards
};

struct ReplicaVersion {
  std::string node_id;
  std::uint64_t version = 0;
};

// The seed's report, field for field.
struct ConsistencyReport {
  std::size_t replica_count = 0;
  std::vector<ReplicaVersion> versions;
  bool is_consistent = true;
  std::uint64_t version_lag = 0;  // max − min over replicas
};

struct ReplicaInfo {
  std::string node_id;
  std::uint64_t version = 0;
  ReplicaState state = ReplicaState::active;
  std::uint64_t lag = 0;  // committed_version − version
  ApplyResult last_error;
};

class Coordinator {
 public:
  // In-memory replicas named node-1 .. node-N.
  Coordinator(const CashRules* rules, CoordinatorConfig config);
  Coordinator(const CashRules* rules, std::vector<std::unique_ptr<Replica>> replicas,
              CoordinatorConfig config);

  // Sets cs.version and commits on quorum (see the class comment for refusal).
  [[nodiscard]] ProposeResult propose(ChangeSet& cs);
  // Recovery: re-commits a change set read from the WAL; cs.version must be committed + 1.
  [[nodiscard]] ProposeResult replay(const ChangeSet& cs);
  // Recovery: every non-failed replica takes this state; the log restarts after it.
  [[nodiscard]] bool restore(const LedgerState& snapshot);

  // Would a proposal commit right now?
  [[nodiscard]] bool has_quorum() const noexcept;
  [[nodiscard]] std::uint64_t committed_version() const noexcept { return committed_; }
  [[nodiscard]] std::size_t quorum() const noexcept { return quorum_; }

  // Books at the committed version (an up-to-date replica), nullptr if none is.
  [[nodiscard]] const LedgerState* committed_state() const noexcept;
  // Account id for name: existing, or a new id recorded as an open in cs. nullopt if the name is
  // invalid or cs has no room. Ids of opens are only valid if cs commits.
  [[nodiscard]] std::optional<AccountId> resolve_account(ChangeSet& cs, std::string_view name) const;

  // Committed change set at version v if still in the log.
  [[nodiscard]] const ChangeSet* log_entry(std::uint64_t v) const noexcept;
  [[nodiscard]] std::uint64_t log_first_version() const noexcept { return log_first_; }
  [[nodiscard]] std::size_t log_size() const noexcept { return log_count_; }
  [[nodiscard]] const LedgerState* snapshot() const noexcept { return snapshot_.get(); }

  [[nodiscard]] SyncResult sync(std::string_view node_id);
  // Fault controls for tests and admin: pause / resume / fail / recover; resync = resume + sync.
  [[nodiscard]] bool set_replica_state(std::string_view node_id, ReplicaState s);
  [[nodiscard]] SyncResult resync(std::string_view node_id);

  [[nodiscard]] ConsistencyReport consistency() const;
  [[nodiscard]] std::vector<ReplicaInfo> replicas() const;
  [[nodiscard]] Replica* find(std::string_view node_id) noexcept;
  [[nodiscard]] std::size_t replica_count() const noexcept { return replicas_.size(); }

 private:
  [[nodiscard]] std::size_t ready_count(std::uint64_t v) const noexcept;
  [[nodiscard]] ProposeResult commit_at(const ChangeSet& cs);
  void append_log(const ChangeSet& cs);
  void truncate_log();

  const CashRules* rules_;
  std::vector<std::unique_ptr<Replica>> replicas_;
  std::size_t quorum_ = 1;
  std::size_t retain_ = 1;
  std::uint64_t committed_ = 0;
  // Ring of committed change sets, versions [log_first_, log_first_ + log_count_).
  // Capacity 2 × retain_ is reserved up front (committing never allocates) but filled as sets
  // commit: zeroing it at start-up (2 × 100 000 sets of 280 bytes with the daemon's default
  // replication.log_keep, 56 MB) cost ~300 ms of page faults before the daemon was ready.
  std::vector<ChangeSet> ring_;
  std::size_t ring_capacity_ = 2;
  std::size_t ring_head_ = 0;  // stays 0 until the ring is full once
  std::size_t log_count_ = 0;
  std::uint64_t log_first_ = 1;
  std::unique_ptr<LedgerState> snapshot_;  // state at log_first_ − 1 or later; null = from zero
};

}  // namespace tradeshard::ledger

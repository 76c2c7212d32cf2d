#pragma once
// A replica of the ledger. The interface is deliberately narrow (apply in version order, install a
// snapshot, report version and state) so a later etcd-backed replica can implement it.
// Touched only from the event-loop thread.
#include <cstdint>
#include <string>
#include <string_view>

#include "tradeshard/ledger/change_set.hpp"
#include "tradeshard/ledger/ledger_state.hpp"

namespace tradeshard::ledger {

// active: applies; paused: ignores proposals (buffers nothing, so it lags until resynced);
// failed: refuses everything, including sync, until recovered.
enum class ReplicaState : std::uint8_t { active, paused, failed };
std::string_view to_string(ReplicaState s) noexcept;

enum class ApplyStatus : std::uint8_t {
  applied,
  gap,       // change set version != version() + 1: needs sync
  paused,
  failed,
  rejected,  // the change set itself is invalid (see error); nothing applied
};
std::string_view to_string(ApplyStatus s) noexcept;

struct ApplyResult {
  ApplyStatus status = ApplyStatus::applied;
  std::uint64_t expected = 0;  // for gap: version this replica needs next
  std::uint64_t got = 0;       // for gap: version it was offered
  LedgerError error = LedgerError::ok;
  [[nodiscard]] bool ok() const noexcept { return status == ApplyStatus::applied; }
};

class Replica {
 public:
  virtual ~Replica() = default;
  [[nodiscard]] virtual std::string_view node_id() const noexcept = 0;
  [[nodiscard]] virtual ReplicaState state() const noexcept = 0;
  virtual void set_state(ReplicaState s) noexcept = 0;
  [[nodiscard]] virtual std::uint64_t version() const noexcept = 0;
  // Applies cs iff active and cs.version == version() + 1; all or nothing.
  [[nodiscard]] virtual ApplyResult apply(const ChangeSet& cs) = 0;
  // Hint before apply(cs) (no effect on state): an in-memory replica starts loading what cs
  // touches, so the coordinator overlaps every replica's cache misses. Remote replicas ignore it.
  virtual void prefetch(const ChangeSet& /*cs*/) const noexcept {}
  // Replaces the whole state (catch-up after the change log was truncated). Refused when failed.
  [[nodiscard]] virtual bool install(const LedgerState& snapshot) = 0;
  // Read-only view of the books (for account views, snapshots and consistency checks).
  [[nodiscard]] virtual const LedgerState& view() const noexcept = 0;
  // Gap or refusal from the last failed apply; {applied,...} when the last apply succeeded.
  [[nodiscard]] virtual ApplyResult last_error() const noexcept = 0;
};

// The embedded default: the books in this process's memory.
class MemoryReplica final : public Replica {
 public:
  MemoryReplica(std::string node_id, const CashRules* rules)
      : node_id_(std::move(node_id)), books_(rules) {}

  [[nodiscard]] std::string_view node_id() const noexcept override { return node_id_; }
  [[nodiscard]] ReplicaState state() const noexcept override { return state_; }
  void set_state(ReplicaState s) noexcept override { state_ = s; }
  [[nodiscard]] std::uint64_t version() const noexcept override { return books_.version(); }
  [[nodiscard]] ApplyResult apply(const ChangeSet& cs) override;
  void prefetch(const ChangeSet& cs) const noexcept override { books_.prefetch(cs); }
  [[nodiscard]] bool install(const LedgerState& snapshot) override;
  [[nodiscard]] const LedgerState& view() const noexcept override { return books_; }
  [[nodiscard]] ApplyResult last_error() const noexcept override { return last_error_; }

 private:
  std::string node_id_;
  ReplicaState state_ = ReplicaState::active;
  LedgerState books_;
  ApplyResult last_error_;
};

}  // namespace tradeshard::ledger

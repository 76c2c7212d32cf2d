#pragma once
// The replicated portfolio ledger as the daemon uses it: every trade becomes one atomic change
// set (both accounts, both legs) proposed to the replicas through the quorum Coordinator, and each
// committed set is written to the durable log before any client can see it.
// Standard library only; loop thread only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/app/config.hpp"
#include "tradeshard/app/outbox.hpp"
#include "tradeshard/ledger/cash_rules.hpp"
#include "tradeshard/ledger/coordinator.hpp"

namespace tradeshard::app {

// The durable side of the ledger (a write-ahead log at the edge).
class LedgerLog {
 public:
  virtual ~LedgerLog() = default;
  // Frames a committed change set; written to the file by flush().
  virtual bool stage(std::uint64_t version, std::string_view bytes) = 0;
  virtual bool flush() = 0;
  virtual void snapshot(std::uint64_t version, std::string bytes) = 0;
};

struct LedgerStats {
  std::uint64_t commits = 0;
  std::uint64_t refused_no_quorum = 0;
  std::uint64_t refused_invalid = 0;
  std::uint64_t snapshots = 0;
  std::uint64_t durable_version = 0;  // fsync-covered (from the log's thread, via the loop)
  bool storage_failed = false;
  // Why the ledger refused a trade as invalid (e.g. "overflow"), or empty. The engine has executed
  // that trade and cannot take it back, so it stays held (nothing after it is told) and orders are
  // refused from then on: the order path halts, visibly (/health), until an operator steps in.
  std::string trade_refused;
};

class LedgerService final : public TradeLedger {
 public:
  // Throws std::invalid_argument (start-up only) when the instruments give no valid cash rules.
  LedgerService(const Config& config, const core::InstrumentTable& instruments);

  // Rebuilds committed state from a snapshot and the records after it; error text or empty.
  std::string recover(const std::optional<std::string>& snapshot, const std::vector<std::string>& records);
  // A follower of the log (replica process, standby gateway): the state replaced by a snapshot's,
  // then the change sets after it, one by one; error text or empty.
  std::string restore_snapshot(std::string_view bytes);
  std::string replay(std::string_view change_set);

  // Digests of the committed state (core::stable_hash of its snapshot encoding) at every version
  // that is a multiple of `checkpoint_every` (0: none), the last 16 kept: a replica and its
  // leader compare them at a common version (/replicas/consistency). O(state) each.
  struct Checkpoint {
    std::uint64_t version = 0;
    std::uint64_t digest = 0;
  };
  void keep_checkpoints(std::uint64_t every) { checkpoint_every_ = every; }
  [[nodiscard]] const std::vector<Checkpoint>& checkpoints() const noexcept { return checkpoints_; }
  [[nodiscard]] std::uint64_t digest() const;  // of the committed state now
  void attach_log(LedgerLog* log) { log_ = log; }
  void mark_durable(std::uint64_t version) { stats_.durable_version = version; }
  void storage_failed() { stats_.storage_failed = true; }

  // TradeLedger.
  [[nodiscard]] bool available() const override;
  [[nodiscard]] std::uint64_t commit(const Trade& trade) override;
  [[nodiscard]] bool flush() override;

  // Admin: deposit (or withdraw) an amount of a currency; error text, or empty and the version.
  std::string transfer(std::string_view account, std::string_view currency, core::Decimal amount, bool deposit,
                       std::uint64_t& version);

  [[nodiscard]] ledger::Coordinator& coordinator() noexcept { return coord_; }
  [[nodiscard]] const ledger::Coordinator& coordinator() const noexcept { return coord_; }
  [[nodiscard]] const ledger::CashRules& rules() const noexcept { return rules_; }
  [[nodiscard]] const LedgerStats& stats() const noexcept { return stats_; }

 private:
  bool propose(ledger::ChangeSet& cs);
  void checkpoint();

  const Config& config_;
  ledger::CashRules rules_;
  ledger::Coordinator coord_;
  LedgerLog* log_ = nullptr;
  std::string buf_;
  bool staged_ = false;
  std::uint64_t since_snapshot_ = 0;
  std::uint64_t checkpoint_every_ = 0;
  std::vector<Checkpoint> checkpoints_;
  LedgerStats stats_;
};

}  // namespace tradeshard::app

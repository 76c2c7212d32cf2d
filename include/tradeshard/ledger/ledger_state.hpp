#pragma once
// The books of every account at one version: positions per instrument and cash per currency.
// Pure and deterministic: the same change sets in the same order give equal states on every
// replica. Owned by one thread (the event loop); no locks.
//
// Position accounting (exact, integer):
//   cost      signed cost basis of the open quantity, cash units (long > 0, short < 0)
//   realized  realized P&L, cash units
// Reducing a position by c of |qty| lots removes cost × c / |qty| of basis, truncated toward zero
// (the whole basis when it goes flat); realized += exit value − removed basis. Rounding only moves
// value between basis and realized, so per account and currency
//   cash + Σ cost − Σ realized == net transfers (deposits − withdrawals)
// holds exactly whenever cash legs are the positions' notionals (see add_fill).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/ledger/cash_rules.hpp"
#include "tradeshard/ledger/change_set.hpp"

namespace tradeshard::ledger {

struct Position {
  core::Lots qty = 0;
  CashUnits cost = 0;
  CashUnits realized = 0;
  friend bool operator==(const Position&, const Position&) = default;
};

struct PositionEntry {
  core::InstrumentId instrument = 0;
  Position position;
  friend bool operator==(const PositionEntry&, const PositionEntry&) = default;
};

struct CashBalance {
  CashUnits balance = 0;
  CashUnits net_transfers = 0;  // deposits − withdrawals
  friend bool operator==(const CashBalance&, const CashBalance&) = default;
};

// The balances come first: apply() reads only them, and they share a cache line.
struct Account {
  std::vector<PositionEntry> positions;  // in first-touch order; flat positions are kept
  std::vector<CashBalance> cash;         // indexed by CurrencyId
  std::string name;
  [[nodiscard]] const Position* find(core::InstrumentId i) const noexcept;
  friend bool operator==(const Account&, const Account&) = default;
};

// Pure trade arithmetic: position after trading delta lots whose signed cash value is `value`
// (= notional(price, delta)); nullopt on int64 overflow.
[[nodiscard]] std::optional<Position> trade(const Position& p, core::Lots delta,
                                            CashUnits value) noexcept;

class LedgerState {
 public:
  explicit LedgerState(const CashRules* rules) : rules_(rules) {}

  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  [[nodiscard]] std::size_t account_count() const noexcept { return accounts_.size(); }
  [[nodiscard]] const Account& account(AccountId id) const noexcept { return accounts_[id]; }
  [[nodiscard]] std::optional<AccountId> find_account(std::string_view name) const noexcept;
  [[nodiscard]] const CashRules& rules() const noexcept { return *rules_; }

  // Applies all changes and sets version = cs.version, or changes nothing and returns why.
  // Version order is the Replica's job, not this type's.
  [[nodiscard]] LedgerError apply(const ChangeSet& cs);
  // Hint, no effect on state: starts loading the accounts cs touches into the cache, so that
  // several replicas' loads overlap instead of each apply() waiting on its own misses.
  void prefetch(const ChangeSet& cs) const noexcept;

  // For snapshot decoding: appends an account / sets raw balances without change semantics.
  [[nodiscard]] bool restore_account(Account a);
  void restore_version(std::uint64_t v) noexcept { version_ = v; }

  friend bool operator==(const LedgerState& a, const LedgerState& b) noexcept {
    return a.version_ == b.version_ && a.accounts_ == b.accounts_;
  }

 private:
  // apply() for the shape add_fill() makes between two existing accounts; false (nothing
  // changed) for any other shape or any error, which the general path then handles.
  [[nodiscard]] bool apply_fill(const ChangeSet& cs);
  struct Slot;
  // Reads only; non-const because slots keep writable pointers for commit().
  [[nodiscard]] LedgerError stage(const ChangeSet& cs, Slot* slots, std::size_t& n) noexcept;
  [[nodiscard]] LedgerError validate_opens(const ChangeSet& cs) const noexcept;
  void commit(const ChangeSet& cs, const Slot* slots, std::size_t n);

  const CashRules* rules_;
  std::uint64_t version_ = 0;
  std::vector<Account> accounts_;
  struct NameHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  std::unordered_map<std::string, AccountId, NameHash, std::equal_to<>> by_name_;
};

// Appends the four changes of one fill (buyer +qty, buyer cash −notional, seller −qty, seller
// cash +notional) so both legs land in one atomic change set. ok, overflow, bad_quantity or full.
[[nodiscard]] LedgerError add_fill(ChangeSet& cs, const CashRules& rules, AccountId buyer,
                                   AccountId seller, core::InstrumentId instrument,
                                   core::Ticks price, core::Lots qty) noexcept;

}  // namespace tradeshard::ledger

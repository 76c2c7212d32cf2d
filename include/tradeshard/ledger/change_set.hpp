#pragma once
// A ChangeSet is the unit of replication: a few fixed-size changes applied atomically (all or
// none) at one version. Fixed capacity and no heap storage, so proposing one never allocates.
// Standard-library-only header; plain value types, safe to copy between threads.
#include <array>
#include <cstdint>
#include <string_view>

#include "tradeshard/core/types.hpp"

namespace tradeshard::ledger {

// Accounts are interned: index into the ledger's account table, assigned in creation order.
using AccountId = std::uint32_t;
// Index into CashRules' currency table (fixed at start-up from the instruments).
using CurrencyId = std::uint16_t;
// Cash amounts are integers at the currency's scale (see CashRules).
using CashUnits = std::int64_t;

enum class LedgerError : std::uint8_t {
  ok,
  empty,               // a change set without changes
  unknown_account,
  unknown_instrument,
  unknown_currency,
  bad_amount,          // deposit / withdraw must be > 0
  bad_quantity,        // position change of 0 lots
  bad_open,            // new account id out of order, duplicate or invalid name
  overflow,            // an int64 balance would overflow: the set is refused, nothing applied
  full,                // no room left in the fixed-capacity set
};
std::string_view to_string(LedgerError e) noexcept;

enum class ChangeKind : std::uint8_t {
  update_position = 1,  // qty += delta at price; moves cost basis / realized P&L, not cash
  update_cash = 2,      // cash += amount (a fill's cash leg)
  close_position = 3,   // sell/buy back the whole position at price, settling against cash
  deposit = 4,          // cash += amount (> 0), counted in net transfers
  withdraw = 5,         // cash -= amount (> 0), counted in net transfers; may go negative
};
std::string_view to_string(ChangeKind k) noexcept;

// 32 bytes. Field use by kind: positions use instrument/qty/price; cash kinds use
// currency/amount (stored in qty).
struct Change {
  ChangeKind kind = ChangeKind::update_cash;
  CurrencyId currency = 0;
  AccountId account = 0;
  core::InstrumentId instrument = 0;
  std::int64_t qty = 0;     // lots for update_position; cash units for cash kinds
  core::Ticks price = 0;    // update_position / close_position
  [[nodiscard]] CashUnits amount() const noexcept { return qty; }
  friend bool operator==(const Change&, const Change&) = default;
};

// Name of an account created by this change set (accounts are created on first use).
struct AccountOpen {
  static constexpr std::size_t max_name = 31;
  AccountId id = 0;
  std::uint8_t size = 0;
  std::array<char, max_name> bytes{};
  [[nodiscard]] std::string_view name() const noexcept { return {bytes.data(), size}; }
  friend bool operator==(const AccountOpen&, const AccountOpen&) = default;
};

class ChangeSet {
 public:
  static constexpr std::size_t max_changes = 6;
  static constexpr std::size_t max_opens = 2;

  // 0 until the Coordinator assigns the next version on propose().
  std::uint64_t version = 0;

  [[nodiscard]] LedgerError add(const Change& c) noexcept;
  // Records that `name` becomes account `id` (must be the next free id, checked on apply).
  [[nodiscard]] LedgerError open(AccountId id, std::string_view name) noexcept;

  [[nodiscard]] LedgerError update_position(AccountId a, core::InstrumentId i, core::Lots delta,
                                            core::Ticks price) noexcept;
  [[nodiscard]] LedgerError update_cash(AccountId a, CurrencyId c, CashUnits amount) noexcept;
  [[nodiscard]] LedgerError close_position(AccountId a, core::InstrumentId i,
                                           core::Ticks price) noexcept;
  [[nodiscard]] LedgerError deposit(AccountId a, CurrencyId c, CashUnits amount) noexcept;
  [[nodiscard]] LedgerError withdraw(AccountId a, CurrencyId c, CashUnits amount) noexcept;

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
  [[nodiscard]] const Change& operator[](std::size_t i) const noexcept { return changes_[i]; }
  [[nodiscard]] std::size_t open_count() const noexcept { return open_count_; }
  [[nodiscard]] const AccountOpen& opened(std::size_t i) const noexcept { return opens_[i]; }
  void clear() noexcept { version = 0; size_ = 0; open_count_ = 0; }
  // Copies only what `o` uses (cheaper than operator= when appending to a log ring).
  void assign(const ChangeSet& o) noexcept {
    version = o.version;
    size_ = o.size_;
    open_count_ = o.open_count_;
    for (std::size_t i = 0; i < size_; ++i) changes_[i] = o.changes_[i];
    for (std::size_t i = 0; i < open_count_; ++i) opens_[i] = o.opens_[i];
  }

  friend bool operator==(const ChangeSet& a, const ChangeSet& b) noexcept;

 private:
  std::uint8_t size_ = 0;
  std::uint8_t open_count_ = 0;
  std::array<Change, max_changes> changes_{};
  std::array<AccountOpen, max_opens> opens_{};
};

}  // namespace tradeshard::ledger

#include "tradeshard/ledger/change_set.hpp"

#include <algorithm>

namespace tradeshard::ledger {

std::string_view to_string(LedgerError e) noexcept {
  switch (e) {
    case LedgerError::ok: return "ok";
    case LedgerError::empty: return "empty";
    case LedgerError::unknown_account: return "unknown_account";
    case LedgerError::unknown_instrument: return "unknown_instrument";
    case LedgerError::unknown_currency: return "unknown_currency";
    case LedgerError::bad_amount: return "bad_amount";
    case LedgerError::bad_quantity: return "bad_quantity";
    case LedgerError::bad_open: return "bad_open";
    case LedgerError::overflow: return "overflow";
    case LedgerError::full: return "full";
  }
  return "unknown";
}

std::string_view to_string(ChangeKind k) noexcept {
  switch (k) {
    case ChangeKind::update_position: return "update_position";
    case ChangeKind::update_cash: return "update_cash";
    case ChangeKind::close_position: return "close_position";
    case ChangeKind::deposit: return "deposit";
    case ChangeKind::withdraw: return "withdraw";
  }
  return "unknown";
}

LedgerError ChangeSet::add(const Change& c) noexcept {
  if (size_ == max_changes) return LedgerError::full;
  changes_[size_++] = c;
  return LedgerError::ok;
}

LedgerError ChangeSet::open(AccountId id, std::string_view name) noexcept {
  if (open_count_ == max_opens) return LedgerError::full;
  if (name.empty() || name.size() > AccountOpen::max_name) return LedgerError::bad_open;
  AccountOpen& o = opens_[open_count_++];
  o = AccountOpen{};
  o.id = id;
  o.size = static_cast<std::uint8_t>(name.size());
  std::copy(name.begin(), name.end(), o.bytes.begin());
  return LedgerError::ok;
}

LedgerError ChangeSet::update_position(AccountId a, core::InstrumentId i, core::Lots delta,
                                       core::Ticks price) noexcept {
  return add(Change{ChangeKind::update_position, 0, a, i, delta, price});
}

LedgerError ChangeSet::update_cash(AccountId a, CurrencyId c, CashUnits amount) noexcept {
  return add(Change{ChangeKind::update_cash, c, a, 0, amount, 0});
}

LedgerError ChangeSet::close_position(AccountId a, core::InstrumentId i,
                                      core::Ticks price) noexcept {
  return add(Change{ChangeKind::close_position, 0, a, i, 0, price});
}

LedgerError ChangeSet::deposit(AccountId a, CurrencyId c, CashUnits amount) noexcept {
  if (amount <= 0) return LedgerError::bad_amount;
  return add(Change{ChangeKind::deposit, c, a, 0, amount, 0});
}

LedgerError ChangeSet::withdraw(AccountId a, CurrencyId c, CashUnits amount) noexcept {
  if (amount <= 0) return LedgerError::bad_amount;
  return add(Change{ChangeKind::withdraw, c, a, 0, amount, 0});
}

bool operator==(const ChangeSet& a, const ChangeSet& b) noexcept {
  return a.version == b.version && a.size_ == b.size_ && a.open_count_ == b.open_count_ &&
         std::equal(a.changes_.begin(), a.changes_.begin() + a.size_, b.changes_.begin()) &&
         std::equal(a.opens_.begin(), a.opens_.begin() + a.open_count_, b.opens_.begin());
}

}  // namespace tradeshard::ledger

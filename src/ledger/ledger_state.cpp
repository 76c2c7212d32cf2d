#include "tradeshard/ledger/ledger_state.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "tradeshard/core/hash.hpp"

namespace tradeshard::ledger {
namespace {

constexpr __int128 int64_max = std::numeric_limits<std::int64_t>::max();
constexpr __int128 int64_min = std::numeric_limits<std::int64_t>::min();

bool fits(__int128 v) noexcept { return v >= int64_min && v <= int64_max; }

// a + b into out; false on int64 overflow.
bool add_to(std::int64_t& out, std::int64_t a, std::int64_t b) noexcept {
  return !__builtin_add_overflow(a, b, &out);
}

// trade() for a reducing trade that does not flip, when every product fits int64.
std::optional<Position> reduce_fast(const Position& p, core::Lots delta, CashUnits value) noexcept {
  if (p.qty == INT64_MIN || delta == INT64_MIN) return std::nullopt;
  const std::int64_t open = p.qty < 0 ? -p.qty : p.qty;
  const std::int64_t traded = delta < 0 ? -delta : delta;
  if (traded >= open) return std::nullopt;  // flat or flip: the general path
  std::int64_t basis_product = 0;
  std::int64_t removed = 0;
  if (__builtin_mul_overflow(p.cost, traded, &basis_product)) return std::nullopt;
  removed = basis_product / open;  // truncates toward zero, like the general path
  Position n = p;
  if (__builtin_sub_overflow(p.realized, value, &n.realized) ||
      __builtin_sub_overflow(n.realized, removed, &n.realized)) {
    return std::nullopt;
  }
  n.qty = p.qty + delta;
  n.cost = p.cost - removed;
  return n;
}

}  // namespace

const Position* Account::find(core::InstrumentId i) const noexcept {
  for (const auto& e : positions) {
    if (e.instrument == i) return &e.position;
  }
  return nullptr;
}

std::optional<Position> trade(const Position& p, core::Lots delta, CashUnits value) noexcept {
  Position n = p;
  if (p.qty == 0 || (p.qty > 0) == (delta > 0)) {
    // Opening or adding: the traded value joins the basis.
    if (!add_to(n.qty, p.qty, delta) || !add_to(n.cost, p.cost, value)) return std::nullopt;
    return n;
  }
  // Common case in int64 (the __int128 division below is a library call, ~10x slower).
  if (const auto fast = reduce_fast(p, delta, value)) return fast;
  const __int128 open = p.qty < 0 ? -__int128{p.qty} : __int128{p.qty};
  const __int128 traded = delta < 0 ? -__int128{delta} : __int128{delta};
  const __int128 closed = std::min(open, traded);
  // Proportional basis, truncated toward zero; going flat removes all of it (no residue).
  const __int128 removed = closed == open ? __int128{p.cost} : __int128{p.cost} * closed / open;
  // value is exact per lot (price × unit × delta), so this division is exact.
  const __int128 closed_value = __int128{value} * closed / traded;
  const __int128 realized = __int128{p.realized} - closed_value - removed;
  const __int128 rest = traded - closed;
  __int128 qty = __int128{p.qty} + delta;
  __int128 cost = __int128{p.cost} - removed;
  if (rest > 0) cost = __int128{value} - closed_value;  // flipped: basis of the new side
  if (!fits(realized) || !fits(qty) || !fits(cost)) return std::nullopt;
  n.qty = static_cast<core::Lots>(qty);
  n.cost = static_cast<CashUnits>(cost);
  n.realized = static_cast<CashUnits>(realized);
  return n;
}

// Trivially constructible on purpose: apply() keeps an uninitialised array of these on the stack
// (zeroing it showed up as a top cost in the benchmark).
struct LedgerState::Slot {
  Slot() {}  // NOLINT: deliberately leaves every member uninitialised
  bool is_cash;
  AccountId account;
  std::uint32_t key;  // instrument or currency
  union {
    Position position;
    CashBalance cash;
  };
};

std::size_t LedgerState::NameHash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(core::stable_hash(s));
}

std::optional<AccountId> LedgerState::find_account(std::string_view name) const noexcept {
  const auto it = by_name_.find(name);
  if (it == by_name_.end()) return std::nullopt;
  return it->second;
}

LedgerError LedgerState::validate_opens(const ChangeSet& cs) const noexcept {
  for (std::size_t i = 0; i < cs.open_count(); ++i) {
    const AccountOpen& o = cs.opened(i);
    if (o.id != accounts_.size() + i || o.size == 0) return LedgerError::bad_open;
    if (by_name_.count(o.name()) != 0) return LedgerError::bad_open;
    for (std::size_t j = 0; j < i; ++j) {
      if (cs.opened(j).name() == o.name()) return LedgerError::bad_open;
    }
  }
  return LedgerError::ok;
}

LedgerError LedgerState::stage(const ChangeSet& cs, Slot* slots, std::size_t& n) const noexcept {
  const std::size_t account_limit = accounts_.size() + cs.open_count();
  // Finds the staged value of (account, key), loading it from the books on first touch, so two
  // changes to the same balance in one set (e.g. a self-trade) compose.
  auto slot = [&](bool is_cash, AccountId a, std::uint32_t key) -> Slot& {
    for (std::size_t i = 0; i < n; ++i) {
      if (slots[i].is_cash == is_cash && slots[i].account == a && slots[i].key == key) {
        return slots[i];
      }
    }
    Slot& s = slots[n++];
    s.is_cash = is_cash;
    s.account = a;
    s.key = key;
    const Account* acc = a < accounts_.size() ? &accounts_[a] : nullptr;
    if (is_cash) {
      s.cash = acc != nullptr && key < acc->cash.size() ? acc->cash[key] : CashBalance{};
    } else {
      const Position* p = acc != nullptr ? acc->find(key) : nullptr;
      s.position = p != nullptr ? *p : Position{};
    }
    return s;
  };
  const CashRules& rules = *rules_;
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const Change& c = cs[i];
    if (c.account >= account_limit) return LedgerError::unknown_account;
    switch (c.kind) {
      case ChangeKind::update_position: {
        if (c.instrument >= rules.instrument_count()) return LedgerError::unknown_instrument;
        if (c.qty == 0) return LedgerError::bad_quantity;
        const auto value = rules.notional(c.instrument, c.price, c.qty);
        if (!value) return LedgerError::overflow;
        Slot& s = slot(false, c.account, c.instrument);
        const auto next = trade(s.position, c.qty, *value);
        if (!next) return LedgerError::overflow;
        s.position = *next;
        break;
      }
      case ChangeKind::close_position: {
        if (c.instrument >= rules.instrument_count()) return LedgerError::unknown_instrument;
        Slot& ps = slot(false, c.account, c.instrument);
        if (ps.position.qty == 0) break;  // nothing open: a no-op, not an error
        const core::Lots delta = -ps.position.qty;
        const auto value = rules.notional(c.instrument, c.price, delta);
        if (!value) return LedgerError::overflow;
        const auto next = trade(ps.position, delta, *value);
        if (!next) return LedgerError::overflow;
        ps.position = *next;
        // Closing settles against cash: selling a long brings in −value (> 0).
        Slot& cs_slot = slot(true, c.account, rules.instrument(c.instrument).currency);
        if (__builtin_sub_overflow(cs_slot.cash.balance, *value, &cs_slot.cash.balance)) {
          return LedgerError::overflow;
        }
        break;
      }
      case ChangeKind::update_cash:
      case ChangeKind::deposit:
      case ChangeKind::withdraw: {
        if (c.currency >= rules.currency_count()) return LedgerError::unknown_currency;
        if (c.kind != ChangeKind::update_cash && c.qty <= 0) return LedgerError::bad_amount;
        const CashUnits amount = c.kind == ChangeKind::withdraw ? -c.qty : c.qty;
        Slot& s = slot(true, c.account, c.currency);
        if (!add_to(s.cash.balance, s.cash.balance, amount)) return LedgerError::overflow;
        if (c.kind != ChangeKind::update_cash &&
            !add_to(s.cash.net_transfers, s.cash.net_transfers, amount)) {
          return LedgerError::overflow;
        }
        break;
      }
      default: return LedgerError::bad_quantity;
    }
  }
  return LedgerError::ok;
}

void LedgerState::commit(const ChangeSet& cs, const Slot* slots, std::size_t n) {
  for (std::size_t i = 0; i < cs.open_count(); ++i) {
    Account a;
    a.name = std::string(cs.opened(i).name());
    a.cash.resize(rules_->currency_count());
    by_name_.emplace(a.name, static_cast<AccountId>(accounts_.size()));
    accounts_.push_back(std::move(a));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    Account& acc = accounts_[s.account];
    if (s.is_cash) {
      acc.cash[s.key] = s.cash;
      continue;
    }
    auto it = std::find_if(acc.positions.begin(), acc.positions.end(),
                           [&](const PositionEntry& e) { return e.instrument == s.key; });
    if (it == acc.positions.end()) {
      acc.positions.push_back(PositionEntry{s.key, s.position});
    } else {
      it->position = s.position;
    }
  }
}

LedgerError LedgerState::apply(const ChangeSet& cs) {
  if (cs.empty() && cs.open_count() == 0) return LedgerError::empty;
  if (const auto e = validate_opens(cs); e != LedgerError::ok) return e;
  // Stage every touched balance first so a failing change leaves the books untouched.
  Slot slots[ChangeSet::max_changes * 2];  // NOLINT: filled before read
  std::size_t n = 0;
  if (const auto e = stage(cs, slots, n); e != LedgerError::ok) return e;
  commit(cs, slots, n);
  version_ = cs.version;
  return LedgerError::ok;
}

bool LedgerState::restore_account(Account a) {
  if (a.name.empty() || a.name.size() > AccountOpen::max_name) return false;
  if (by_name_.count(a.name) != 0 || a.cash.size() > rules_->currency_count()) return false;
  for (std::size_t i = 0; i < a.positions.size(); ++i) {
    if (a.positions[i].instrument >= rules_->instrument_count()) return false;
    for (std::size_t j = 0; j < i; ++j) {
      if (a.positions[j].instrument == a.positions[i].instrument) return false;
    }
  }
  a.cash.resize(rules_->currency_count());
  by_name_.emplace(a.name, static_cast<AccountId>(accounts_.size()));
  accounts_.push_back(std::move(a));
  return true;
}

LedgerError add_fill(ChangeSet& cs, const CashRules& rules, AccountId buyer, AccountId seller,
                     core::InstrumentId instrument, core::Ticks price, core::Lots qty) noexcept {
  if (qty <= 0) return LedgerError::bad_quantity;
  if (instrument >= rules.instrument_count()) return LedgerError::unknown_instrument;
  if (cs.size() + 4 > ChangeSet::max_changes) return LedgerError::full;
  const auto value = rules.notional(instrument, price, qty);
  if (!value || *value == std::numeric_limits<CashUnits>::min()) return LedgerError::overflow;
  const CurrencyId cur = rules.instrument(instrument).currency;
  (void)cs.update_position(buyer, instrument, qty, price);
  (void)cs.update_cash(buyer, cur, -*value);
  (void)cs.update_position(seller, instrument, -qty, price);
  (void)cs.update_cash(seller, cur, *value);
  return LedgerError::ok;
}

}  // namespace tradeshard::ledger

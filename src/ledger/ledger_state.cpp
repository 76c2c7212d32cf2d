#include "tradeshard/ledger/ledger_state.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>

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

namespace {

// Account::find for writing (staging and the fill path keep where a position lives).
Position* find_position(Account& a, core::InstrumentId i) noexcept {
  return const_cast<Position*>(std::as_const(a).find(i));
}

}  // namespace

namespace {

// Reducing (or flipping) trade: the proportional-basis arithmetic, kept out of line.
std::optional<Position> reduce(const Position& p, core::Lots delta, CashUnits value) noexcept {
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
  Position n = p;
  n.qty = static_cast<core::Lots>(qty);
  n.cost = static_cast<CashUnits>(cost);
  n.realized = static_cast<CashUnits>(realized);
  return n;
}

// Opening or adding inline (the traded value joins the basis); reducing out of line.
inline std::optional<Position> trade_inline(const Position& p, core::Lots delta,
                                            CashUnits value) noexcept {
  if (p.qty == 0 || (p.qty > 0) == (delta > 0)) {
    Position n = p;
    if (!add_to(n.qty, p.qty, delta) || !add_to(n.cost, p.cost, value)) return std::nullopt;
    return n;
  }
  return reduce(p, delta, value);
}

}  // namespace

std::optional<Position> trade(const Position& p, core::Lots delta, CashUnits value) noexcept {
  return trade_inline(p, delta, value);
}

// Trivially constructible on purpose: apply() keeps an uninitialised array of these on the stack
// (zeroing it showed up as a top cost in the benchmark).
struct LedgerState::Slot {
  Slot() {}  // NOLINT: deliberately leaves every member uninitialised
  // account << 32 | cash_bit | instrument-or-currency: one compare finds a staged balance.
  static constexpr std::uint64_t cash_bit = std::uint64_t{1} << 31;
  static std::uint64_t position_id(AccountId a, core::InstrumentId i) noexcept {
    return std::uint64_t{a} << 32 | i;
  }
  static std::uint64_t cash_id(AccountId a, CurrencyId c) noexcept {
    return std::uint64_t{a} << 32 | cash_bit | c;
  }
  [[nodiscard]] bool is_cash() const noexcept { return (id & cash_bit) != 0; }
  [[nodiscard]] AccountId account() const noexcept { return static_cast<AccountId>(id >> 32); }
  [[nodiscard]] std::uint32_t key() const noexcept {
    return static_cast<std::uint32_t>(id & (cash_bit - 1));
  }
  std::uint64_t id;
  // Where the balance lives (a Position or CashBalance of an existing account), so commit writes
  // it without a second search; nullptr: created on commit (new position or new account).
  void* target;
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

LedgerError LedgerState::stage(const ChangeSet& cs, Slot* slots, std::size_t& count) noexcept {
  // A local count (through the reference every store to a slot would force a reload); `count`
  // is only meaningful when stage succeeds.
  std::size_t n = 0;
  const std::size_t existing = accounts_.size();
  const std::size_t account_limit = existing + cs.open_count();
  // Staged value of a balance, loaded from the books on first touch, so two changes to the same
  // balance in one set (e.g. a self-trade) compose.
  auto staged = [&](std::uint64_t id) -> Slot* {
    for (std::size_t i = 0; i < n; ++i) {
      if (slots[i].id == id) return &slots[i];
    }
    return nullptr;
  };
  auto position_slot = [&](AccountId a, core::InstrumentId ins) -> Slot& {
    const std::uint64_t id = Slot::position_id(a, ins);
    if (Slot* s = staged(id)) return *s;
    Slot& s = slots[n++];
    s.id = id;
    s.target = nullptr;
    s.position = Position{};
    if (a < existing) {
      if (Position* p = find_position(accounts_[a], ins)) {
        s.target = p;
        s.position = *p;
      }
    }
    return s;
  };
  // Every existing account holds one CashBalance per currency (commit / restore_account).
  auto cash_slot = [&](AccountId a, CurrencyId cur) -> Slot& {
    const std::uint64_t id = Slot::cash_id(a, cur);
    if (Slot* s = staged(id)) return *s;
    Slot& s = slots[n++];
    s.id = id;
    s.target = nullptr;
    s.cash = CashBalance{};
    if (a < existing) {
      CashBalance& b = accounts_[a].cash[cur];
      s.target = &b;
      s.cash = b;
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
        Slot& s = position_slot(c.account, c.instrument);
        const auto next = trade_inline(s.position, c.qty, *value);
        if (!next) return LedgerError::overflow;
        s.position = *next;
        break;
      }
      case ChangeKind::close_position: {
        if (c.instrument >= rules.instrument_count()) return LedgerError::unknown_instrument;
        Slot& ps = position_slot(c.account, c.instrument);
        if (ps.position.qty == 0) break;  // nothing open: a no-op, not an error
        const core::Lots delta = -ps.position.qty;
        const auto value = rules.notional(c.instrument, c.price, delta);
        if (!value) return LedgerError::overflow;
        const auto next = trade_inline(ps.position, delta, *value);
        if (!next) return LedgerError::overflow;
        ps.position = *next;
        // Closing settles against cash: selling a long brings in −value (> 0).
        Slot& cs_slot = cash_slot(c.account, rules.instrument(c.instrument).currency);
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
        Slot& s = cash_slot(c.account, c.currency);
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
  count = n;
  return LedgerError::ok;
}

void LedgerState::commit(const ChangeSet& cs, const Slot* slots, std::size_t n) {
  // Existing balances first: appending a position below may move its account's vector.
  std::size_t created = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    if (s.target == nullptr) {
      ++created;
    } else if (s.is_cash()) {
      *static_cast<CashBalance*>(s.target) = s.cash;
    } else {
      *static_cast<Position*>(s.target) = s.position;
    }
  }
  if (created == 0 && cs.open_count() == 0) return;  // the common case: a fill between known accounts
  // Moving accounts_ keeps the targets above valid anyway (their vectors' buffers do not move).
  static_assert(std::is_nothrow_move_constructible_v<Account>);
  for (std::size_t i = 0; i < cs.open_count(); ++i) {
    Account a;
    a.name = std::string(cs.opened(i).name());
    a.cash.resize(rules_->currency_count());
    by_name_.emplace(a.name, static_cast<AccountId>(accounts_.size()));
    accounts_.push_back(std::move(a));
  }
  for (std::size_t i = 0; i < n; ++i) {
    const Slot& s = slots[i];
    if (s.target != nullptr) continue;
    Account& acc = accounts_[s.account()];
    if (s.is_cash()) {
      acc.cash[s.key()] = s.cash;
    } else {
      acc.positions.push_back(PositionEntry{s.key(), s.position});
    }
  }
}

void LedgerState::prefetch(const ChangeSet& cs) const noexcept {
  AccountId previous = ~AccountId{0};
  for (std::size_t i = 0; i < cs.size(); ++i) {
    const AccountId a = cs[i].account;
    if (a == previous || a >= accounts_.size()) continue;  // a fill names each account twice
    previous = a;
    // positions and cash: the first 48 bytes, which may straddle two lines.
    const char* p = reinterpret_cast<const char*>(&accounts_[a]);
    __builtin_prefetch(p);
    __builtin_prefetch(p + offsetof(Account, cash) + sizeof(std::vector<CashBalance>) - 1);
  }
}

bool LedgerState::apply_fill(const ChangeSet& cs) {
  // The shape add_fill() makes: position + cash leg of one account, then of another.
  if (cs.size() != 4 || cs.open_count() != 0) return false;
  const Change& bp = cs[0];
  const Change& bc = cs[1];
  const Change& sp = cs[2];
  const Change& sc = cs[3];
  if (bp.kind != ChangeKind::update_position || bc.kind != ChangeKind::update_cash ||
      sp.kind != ChangeKind::update_position || sc.kind != ChangeKind::update_cash) {
    return false;
  }
  const std::size_t n = accounts_.size();
  if (bp.account != bc.account || sp.account != sc.account || bp.account == sp.account ||
      bp.account >= n || sp.account >= n) {
    return false;  // a self-trade or a new account: the general path composes those
  }
  const CashRules& rules = *rules_;
  if (bp.instrument >= rules.instrument_count() || sp.instrument >= rules.instrument_count() ||
      bc.currency >= rules.currency_count() || sc.currency >= rules.currency_count() || bp.qty == 0 ||
      sp.qty == 0) {
    return false;
  }
  Account& buyer = accounts_[bp.account];
  Account& seller = accounts_[sp.account];
  __builtin_prefetch(seller.positions.data());
  __builtin_prefetch(seller.cash.data());
  Position* const bpos = find_position(buyer, bp.instrument);
  Position* const spos = find_position(seller, sp.instrument);
  const auto bv = rules.notional(bp.instrument, bp.price, bp.qty);
  const auto sv = rules.notional(sp.instrument, sp.price, sp.qty);
  if (!bv || !sv) return false;
  const auto bnext = trade_inline(bpos != nullptr ? *bpos : Position{}, bp.qty, *bv);
  const auto snext = trade_inline(spos != nullptr ? *spos : Position{}, sp.qty, *sv);
  CashBalance& bcash = buyer.cash[bc.currency];
  CashBalance& scash = seller.cash[sc.currency];
  std::int64_t bbal = 0;
  std::int64_t sbal = 0;
  if (!bnext || !snext || !add_to(bbal, bcash.balance, bc.qty) || !add_to(sbal, scash.balance, sc.qty)) {
    return false;  // an overflow: the general path finds and reports it
  }
  // Everything checked: commit. The two accounts differ, so no write aliases another's read.
  bcash.balance = bbal;
  scash.balance = sbal;
  if (bpos != nullptr) {
    *bpos = *bnext;
  } else {
    buyer.positions.push_back(PositionEntry{bp.instrument, *bnext});
  }
  if (spos != nullptr) {
    *spos = *snext;
  } else {
    seller.positions.push_back(PositionEntry{sp.instrument, *snext});
  }
  version_ = cs.version;
  return true;
}

LedgerError LedgerState::apply(const ChangeSet& cs) {
  // Fills between two known accounts (nearly every change set) take a straight-line path with
  // the same arithmetic; anything else, or any failure, goes through stage() and commit().
  if (apply_fill(cs)) return LedgerError::ok;
  if (cs.open_count() != 0) {
    if (const auto e = validate_opens(cs); e != LedgerError::ok) return e;
  } else if (cs.empty()) {
    return LedgerError::empty;
  }
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

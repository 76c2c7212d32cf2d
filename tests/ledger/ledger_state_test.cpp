#include <doctest/doctest.h>

#include <limits>
#include <random>

#include "ledger_fixture.hpp"
#include "tradeshard/ledger/ledger_state.hpp"

using namespace tradeshard;
using namespace tradeshard::ledger;
using namespace tradeshard::ledger::test;

namespace {

// A state with `n` accounts a0..a(n-1) opened at version 1.
LedgerState with_accounts(int n) {
  LedgerState s(&rules());
  ChangeSet cs;
  cs.version = 1;
  for (int i = 0; i < n; ++i) REQUIRE(cs.open(static_cast<AccountId>(i), "a" + std::to_string(i)) == LedgerError::ok);
  REQUIRE(s.apply(cs) == LedgerError::ok);
  return s;
}

LedgerError apply_one(LedgerState& s, ChangeSet cs) {
  cs.version = s.version() + 1;
  return s.apply(cs);
}

}  // namespace

// Ensure each currency's scale makes every notional an exact integer and units are right.
TEST_CASE("CashRules: per-currency scale covers tick and lot digits") {
  CHECK(rules().currency(usdt).name == "USDT");
  CHECK(rules().currency(usdt).scale == 7);  // 0.01 × 0.00001
  CHECK(rules().currency(usd).scale == 5);
  CHECK(rules().instrument(eth).unit == 10);  // 0.01 × 0.0001 = 1e-6 = 10 units of 1e-7
  CHECK(rules().instrument(eurusd).unit == 1000);
  // 1 BTC at 50000.00 = 50000.0000000 USDT.
  CHECK(rules().notional(btc, 5'000'000, 100'000) == 500'000'000'000LL);
  CHECK(rules().notional(btc, 5'000'000, -100'000) == -500'000'000'000LL);
  CHECK_FALSE(rules().notional(btc, std::numeric_limits<std::int64_t>::max(), 2).has_value());
  CHECK(rules().find_currency("USD") == usd);
  CHECK_FALSE(rules().find_currency("JPY").has_value());
}

// Ensure a fill moves both accounts' position and cash in one step and the books balance.
TEST_CASE("LedgerState: fill is one atomic change set") {
  LedgerState s = with_accounts(2);
  ChangeSet cs;
  REQUIRE(add_fill(cs, rules(), 0, 1, btc, 5'000'000, 20'000) == LedgerError::ok);
  CHECK(cs.size() == 4);
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  CHECK(s.version() == 2);
  const auto* buyer = s.account(0).find(btc);
  const auto* seller = s.account(1).find(btc);
  REQUIRE(buyer != nullptr);
  REQUIRE(seller != nullptr);
  CHECK(buyer->qty == 20'000);
  CHECK(seller->qty == -20'000);
  CHECK(s.account(0).cash[usdt].balance == -100'000'000'000LL);  // 0.2 BTC × 50000 = 10000 USDT
  CHECK(s.account(1).cash[usdt].balance == 100'000'000'000LL);
  CHECK(books_balance(s));
}

// Ensure partial closes take basis proportionally (truncated) and realized P&L stays exact.
TEST_CASE("LedgerState: partial close realizes P&L with documented rounding") {
  LedgerState s = with_accounts(2);
  ChangeSet cs;
  // Long 1 lot @ 1.00 and 2 lots @ 1.01 ETH: basis 302 ticks·lots × 10 units.
  REQUIRE(add_fill(cs, rules(), 0, 1, eth, 100, 1) == LedgerError::ok);
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  cs.clear();
  REQUIRE(add_fill(cs, rules(), 0, 1, eth, 101, 2) == LedgerError::ok);
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  CHECK(s.account(0).find(eth)->cost == 3020);
  SUBCASE("sell a third: basis 3020/3 truncates to 1006") {
    cs.clear();
    REQUIRE(add_fill(cs, rules(), 1, 0, eth, 105, 1) == LedgerError::ok);
    REQUIRE(apply_one(s, cs) == LedgerError::ok);
    const Position p = *s.account(0).find(eth);
    CHECK(p.qty == 2);
    CHECK(p.cost == 2014);
    CHECK(p.realized == 1050 - 1006);
    // Going flat removes the whole remaining basis: total realized is exactly 3150 − 3020.
    cs.clear();
    REQUIRE(add_fill(cs, rules(), 1, 0, eth, 105, 2) == LedgerError::ok);
    REQUIRE(apply_one(s, cs) == LedgerError::ok);
    CHECK(*s.account(0).find(eth) == Position{0, 0, 130});
    CHECK(books_balance(s));
  }
  SUBCASE("selling through zero flips to a short at the fill price") {
    cs.clear();
    REQUIRE(add_fill(cs, rules(), 1, 0, eth, 110, 5) == LedgerError::ok);
    REQUIRE(apply_one(s, cs) == LedgerError::ok);
    CHECK(*s.account(0).find(eth) == Position{-2, -2200, 3300 - 3020});
    CHECK(books_balance(s));
  }
}

// Ensure a short bought back lower realizes a gain.
TEST_CASE("LedgerState: short position P&L") {
  LedgerState s = with_accounts(2);
  ChangeSet cs;
  REQUIRE(add_fill(cs, rules(), 1, 0, btc, 10'000, 3) == LedgerError::ok);  // a0 sells 3 @ 100.00
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  cs.clear();
  REQUIRE(add_fill(cs, rules(), 0, 1, btc, 9'000, 3) == LedgerError::ok);  // buys back @ 90.00
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  CHECK(*s.account(0).find(btc) == Position{0, 0, 3000});
  CHECK(s.account(0).cash[usdt].balance == 3000);
  CHECK(books_balance(s));
}

// Ensure close_position sells the whole position at the price and settles it in cash.
TEST_CASE("LedgerState: close_position settles against cash") {
  LedgerState s = with_accounts(2);
  ChangeSet cs;
  REQUIRE(add_fill(cs, rules(), 0, 1, eurusd, 110'000, 2) == LedgerError::ok);  // 2000 EUR @ 1.1
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  cs.clear();
  REQUIRE(cs.close_position(0, eurusd, 120'000) == LedgerError::ok);
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  const Position p = *s.account(0).find(eurusd);
  CHECK(p.qty == 0);
  CHECK(p.realized == 20'000'000);  // 200.00000 USD
  CHECK(s.account(0).cash[usd].balance == 20'000'000);
  CHECK(books_balance(s));
  // Closing a flat position is a no-op, not an error.
  cs.clear();
  REQUIRE(cs.close_position(0, eurusd, 1) == LedgerError::ok);
  CHECK(apply_one(s, cs) == LedgerError::ok);
}

// Ensure deposits and withdrawals count as transfers, cash may go negative, amounts must be > 0.
TEST_CASE("LedgerState: deposit and withdraw") {
  LedgerState s = with_accounts(1);
  ChangeSet cs;
  REQUIRE(cs.deposit(0, usdt, 500) == LedgerError::ok);
  REQUIRE(cs.withdraw(0, usdt, 800) == LedgerError::ok);
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  CHECK(s.account(0).cash[usdt] == CashBalance{-300, -300});
  CHECK(cs.deposit(0, usdt, 0) == LedgerError::bad_amount);
  CHECK(cs.withdraw(0, usdt, -1) == LedgerError::bad_amount);
  CHECK(books_balance(s));
}

// Ensure a set with one bad change applies nothing at all, and the version does not move.
TEST_CASE("LedgerState: refused change set leaves the books untouched") {
  LedgerState s = with_accounts(2);
  const LedgerState before = s;
  ChangeSet cs;
  REQUIRE(cs.deposit(0, usdt, 100) == LedgerError::ok);
  SUBCASE("unknown account") {
    REQUIRE(cs.deposit(7, usdt, 100) == LedgerError::ok);
    CHECK(apply_one(s, cs) == LedgerError::unknown_account);
  }
  SUBCASE("unknown currency") {
    REQUIRE(cs.update_cash(1, 9, 1) == LedgerError::ok);
    CHECK(apply_one(s, cs) == LedgerError::unknown_currency);
  }
  SUBCASE("overflow") {
    REQUIRE(cs.update_cash(0, usdt, std::numeric_limits<std::int64_t>::max()) == LedgerError::ok);
    CHECK(apply_one(s, cs) == LedgerError::overflow);
  }
  SUBCASE("zero quantity") {
    REQUIRE(cs.update_position(0, btc, 0, 1) == LedgerError::ok);
    CHECK(apply_one(s, cs) == LedgerError::bad_quantity);
  }
  SUBCASE("account opened out of order") {
    REQUIRE(cs.open(5, "late") == LedgerError::ok);
    CHECK(apply_one(s, cs) == LedgerError::bad_open);
  }
  SUBCASE("duplicate name") {
    REQUIRE(cs.open(2, "a0") == LedgerError::ok);
    CHECK(apply_one(s, cs) == LedgerError::bad_open);
  }
  CHECK(s == before);
}

// Ensure two changes to one balance in a set compose (self-trade keeps qty and cash flat).
TEST_CASE("LedgerState: self-trade composes within the set") {
  LedgerState s = with_accounts(1);
  ChangeSet cs;
  REQUIRE(add_fill(cs, rules(), 0, 0, btc, 100, 5) == LedgerError::ok);
  REQUIRE(apply_one(s, cs) == LedgerError::ok);
  CHECK(s.account(0).find(btc)->qty == 0);
  CHECK(s.account(0).cash[usdt].balance == 0);
  CHECK(books_balance(s));
  CHECK(add_fill(cs, rules(), 0, 0, btc, 100, 5) == LedgerError::full);
  CHECK(cs.size() == 4);
}

// Ensure the display average price is the basis per base unit at the currency's scale.
TEST_CASE("LedgerState: average price for display") {
  // 0.3 BTC bought for 15000.0000001 USDT -> 50000.0000003 rounds to 7 digits.
  const InstrumentCash& ic = rules().instrument(btc);
  CHECK(average_price(150'000'000'001LL, 30'000, ic, 7) == core::Decimal{500'000'000'003LL, 7});
  CHECK(average_price(-30'000, -3, ic, 7) == core::Decimal{1'000'000'000LL, 7});  // short 3 lots @ 100
  CHECK(average_price(5, 0, ic, 7) == core::Decimal{0, 7});
}

// Ensure trade() (with its int64 fast path) matches a plain __int128 reference on random trades.
TEST_CASE("LedgerState: trade arithmetic matches the reference") {
  const auto reference = [](Position p, std::int64_t delta, std::int64_t value) {
    const __int128 open = p.qty < 0 ? -__int128{p.qty} : p.qty;
    const __int128 traded = delta < 0 ? -__int128{delta} : delta;
    if (p.qty == 0 || (p.qty > 0) == (delta > 0)) return Position{p.qty + delta, p.cost + value, p.realized};
    const __int128 closed = open < traded ? open : traded;
    const __int128 removed = closed == open ? __int128{p.cost} : __int128{p.cost} * closed / open;
    const __int128 closed_value = __int128{value} * closed / traded;
    Position n{p.qty + delta, static_cast<std::int64_t>(p.cost - removed),
               static_cast<std::int64_t>(p.realized - closed_value - removed)};
    if (traded > closed) n.cost = static_cast<std::int64_t>(value - closed_value);
    return n;
  };
  std::mt19937_64 rng(99);
  Position p;
  for (int i = 0; i < 20000; ++i) {
    const auto delta = static_cast<std::int64_t>(rng() % 2001) - 1000;
    if (delta == 0) continue;
    const auto price = static_cast<std::int64_t>(1 + rng() % 1'000'000);
    const std::int64_t value = price * delta * 7;
    const auto got = trade(p, delta, value);
    REQUIRE(got.has_value());
    const Position want = reference(p, delta, value);
    REQUIRE(*got == want);
    p = *got;
  }
  // Products beyond int64 take the exact __int128 path instead of failing.
  const Position big{3'000'000'000LL, 4'000'000'000'000'000'000LL, 0};
  const auto r = trade(big, -1'000'000'000LL, -1'000'000'000'000'000'000LL);
  REQUIRE(r.has_value());
  CHECK(*r == reference(big, -1'000'000'000LL, -1'000'000'000'000'000'000LL));
}

// Ensure the straight-line fill path and the general stage/commit path agree exactly: the same
// random fills go to one state in add_fill()'s order (fast path) and to another with each
// account's two legs swapped (same balances, general path), including self-trades, flips,
// first touches and overflows, and every result and every state must match.
TEST_CASE("LedgerState: fill fast path equals the general path") {
  // Six accounts, opened two per change set (the per-set limit).
  auto six = [] {
    LedgerState s(&rules());
    for (int i = 0; i < 6; i += 2) {
      ChangeSet cs;
      REQUIRE(cs.open(static_cast<AccountId>(i), "a" + std::to_string(i)) == LedgerError::ok);
      REQUIRE(cs.open(static_cast<AccountId>(i + 1), "a" + std::to_string(i + 1)) == LedgerError::ok);
      REQUIRE(apply_one(s, cs) == LedgerError::ok);
    }
    return s;
  };
  LedgerState fast = six();
  LedgerState general = six();
  std::mt19937_64 rng(777);
  const core::InstrumentId instruments[] = {btc, eth, eurusd};
  int refused = 0;
  for (int step = 0; step < 20000; ++step) {
    const auto buyer = static_cast<AccountId>(rng() % 6);
    const auto seller = static_cast<AccountId>(rng() % 6);
    // Mostly ordinary sizes; now and then a quarter of int64 in cash, so that a few of those
    // in a row overflow a balance or a cost basis when the set is applied.
    const bool huge = rng() % 50 == 0;
    const core::InstrumentId ins = huge ? eurusd : instruments[rng() % 3];
    const core::Ticks price = huge ? std::numeric_limits<std::int64_t>::max() / 4 / rules().instrument(eurusd).unit
                                   : 1 + static_cast<core::Ticks>(rng() % 1'000'000);
    const core::Lots qty = huge ? 1 : 1 + static_cast<core::Lots>(rng() % 50'000);
    ChangeSet a;
    const LedgerError added = add_fill(a, rules(), buyer, seller, ins, price, qty);
    if (added != LedgerError::ok) continue;
    ChangeSet b;
    REQUIRE(b.add(a[1]) == LedgerError::ok);
    REQUIRE(b.add(a[0]) == LedgerError::ok);
    REQUIRE(b.add(a[3]) == LedgerError::ok);
    REQUIRE(b.add(a[2]) == LedgerError::ok);
    const LedgerError ra = apply_one(fast, a);
    const LedgerError rb = apply_one(general, b);
    REQUIRE(ra == rb);
    if (ra != LedgerError::ok) ++refused;
    REQUIRE(fast == general);
  }
  CHECK(fast.version() > 15000);
  CHECK(refused > 0);  // the overflow branch was exercised
}

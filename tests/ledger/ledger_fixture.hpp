#pragma once
// Shared instruments for ledger tests: two USDT pairs (USDT scale 7) and one USD pair (scale 5).
#include <doctest/doctest.h>

#include "tradeshard/core/instrument.hpp"
#include "tradeshard/ledger/cash_rules.hpp"
#include "tradeshard/ledger/ledger_state.hpp"

namespace tradeshard::ledger::test {

inline core::InstrumentTable make_instruments() {
  std::vector<core::Instrument> v(3);
  v[0].symbol = "BTCUSDT"; v[0].base = "BTC"; v[0].quote = "USDT";
  v[0].tick_size = {1, 2}; v[0].lot_size = {1, 5};
  v[1].symbol = "ETHUSDT"; v[1].base = "ETH"; v[1].quote = "USDT";
  v[1].tick_size = {1, 2}; v[1].lot_size = {1, 4};
  v[2].symbol = "EURUSD"; v[2].base = "EUR"; v[2].quote = "USD";
  v[2].tick_size = {1, 5}; v[2].lot_size = {1000, 0};
  return core::InstrumentTable(std::move(v));
}

inline const CashRules& rules() {
  static const CashRules r = [] {
    auto b = CashRules::build(make_instruments());
    REQUIRE(b.ok());
    return b.rules;
  }();
  return r;
}

inline constexpr core::InstrumentId btc = 0;
inline constexpr core::InstrumentId eth = 1;
inline constexpr core::InstrumentId eurusd = 2;
inline constexpr CurrencyId usdt = 0;
inline constexpr CurrencyId usd = 1;

// cash + Σ cost − Σ realized == net transfers, per account and currency.
inline bool books_balance(const LedgerState& s) {
  for (AccountId id = 0; id < s.account_count(); ++id) {
    const Account& a = s.account(id);
    for (CurrencyId c = 0; c < a.cash.size(); ++c) {
      __int128 total = a.cash[c].balance;
      for (const auto& p : a.positions) {
        if (s.rules().instrument(p.instrument).currency != c) continue;
        total += p.position.cost;
        total -= p.position.realized;
      }
      if (total != a.cash[c].net_transfers) return false;
    }
  }
  return true;
}

}  // namespace tradeshard::ledger::test

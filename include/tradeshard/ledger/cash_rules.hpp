#pragma once
// Cash arithmetic rules, fixed at start-up from the instrument table and read-only afterwards.
//
// Every currency gets one integer scale (digits after the point) chosen so that every notional
// price_ticks × qty_lots × tick_size × lot_size of an instrument quoted in it is an exact integer
// number of cash units: scale = max(min_scale, max over those instruments of tick.scale +
// lot.scale). Example: BTCUSDT tick 0.01, lot 0.00001 -> USDT scale 7, so int64 cash holds
// ±9.2e11 USDT. notional() reports overflow instead of wrapping.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/core/decimal.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/ledger/change_set.hpp"

namespace tradeshard::ledger {

struct Currency {
  std::string name;
  std::uint8_t scale = 0;  // cash units = value × 10^scale
};

struct InstrumentCash {
  CurrencyId currency = 0;
  // Cash units per (1 tick × 1 lot): tick.units × lot.units × 10^(scale − tick.scale − lot.scale).
  std::int64_t unit = 1;
  core::Decimal lot_size{1, 0};
};

// Extra cash-only currency (deposits in a currency no instrument is quoted in).
struct ExtraCurrency {
  std::string name;
  std::uint8_t scale = 8;
};

enum class CashRulesError : std::uint8_t { ok, scale_too_large, unit_overflow, too_many_currencies };
std::string_view to_string(CashRulesError e) noexcept;

class CashRules;
struct CashRulesBuild;

class CashRules {
 public:
  static constexpr std::uint8_t default_min_scale = 2;

  [[nodiscard]] static CashRulesBuild build(const core::InstrumentTable& instruments,
                                            std::span<const ExtraCurrency> extra = {},
                                            std::uint8_t min_scale = default_min_scale);

  [[nodiscard]] std::optional<CurrencyId> find_currency(std::string_view name) const noexcept;
  [[nodiscard]] const Currency& currency(CurrencyId id) const noexcept { return currencies_[id]; }
  [[nodiscard]] std::size_t currency_count() const noexcept { return currencies_.size(); }
  [[nodiscard]] const InstrumentCash& instrument(core::InstrumentId id) const noexcept {
    return instruments_[id];
  }
  [[nodiscard]] std::size_t instrument_count() const noexcept { return instruments_.size(); }

  // Signed cash value of qty lots at price ticks, exact; nullopt when it does not fit int64.
  // unit >= 1, so |price × qty| <= |result|: an overflow of either int64 product means the exact
  // result does not fit either, and two checked int64 multiplies decide it (inline: hot path).
  [[nodiscard]] std::optional<CashUnits> notional(core::InstrumentId id, core::Ticks price,
                                                  core::Lots qty) const noexcept {
    std::int64_t pq = 0;
    std::int64_t v = 0;
    if (__builtin_mul_overflow(price, qty, &pq) ||
        __builtin_mul_overflow(pq, instruments_[id].unit, &v)) {
      return std::nullopt;
    }
    return v;
  }

 private:
  std::vector<Currency> currencies_;
  std::vector<InstrumentCash> instruments_;
};

struct CashRulesBuild {
  CashRules rules;
  CashRulesError error = CashRulesError::ok;
  std::string detail;  // the offending currency or symbol
  [[nodiscard]] bool ok() const noexcept { return error == CashRulesError::ok; }
};

// Average entry price of a position as a decimal at the currency's scale (display only),
// rounded half away from zero; {0,scale} for a flat position.
[[nodiscard]] core::Decimal average_price(CashUnits cost, core::Lots qty, const InstrumentCash& ic,
                                          std::uint8_t currency_scale) noexcept;

}  // namespace tradeshard::ledger

#include "tradeshard/ledger/cash_rules.hpp"

#include <algorithm>
#include <limits>

namespace tradeshard::ledger {
namespace {

constexpr __int128 int64_max = std::numeric_limits<std::int64_t>::max();
constexpr __int128 int64_min = std::numeric_limits<std::int64_t>::min();

__int128 pow10(unsigned n) noexcept {
  __int128 r = 1;
  while (n-- > 0) r *= 10;
  return r;
}

}  // namespace

std::string_view to_string(CashRulesError e) noexcept {
  switch (e) {
    case CashRulesError::ok: return "ok";
    case CashRulesError::scale_too_large: return "scale_too_large";
    case CashRulesError::unit_overflow: return "unit_overflow";
    case CashRulesError::too_many_currencies: return "too_many_currencies";
  }
  return "unknown";
}

CashRulesBuild CashRules::build(const core::InstrumentTable& instruments,
                                std::span<const ExtraCurrency> extra, std::uint8_t min_scale) {
  CashRulesBuild out;
  CashRules& r = out.rules;
  auto find_or_add = [&r, min_scale](std::string_view name) -> std::size_t {
    for (std::size_t i = 0; i < r.currencies_.size(); ++i) {
      if (r.currencies_[i].name == name) return i;
    }
    r.currencies_.push_back(Currency{std::string(name), min_scale});
    return r.currencies_.size() - 1;
  };
  // Pass 1: the scale of each quote currency covers every instrument quoted in it.
  for (const auto& ins : instruments.all()) {
    Currency& c = r.currencies_[find_or_add(ins.quote)];
    const unsigned need = unsigned{ins.tick_size.scale} + ins.lot_size.scale;
    if (need > core::Decimal::max_scale) {
      out.error = CashRulesError::scale_too_large;
      out.detail = ins.symbol;
      return out;
    }
    c.scale = std::max<std::uint8_t>(c.scale, static_cast<std::uint8_t>(need));
  }
  for (const auto& x : extra) {
    Currency& c = r.currencies_[find_or_add(x.name)];
    c.scale = std::max(c.scale, std::min<std::uint8_t>(x.scale, core::Decimal::max_scale));
  }
  if (r.currencies_.size() > std::numeric_limits<CurrencyId>::max()) {
    out.error = CashRulesError::too_many_currencies;
    return out;
  }
  // Pass 2: per-instrument multiplier from (tick × lot) to cash units.
  for (const auto& ins : instruments.all()) {
    const auto cid = static_cast<CurrencyId>(find_or_add(ins.quote));
    const unsigned shift = r.currencies_[cid].scale - ins.tick_size.scale - ins.lot_size.scale;
    const __int128 unit = __int128{ins.tick_size.units} * ins.lot_size.units * pow10(shift);
    if (unit <= 0 || unit > int64_max) {
      out.error = CashRulesError::unit_overflow;
      out.detail = ins.symbol;
      return out;
    }
    r.instruments_.push_back(InstrumentCash{cid, static_cast<std::int64_t>(unit), ins.lot_size});
  }
  return out;
}

std::optional<CurrencyId> CashRules::find_currency(std::string_view name) const noexcept {
  for (std::size_t i = 0; i < currencies_.size(); ++i) {
    if (currencies_[i].name == name) return static_cast<CurrencyId>(i);
  }
  return std::nullopt;
}

core::Decimal average_price(CashUnits cost, core::Lots qty, const InstrumentCash& ic,
                            std::uint8_t currency_scale) noexcept {
  if (qty == 0) return core::Decimal{0, currency_scale};
  // price per base unit = cost / 10^scale / (qty × lot) ; keep `scale` digits.
  __int128 num = __int128{cost} * pow10(ic.lot_size.scale);
  __int128 den = __int128{qty} * ic.lot_size.units;
  if (den < 0) { num = -num; den = -den; }
  __int128 q = num / den;
  const __int128 rem = num % den;
  if (2 * (rem < 0 ? -rem : rem) >= den) q += (num < 0 ? -1 : 1);
  if (q > int64_max || q < int64_min) return core::Decimal{0, currency_scale};
  return core::Decimal{static_cast<std::int64_t>(q), currency_scale};
}

}  // namespace tradeshard::ledger

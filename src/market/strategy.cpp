#include "tradeshard/market/strategy.hpp"

#include <algorithm>

namespace tradeshard::market {

namespace {

// a * b < c * d without overflow for any int64 inputs.
bool product_less(std::int64_t a, std::int64_t b, std::int64_t c, std::int64_t d) noexcept {
  __extension__ using Wide = __int128;
  return static_cast<Wide>(a) * b < static_cast<Wide>(c) * d;
}

std::optional<Decision> spread_signal(const StrategyConfig& c, const Quote& q) noexcept {
  if (!product_less(q.ask - q.bid, 10'000, q.bid, c.max_spread_bps)) return std::nullopt;
  const Scaled size = std::min(q.bid_size, c.size);
  // An empty bid cannot back a buy of any size: a zero-size signal would only be noise.
  if (size <= 0) return std::nullopt;
  return Decision{core::Side::buy, q.ask, size};
}

std::optional<Decision> imbalance_signal(const StrategyConfig& c, const Quote& q) noexcept {
  if (product_less(q.ask_size, c.ratio_num, q.bid_size, c.ratio_den)) {
    return Decision{core::Side::buy, q.ask, c.size};
  }
  if (product_less(q.bid_size, c.ratio_num, q.ask_size, c.ratio_den)) {
    return Decision{core::Side::sell, q.bid, c.size};
  }
  return std::nullopt;
}

}  // namespace

std::string_view to_string(StrategyKind k) noexcept {
  return k == StrategyKind::spread ? "spread" : "imbalance";
}

std::optional<StrategyKind> parse_strategy_kind(std::string_view s) noexcept {
  for (auto k : all_strategy_kinds) {
    if (to_string(k) == s) return k;
  }
  return std::nullopt;
}

std::string_view to_string(Trigger t) noexcept { return t == Trigger::edge ? "edge" : "every_tick"; }

std::optional<Trigger> parse_trigger(std::string_view s) noexcept {
  for (auto t : all_triggers) {
    if (to_string(t) == s) return t;
  }
  return std::nullopt;
}

std::string_view to_string(StrategyConfigError e) noexcept {
  switch (e) {
    case StrategyConfigError::ok: return "ok";
    case StrategyConfigError::bad_threshold: return "bad_threshold";
    case StrategyConfigError::bad_ratio: return "bad_ratio";
    case StrategyConfigError::bad_size: return "bad_size";
    case StrategyConfigError::bad_cooldown: return "bad_cooldown";
  }
  return "ok";
}

StrategyConfigError validate(const StrategyConfig& c) noexcept {
  if (c.kind == StrategyKind::spread && c.max_spread_bps <= 0) return StrategyConfigError::bad_threshold;
  // A ratio below 1 would make buy and sell hold at once.
  if (c.kind == StrategyKind::imbalance && (c.ratio_den <= 0 || c.ratio_num < c.ratio_den)) {
    return StrategyConfigError::bad_ratio;
  }
  if (c.size <= 0) return StrategyConfigError::bad_size;
  if (c.cooldown_ms < 0) return StrategyConfigError::bad_cooldown;
  return StrategyConfigError::ok;
}

std::vector<StrategyConfig> default_strategies() {
  StrategyConfig spread;
  spread.kind = StrategyKind::spread;
  StrategyConfig imbalance;
  imbalance.kind = StrategyKind::imbalance;
  imbalance.size = 10'000LL * 100'000'000LL;
  return {spread, imbalance};
}

std::optional<Decision> evaluate(const StrategyConfig& c, const Quote& q) noexcept {
  return c.kind == StrategyKind::spread ? spread_signal(c, q) : imbalance_signal(c, q);
}

}  // namespace tradeshard::market

#pragma once
// Signal strategies evaluated on one quote. Thresholds are exact integer comparisons on the 1e-8
// fixed-point values (products in 128 bits), never doubles. Pure functions; the per-symbol
// trigger memory lives in SymbolState.
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "tradeshard/core/types.hpp"
#include "tradeshard/market/quote.hpp"

namespace tradeshard::market {

enum class StrategyKind : std::uint8_t { spread, imbalance };
inline constexpr StrategyKind all_strategy_kinds[] = {StrategyKind::spread, StrategyKind::imbalance};
[[nodiscard]] std::string_view to_string(StrategyKind k) noexcept;  // static storage
[[nodiscard]] std::optional<StrategyKind> parse_strategy_kind(std::string_view s) noexcept;

// edge: emit when the strategy's answer changes to buy or sell (a steady condition emits once).
// every_tick: emit on every tick the condition holds (the seed lesson's behaviour).
enum class Trigger : std::uint8_t { edge, every_tick };
inline constexpr Trigger all_triggers[] = {Trigger::edge, Trigger::every_tick};
[[nodiscard]] std::string_view to_string(Trigger t) noexcept;
[[nodiscard]] std::optional<Trigger> parse_trigger(std::string_view s) noexcept;

struct StrategyConfig {
  StrategyKind kind = StrategyKind::spread;
  // spread: buy at the ask when (ask - bid) * 10000 < bid * max_spread_bps (seed: 1 bp = 0.0001).
  std::int64_t max_spread_bps = 1;
  // imbalance: buy at the ask when bid_size * ratio_den > ask_size * ratio_num, sell at the bid on
  // the reverse (seed: 1.5 = 3/2).
  std::int64_t ratio_num = 3;
  std::int64_t ratio_den = 2;
  // spread: min(bid_size, size) (seed: 1.0); imbalance: size (seed: 10000.0). At 1e-8.
  Scaled size = 100'000'000;
  Trigger trigger = Trigger::edge;
  std::int64_t cooldown_ms = 0;  // min ms between two emitted signals of one side; 0 = off
};

enum class StrategyConfigError : std::uint8_t { ok, bad_threshold, bad_ratio, bad_size, bad_cooldown };
[[nodiscard]] std::string_view to_string(StrategyConfigError e) noexcept;
[[nodiscard]] StrategyConfigError validate(const StrategyConfig& c) noexcept;

// The seed's two: spread (1 bp, size min(bid_size, 1)) and imbalance (1.5x, size 10000).
[[nodiscard]] std::vector<StrategyConfig> default_strategies();

struct Decision {
  core::Side side = core::Side::buy;
  Scaled price = 0;
  Scaled size = 0;
};

// nullopt = no signal on this quote. The quote must be valid (see market::validate).
[[nodiscard]] std::optional<Decision> evaluate(const StrategyConfig& c, const Quote& q) noexcept;

}  // namespace tradeshard::market

#pragma once
// Exact decimal numbers for the wire <-> fixed-point boundary. Never goes through double.
#include <cstdint>
#include <string>
#include <string_view>

namespace tradeshard::core {

// value = units * 10^-scale. Trailing fractional zeros are stripped on parse, so "1.500" and
// "1.5" compare equal field by field.
struct Decimal {
  std::int64_t units = 0;
  std::uint8_t scale = 0;  // digits after the point, at most max_scale
  static constexpr std::uint8_t max_scale = 18;
  friend bool operator==(const Decimal&, const Decimal&) = default;
};

enum class DecimalError : std::uint8_t { ok, empty, bad_syntax, too_precise, overflow };
std::string_view to_string(DecimalError e) noexcept;

struct DecimalParse {
  Decimal value;
  DecimalError error = DecimalError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == DecimalError::ok; }
};

// Accepts JSON number syntax and plain decimal strings: "-12.5", "0.00001", "1e-5", "25.35190000".
[[nodiscard]] DecimalParse parse_decimal(std::string_view text) noexcept;

enum class StepError : std::uint8_t { ok, not_multiple, overflow, bad_step };

struct StepResult {
  std::int64_t steps = 0;
  StepError error = StepError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == StepError::ok; }
};

// value / step when that is an exact integer (e.g. price 50000.10 with tick 0.01 -> 5000010).
[[nodiscard]] StepResult to_steps(Decimal value, Decimal step) noexcept;
// value / step rounded half away from zero: for market data, which is never rejected for grid.
[[nodiscard]] StepResult to_steps_rounded(Decimal value, Decimal step) noexcept;

// steps * step, printed with exactly step.scale fractional digits ("100.00", "0.50000", "1").
[[nodiscard]] std::string format_steps(std::int64_t steps, Decimal step);
// Appends the same text to out (hot path: no allocation when out has capacity).
void append_steps(std::string& out, std::int64_t steps, Decimal step);
[[nodiscard]] std::string to_string(Decimal d);

// Market-data prices and sizes are kept at this fixed scale (1e-8, Binance's precision).
inline constexpr Decimal market_data_step{1, 8};

}  // namespace tradeshard::core

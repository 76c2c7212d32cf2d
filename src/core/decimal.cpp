#include "tradeshard/core/decimal.hpp"

#include <array>
#include <cstdlib>
#include <limits>

namespace tradeshard::core {
namespace {

constexpr std::array<std::int64_t, 19> kPow10 = {
    1LL, 10LL, 100LL, 1000LL, 10000LL, 100000LL, 1000000LL, 10000000LL, 100000000LL,
    1000000000LL, 10000000000LL, 100000000000LL, 1000000000000LL, 10000000000000LL,
    100000000000000LL, 1000000000000000LL, 10000000000000000LL, 100000000000000000LL,
    1000000000000000000LL};

constexpr __int128 kMax = static_cast<__int128>(INT64_MAX);

bool is_digit(char c) noexcept { return c >= '0' && c <= '9'; }

// Scales value (units at `from` digits) up to `to` digits; false on overflow.
bool rescale(__int128& v, int from, int to) noexcept {
  for (int i = from; i < to; ++i) {
    v *= 10;
    if (v > kMax || v < -kMax) return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(DecimalError e) noexcept {
  switch (e) {
    case DecimalError::ok: return "ok";
    case DecimalError::empty: return "empty number";
    case DecimalError::bad_syntax: return "not a decimal number";
    case DecimalError::too_precise: return "more than 18 fractional digits";
    case DecimalError::overflow: return "number out of range";
  }
  return "?";
}

DecimalParse parse_decimal(std::string_view s) noexcept {
  if (s.empty()) return {{}, DecimalError::empty};
  std::size_t i = 0;
  bool neg = false;
  if (s[0] == '-' || s[0] == '+') {
    neg = s[0] == '-';
    ++i;
  }
  // 64-bit accumulation: the hot path (market data, orders) never needs 128-bit arithmetic.
  std::uint64_t units = 0;
  int scale = 0;
  int digits = 0;
  bool seen_dot = false;
  constexpr std::uint64_t kLimit = static_cast<std::uint64_t>(INT64_MAX);
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (is_digit(c)) {
      ++digits;
      const auto d = static_cast<std::uint64_t>(c - '0');
      if (units > (kLimit - d) / 10) return {{}, DecimalError::overflow};  // exact, no wrap
      units = units * 10 + d;
      if (seen_dot) ++scale;
    } else if (c == '.' && !seen_dot) {
      seen_dot = true;
    } else {
      break;
    }
  }
  if (digits == 0) return {{}, DecimalError::bad_syntax};
  if (i < s.size()) {
    // Exponent part, as JSON allows: 1e-5, 2.5E+3.
    if (s[i] != 'e' && s[i] != 'E') return {{}, DecimalError::bad_syntax};
    ++i;
    bool eneg = false;
    if (i < s.size() && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    if (i >= s.size()) return {{}, DecimalError::bad_syntax};
    int exp = 0;
    for (; i < s.size(); ++i) {
      if (!is_digit(s[i])) return {{}, DecimalError::bad_syntax};
      exp = exp * 10 + (s[i] - '0');
      if (exp > 400) return {{}, DecimalError::overflow};
    }
    if (eneg) {
      scale += exp;
    } else {
      // Shift the point right: consume fractional digits first, then multiply.
      while (exp > 0 && scale > 0) { --scale; --exp; }
      while (exp-- > 0) {
        if (units > kLimit / 10) return {{}, DecimalError::overflow};
        units *= 10;
      }
    }
  }
  // Strip trailing fractional zeros so the scale is minimal.
  while (scale > 0 && units % 10 == 0) {
    units /= 10;
    --scale;
  }
  if (units == 0) scale = 0;
  if (scale > Decimal::max_scale) return {{}, DecimalError::too_precise};
  const auto v = static_cast<std::int64_t>(units);
  return {{neg ? -v : v, static_cast<std::uint8_t>(scale)}, DecimalError::ok};
}

namespace {
StepResult divide_wide(Decimal v, Decimal step, bool round) noexcept {
  const int s = v.scale > step.scale ? v.scale : step.scale;
  __int128 a = v.units;
  __int128 b = step.units;
  if (!rescale(a, v.scale, s) || !rescale(b, step.scale, s)) return {0, StepError::overflow};
  __int128 q = a / b;
  const __int128 rem = a % b;
  if (rem != 0) {
    if (!round) return {0, StepError::not_multiple};
    const __int128 twice = (rem < 0 ? -rem : rem) * 2;
    if (twice >= b) q += (a < 0 ? -1 : 1);
  }
  if (q > kMax || q < -kMax) return {0, StepError::overflow};
  return {static_cast<std::int64_t>(q), StepError::ok};
}

StepResult divide(Decimal v, Decimal step, bool round) noexcept {
  if (step.units <= 0 || step.scale > Decimal::max_scale) return {0, StepError::bad_step};
  const int s = v.scale > step.scale ? v.scale : step.scale;
  std::int64_t a = 0, b = 0;
  // Both at the common scale in 64 bits; 128 bits only when that would overflow.
  if (__builtin_mul_overflow(v.units, kPow10[static_cast<std::size_t>(s - v.scale)], &a) ||
      __builtin_mul_overflow(step.units, kPow10[static_cast<std::size_t>(s - step.scale)], &b)) {
    return divide_wide(v, step, round);
  }
  if (b == 1) return {a, StepError::ok};  // e.g. 1e-8 market data, or a price as fine as its tick
  std::int64_t q = a / b;
  const std::int64_t rem = a % b;
  if (rem != 0) {
    if (!round) return {0, StepError::not_multiple};
    if ((rem < 0 ? -rem : rem) >= b - (rem < 0 ? -rem : rem)) q += (a < 0 ? -1 : 1);
  }
  return {q, StepError::ok};
}
}  // namespace

StepResult to_steps(Decimal value, Decimal step) noexcept { return divide(value, step, false); }
StepResult to_steps_rounded(Decimal value, Decimal step) noexcept {
  return divide(value, step, true);
}

void append_steps(std::string& out, std::int64_t steps, Decimal step) {
  // units at step.scale; multiplication in 128 bits cannot overflow for int64 operands.
  const __int128 v = static_cast<__int128>(steps) * step.units;
  const bool negative = v < 0;
  unsigned __int128 u = negative ? -static_cast<unsigned __int128>(v) : static_cast<unsigned __int128>(v);
  // Written backwards into buf, then appended once: at least scale+1 digits, the point before the
  // last `scale` of them.
  char buf[48];
  char* const end = buf + sizeof buf;
  char* p = end;
  const int scale = step.scale;
  int digits = 0;
  auto put = [&](unsigned d) {
    if (digits == scale && scale > 0) *--p = '.';
    *--p = static_cast<char>('0' + d);
    ++digits;
  };
  // 64-bit division is a few cycles; 128-bit division is a library call: use it only when needed.
  while (u > std::numeric_limits<std::uint64_t>::max()) {
    put(static_cast<unsigned>(u % 10));
    u /= 10;
  }
  auto x = static_cast<std::uint64_t>(u);
  do {
    put(static_cast<unsigned>(x % 10));
    x /= 10;
  } while (x != 0 || digits <= scale);
  if (negative) *--p = '-';
  out.append(p, static_cast<std::size_t>(end - p));
}

std::string format_steps(std::int64_t steps, Decimal step) {
  std::string out;
  append_steps(out, steps, step);
  return out;
}

std::string to_string(Decimal d) { return format_steps(d.units, Decimal{1, d.scale}); }

}  // namespace tradeshard::core

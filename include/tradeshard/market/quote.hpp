#pragma once
// Top-of-book quote as the processors see it: prices and sizes are int64 at the market-data scale
// (core::market_data_step = 1e-8), already converted at the edge.
#include <cstdint>
#include <string_view>

namespace tradeshard::market {

// Same dense id as partition::SymbolId (interned by the SymbolMap); kept local so the market module
// does not depend on the partition module.
using SymbolId = std::uint32_t;
using NodeIndex = std::uint32_t;
using Scaled = std::int64_t;  // value / 1e-8

struct Quote {
  Scaled bid = 0;
  Scaled ask = 0;
  Scaled bid_size = 0;
  Scaled ask_size = 0;
  std::int64_t ts_ms = 0;  // exchange time; 0 = unknown (the caller's arrival time is used)
};

enum class QuoteError : std::uint8_t { ok, bad_price, bad_size, crossed, bad_ts };
[[nodiscard]] constexpr std::string_view to_string(QuoteError e) noexcept {
  switch (e) {
    case QuoteError::ok: return "ok";
    case QuoteError::bad_price: return "bad_price";
    case QuoteError::bad_size: return "bad_size";
    case QuoteError::crossed: return "crossed";
    case QuoteError::bad_ts: return "bad_ts";
  }
  return "ok";
}

// Prices must be positive, sizes non-negative, ask >= bid (a locked book is allowed), ts >= 0.
[[nodiscard]] constexpr QuoteError validate(const Quote& q) noexcept {
  if (q.bid <= 0 || q.ask <= 0) return QuoteError::bad_price;
  if (q.bid_size < 0 || q.ask_size < 0) return QuoteError::bad_size;
  if (q.ask < q.bid) return QuoteError::crossed;
  if (q.ts_ms < 0) return QuoteError::bad_ts;
  return QuoteError::ok;
}

// Mid price rounded toward the bid; never overflows for valid quotes.
[[nodiscard]] constexpr Scaled mid_of(const Quote& q) noexcept { return q.bid + (q.ask - q.bid) / 2; }

}  // namespace tradeshard::market

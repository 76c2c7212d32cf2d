#pragma once
// Vocabulary of the matching engine: commands in, events out, reasons. Standard library only.
#include <cstdint>
#include <string_view>

#include "tradeshard/core/types.hpp"

namespace tradeshard::book {

using core::InstrumentId;
using core::Lots;
using core::Side;
using core::Ticks;

// Chosen by the caller (the Gateway maps client ids to keys); unique per engine while live.
using OrderKey = std::uint64_t;
using AccountId = std::uint32_t;

enum class OrderType : std::uint8_t { limit, market };
// Market orders never rest: their remainder always expires (fok keeps its all-or-none meaning).
enum class TimeInForce : std::uint8_t { gtc, ioc, fok };

struct NewOrder {
  OrderKey key = 0;
  AccountId account = 0;
  InstrumentId instrument = 0;
  Side side = Side::buy;
  OrderType type = OrderType::limit;
  TimeInForce tif = TimeInForce::gtc;
  Ticks price = 0;  // ignored for market orders
  Lots qty = 0;
};

// Self-trade prevention when an incoming order meets a resting order of the same account.
enum class StpMode : std::uint8_t { cancel_incoming, cancel_resting, off };
inline constexpr StpMode all_stp_modes[] = {StpMode::cancel_incoming, StpMode::cancel_resting, StpMode::off};

enum class RejectReason : std::uint8_t {
  ok,                 // not a rejection: command applied
  unknown_instrument, // instrument id outside the InstrumentTable
  bad_qty,            // qty <= 0
  qty_out_of_range,   // outside the instrument's [min_qty, max_qty]
  bad_price,          // limit price <= 0
  price_out_of_band,  // beyond the instrument's price_band_bps around the reference
  duplicate_key,      // key already live in this engine
  unknown_order,      // cancel/replace of a key that is not live
  not_owner,          // cancel/replace by another account
  no_liquidity,       // market order while the opposite side is empty
};

enum class DoneReason : std::uint8_t {
  filled,     // leaves reached zero through trades
  cancelled,  // cancel, cancel_all, or replace down to the filled quantity
  expired,    // IOC/market remainder, FOK that could not fill completely
  self_trade, // removed by self-trade prevention
};

enum class Liquidity : std::uint8_t { maker, taker };

[[nodiscard]] std::string_view to_string(OrderType t) noexcept;
[[nodiscard]] std::string_view to_string(TimeInForce t) noexcept;
[[nodiscard]] std::string_view to_string(StpMode m) noexcept;
[[nodiscard]] std::string_view to_string(RejectReason r) noexcept;
[[nodiscard]] std::string_view to_string(DoneReason r) noexcept;
[[nodiscard]] std::string_view to_string(Liquidity l) noexcept;

}  // namespace tradeshard::book

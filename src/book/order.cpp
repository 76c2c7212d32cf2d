#include "tradeshard/book/order.hpp"

namespace tradeshard::book {

std::string_view to_string(OrderType t) noexcept {
  return t == OrderType::limit ? "limit" : "market";
}

std::string_view to_string(TimeInForce t) noexcept {
  switch (t) {
    case TimeInForce::gtc: return "gtc";
    case TimeInForce::ioc: return "ioc";
    case TimeInForce::fok: return "fok";
  }
  return "gtc";
}

std::string_view to_string(StpMode m) noexcept {
  switch (m) {
    case StpMode::cancel_incoming: return "cancel_incoming";
    case StpMode::cancel_resting: return "cancel_resting";
    case StpMode::off: return "off";
  }
  return "off";
}

std::string_view to_string(RejectReason r) noexcept {
  switch (r) {
    case RejectReason::ok: return "ok";
    case RejectReason::unknown_instrument: return "unknown_symbol";
    case RejectReason::bad_qty: return "bad_qty";
    case RejectReason::qty_out_of_range: return "qty_out_of_range";
    case RejectReason::bad_price: return "bad_price";
    case RejectReason::price_out_of_band: return "price_out_of_band";
    case RejectReason::duplicate_key: return "duplicate_id";
    case RejectReason::unknown_order: return "unknown_order";
    case RejectReason::not_owner: return "not_owner";
    case RejectReason::no_liquidity: return "no_liquidity";
  }
  return "unknown";
}

std::string_view to_string(DoneReason r) noexcept {
  switch (r) {
    case DoneReason::filled: return "filled";
    case DoneReason::cancelled: return "cancelled";
    case DoneReason::expired: return "expired";
    case DoneReason::self_trade: return "self_trade";
  }
  return "unknown";
}

std::string_view to_string(Liquidity l) noexcept {
  return l == Liquidity::maker ? "maker" : "taker";
}

}  // namespace tradeshard::book

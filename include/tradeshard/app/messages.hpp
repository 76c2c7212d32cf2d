#pragma once
// Wire-level commands (decoded at the edge) and outbound messages (encoded at the edge).
// string_views point into buffers owned by the caller: valid only during the call that carries them.
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "tradeshard/core/decimal.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/core/types.hpp"

namespace tradeshard::app {

enum class OrderKind : std::uint8_t { limit, market };
enum class Tif : std::uint8_t { gtc, ioc, fok };

struct OrderCmd {
  std::string_view id, account, symbol;
  core::Side side = core::Side::buy;
  OrderKind kind = OrderKind::limit;
  Tif tif = Tif::gtc;
  core::Priority priority = core::Priority::normal;
  bool has_price = false;
  core::Decimal price;
  core::Decimal qty;
};
struct CancelCmd {
  std::string_view id, symbol, account;
};
struct ReplaceCmd {
  std::string_view id, account;
  bool has_price = false, has_qty = false;
  core::Decimal price, qty;
};
struct CancelAllCmd {
  std::string_view symbol, account;  // empty = all symbols / the connection's account
};
// Market data at core::market_data_step (1e-8); ts_ms = 0 when the feed gave none.
struct TickCmd {
  std::string_view symbol;
  std::int64_t bid = 0, ask = 0, bid_size = 0, ask_size = 0;
  std::int64_t ts_ms = 0;
  std::uint64_t update_id = 0;  // Binance "u"; 0 = none
};
struct PingCmd {};
struct SubscribeCmd {
  bool subscribe = true;
  const std::vector<std::string_view>* channels = nullptr;
};
struct LoginCmd {
  std::string_view api_key;
};

using Command = std::variant<OrderCmd, CancelCmd, ReplaceCmd, CancelAllCmd, TickCmd, PingCmd, SubscribeCmd, LoginCmd>;

// Why a message could not be decoded. Names are the wire's `error` / `reason` strings.
enum class WireError : std::uint8_t { bad_json, unknown_type, missing_field, bad_field, too_large, rate_limited,
                                      not_logged_in };
constexpr std::string_view to_string(WireError e) noexcept {
  constexpr std::string_view names[] = {"bad_json",  "unknown_type", "missing_field", "bad_field",
                                        "too_large", "rate_limited", "not_logged_in"};
  return names[static_cast<int>(e)];
}

struct DecodeError {
  WireError code = WireError::bad_json;
  std::string_view message;  // static text or decoder-owned
  std::string_view type;     // "order", "cancel", ... when known
  std::string_view id;       // the order id when known: the reply is then a reject for it
};

// ---- outbound ----
struct AckOut { std::string_view id, worker; };
struct RejectOut { std::string_view id, reason, message; };
struct FillOut {
  std::string_view id;
  std::uint64_t trade_id = 0;
  const core::Instrument* instrument = nullptr;
  core::Side side = core::Side::buy;
  core::Ticks price = 0;
  core::Lots qty = 0, remaining = 0;
  bool maker = false;
};
struct DoneOut { std::string_view id, reason; };
struct ReplacedOut {
  std::string_view id;
  const core::Instrument* instrument = nullptr;
  core::Ticks price = 0;
  core::Lots qty = 0;
};
struct ErrorOut { std::string_view error, message; };
struct PongOut {};
struct SubscribedOut { bool subscribe = true; const std::vector<std::string_view>* channels = nullptr; };
struct LoginOut { std::string_view account; };
struct SignalOut {
  std::string_view symbol, strategy, node;
  core::Side side = core::Side::buy;
  std::int64_t price = 0, size = 0;  // market-data scale
  std::int64_t ts_ms = 0;
};
struct QuoteOut {
  std::string_view symbol;
  std::int64_t bid = 0, ask = 0, bid_size = 0, ask_size = 0, ts_ms = 0;
};
struct BarOut {
  std::string_view symbol, interval;
  std::int64_t start_ms = 0, open = 0, high = 0, low = 0, close = 0;  // market-data scale
  std::uint64_t ticks = 0;
};
struct TradeOut {
  const core::Instrument* instrument = nullptr;
  std::uint64_t trade_id = 0;
  core::Side aggressor = core::Side::buy;
  core::Ticks price = 0;
  core::Lots qty = 0;
  std::string_view worker;
};
struct DepthLevel { core::Ticks price = 0; core::Lots qty = 0; std::uint32_t orders = 0; };
struct DepthOut {
  const core::Instrument* instrument = nullptr;
  std::string_view worker;
  const std::vector<DepthLevel>* bids = nullptr;
  const std::vector<DepthLevel>* asks = nullptr;
};

// The `stats` channel's periodic snapshot (the dashboard): an already rendered JSON object.
struct StatsOut { std::string_view json; };

using Outbound = std::variant<AckOut, RejectOut, FillOut, DoneOut, ReplacedOut, ErrorOut, PongOut, SubscribedOut,
                              LoginOut, SignalOut, QuoteOut, BarOut, TradeOut, DepthOut, StatsOut>;

// A client connection as the Gateway sees it. Implemented at the edge (TCP, WebSocket); send()
// encodes and queues at once, so the message's views need only live for the call. The Gateway
// calls these while it iterates its own state (a channel's subscribers, a command's handling):
// an implementation must not call Gateway::close() from inside them (net/session_base.hpp posts
// its close instead). Should one do so anyway, the Gateway defers that close until the delivery
// in progress has returned.
class ClientPort {
 public:
  virtual ~ClientPort() = default;
  // Queues the message; it reaches the socket only after the handler that sent it has returned
  // to the loop (never inside this call): the Gateway's release point runs first.
  virtual void send(const Outbound& message) = 0;
  // Drops everything queued and not yet being written, and closes (deferred, as any close from
  // inside a Gateway call): used when the turn's ledger write failed.
  virtual void abandon(std::string_view /*reason*/) {}
  // Stop reading this client's input until resume_reading (tick back-pressure).
  virtual void pause_reading() {}
  virtual void resume_reading() {}
};

}  // namespace tradeshard::app

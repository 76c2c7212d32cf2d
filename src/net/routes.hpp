#pragma once
// Route groups added to the HTTP API by component.
namespace tradeshard::app {
class Gateway;
}
namespace tradeshard::history {
class HistoryService;
}

#include <string_view>

namespace tradeshard::net {
class HttpApi;
struct HttpRequest;
struct HttpResponse;
void add_order_routes(HttpApi& api, app::Gateway& gateway);
void add_tick_routes(HttpApi& api, app::Gateway& gateway);
void add_ledger_routes(HttpApi& api, app::Gateway& gateway);
void add_history_routes(HttpApi& api, app::Gateway& gateway);
// Puts the history behind its routes, /stats "history", /health and /metrics.
void attach_history(HttpApi& api, history::HistoryService& history);
// GET /bars/{symbol} with from/to, or interval 1h/1d: answered from the history.
HttpResponse history_bars(HttpApi& api, app::Gateway& gateway, const HttpRequest& req, std::string_view symbol);
}  // namespace tradeshard::net

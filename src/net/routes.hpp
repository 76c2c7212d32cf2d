#pragma once
// Route groups added to the HTTP API by component.
namespace tradeshard::app {
class Gateway;
}

namespace tradeshard::net {
class HttpApi;
void add_order_routes(HttpApi& api, app::Gateway& gateway);
void add_tick_routes(HttpApi& api, app::Gateway& gateway);
void add_ledger_routes(HttpApi& api, app::Gateway& gateway);
}  // namespace tradeshard::net

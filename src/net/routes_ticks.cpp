// HTTP views and admin actions of the tick path: partitions, processing nodes, bars.
#include "http_api.hpp"
#include "routes.hpp"
#include "views.hpp"
#include "tradeshard/app/gateway.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {

HttpResponse plan_reply(const app::TickFlow::PlanOutcome& r, const partition::SymbolMap& map) {
  if (!r.error.empty()) return HttpApi::error(r.error == "unknown_node" ? 404 : 400, r.error, "plan refused");
  return HttpApi::reply(200, {{"ok", true}, {"plan", views::plan(r.plan, map)}});
}

}  // namespace

void add_tick_routes(HttpApi& api, app::Gateway& g) {
  api.route("GET", "/partitions", false, [&g](const HttpRequest&, const HttpApi::Params&) {
    return HttpApi::reply(200, views::partitions(g.ticks()));
  });
  api.route("GET", "/processors", false, [&g](const HttpRequest&, const HttpApi::Params&) {
    return HttpApi::reply(200, views::processors(g.ticks()));
  });
  api.route("GET", "/bars/{}", false, [&g, &api](const HttpRequest& req, const HttpApi::Params& p) {
    const auto interval = HttpApi::query_param(req.query, "interval");
    if (!HttpApi::query_param(req.query, "from").empty() || !HttpApi::query_param(req.query, "to").empty() ||
        !HttpApi::query_param(req.query, "limit").empty() || interval == "1h" || interval == "1d") {
      return history_bars(api, g, req, p[0]);
    }
    if (!interval.empty() && interval != "1s" && interval != "1m") {
      return HttpApi::error(400, "bad_field", "interval must be 1s, 1m, 1h or 1d");
    }
    const auto iv = interval == "1m" ? market::Interval::m1 : market::Interval::s1;
    const auto bars = g.ticks().bars(p[0], iv);
    if (!bars) return HttpApi::error(404, "unknown_symbol", "no ticks seen for this symbol");
    return HttpApi::reply(200, views::bars(p[0], iv, *bars));
  });
  api.route("POST", "/admin/nodes", true, [&g](const HttpRequest& req, const HttpApi::Params&) {
    const json body = json::parse(req.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("id") || !body["id"].is_string()) {
      return HttpApi::error(400, "bad_field", "need {\"id\": string}");
    }
    return plan_reply(g.ticks().add_node(body["id"].get<std::string>()), g.ticks().map());
  });
  api.route("DELETE", "/admin/nodes/{}", true, [&g](const HttpRequest&, const HttpApi::Params& p) {
    return plan_reply(g.ticks().remove_node(std::string(p[0])), g.ticks().map());
  });
  api.route("POST", "/admin/rebalance", true, [&g](const HttpRequest&, const HttpApi::Params&) {
    return plan_reply(g.ticks().rebalance(), g.ticks().map());
  });
  api.add_stats_section("ticks", [&g, &api] { return views::tick_stats(g.ticks(), api.feeds_json()); });
  auto& m = api.metrics();
  const auto& s = g.ticks().stats();
  m.counter("tradeshard_ticks_total", "Ticks received.", [&s] { return static_cast<double>(s.ticks_in); });
  m.counter("tradeshard_signals_total", "Strategy signals emitted.", [&s] { return static_cast<double>(s.signals); });
  m.counter("tradeshard_ticks_rejected_total", "Ticks refused (invalid quote, symbol table full).",
            [&s] { return static_cast<double>(s.rejected); });
}

}  // namespace tradeshard::net

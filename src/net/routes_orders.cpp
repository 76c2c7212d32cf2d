// HTTP views and admin actions of the order path: workers, books, open orders, balancer.
#include <chrono>

#include <spdlog/spdlog.h>

#include "http_api.hpp"
#include "routes.hpp"
#include "views.hpp"
#include "tradeshard/app/gateway.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {

// Body fields for admin POSTs; nullopt (and the reply set) when the body is not a JSON object.
std::optional<json> body_object(const HttpRequest& req, HttpResponse& error) {
  if (req.body.empty()) return json::object();
  json j = json::parse(req.body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = HttpApi::error(400, "bad_json", "request body must be a JSON object");
    return std::nullopt;
  }
  return j;
}

HttpResponse result(const std::string& err, const char* what, std::string_view id) {
  if (err.empty()) return HttpApi::reply(200, {{"ok", true}, {"action", what}, {"worker", id}});
  const unsigned status = err == "unknown_worker" ? 404 : 400;
  return HttpApi::error(status, err, std::string(what) + " refused");
}

}  // namespace

void add_order_routes(HttpApi& api, app::Gateway& g) {
  api.route("GET", "/workers", false, [&g](const HttpRequest&, const HttpApi::Params&) {
    return HttpApi::reply(200, views::workers(g));
  });
  api.route("GET", "/book/{}", false, [&g](const HttpRequest& req, const HttpApi::Params& p) {
    const auto inst = g.instruments().find(p[0]);
    if (!inst) return HttpApi::error(404, "unknown_symbol", "no such instrument");
    std::size_t levels = 10;
    if (auto l = HttpApi::query_param(req.query, "levels"); !l.empty()) levels = std::clamp<std::size_t>(std::strtoul(l.c_str(), nullptr, 10), 1, 1000);
    return HttpApi::reply(200, views::book(g, *inst, levels));
  });
  api.route("GET", "/orders/{}", false, [&g](const HttpRequest&, const HttpApi::Params& p) {
    return HttpApi::reply(200, views::open_orders(g, p[0]));
  });
  api.route("POST", "/admin/workers", true, [&g](const HttpRequest& req, const HttpApi::Params&) {
    HttpResponse err;
    auto body = body_object(req, err);
    if (!body) return err;
    if (!body->contains("id") || !(*body)["id"].is_string() || !body->contains("capacity") ||
        !(*body)["capacity"].is_number_unsigned() || (*body)["capacity"].get<std::uint64_t>() == 0) {
      return HttpApi::error(400, "bad_field", "need {\"id\": string, \"capacity\": positive integer}");
    }
    app::WorkerConfig w;
    w.id = (*body)["id"].get<std::string>();
    w.capacity = (*body)["capacity"].get<std::uint32_t>();
    w.address = body->value("address", "inproc://" + w.id);
    if (body->contains("pool")) {
      return HttpApi::error(400, "bad_field", "\"pool\" was removed: priority is a lane of every worker's queue");
    }    if (body->contains("classes") && (*body)["classes"].is_array()) {
      for (const auto& c : (*body)["classes"]) if (c.is_string()) w.classes.push_back(c.get<std::string>());
    }
    return result(g.manage_orders([&](app::OrderFlow& f) { return f.add_worker(w); }), "add", w.id);
  });
  api.route("POST", "/admin/workers/{}/drain", true, [&g](const HttpRequest&, const HttpApi::Params& p) {
    const auto before = g.orders().stats().books_moved;
    const auto e = g.manage_orders([&](app::OrderFlow& f) { return f.drain_worker(p[0]); });
    if (e.empty()) {
      spdlog::get("http")->info("admin: worker {} draining; {} books moved off it", p[0],
                                g.orders().stats().books_moved - before);
    }
    return result(e, "drain", p[0]);
  });
  api.route("DELETE", "/admin/workers/{}", true, [&g](const HttpRequest&, const HttpApi::Params& p) {
    return result(g.manage_orders([&](app::OrderFlow& f) { return f.remove_worker(p[0]); }), "remove", p[0]);
  });
  api.route("POST", "/admin/workers/{}/health", true, [&g](const HttpRequest& req, const HttpApi::Params& p) {
    HttpResponse err;
    auto body = body_object(req, err);
    if (!body) return err;
    if (!body->contains("healthy") || !(*body)["healthy"].is_boolean()) {
      return HttpApi::error(400, "bad_field", "need {\"healthy\": true|false}");
    }
    const bool healthy = (*body)["healthy"].get<bool>();
    return result(g.manage_orders([&](app::OrderFlow& f) { return f.set_worker_health(p[0], healthy); }), "health",
                  p[0]);
  });
  api.route("POST", "/admin/books/{}/move", true, [&g](const HttpRequest& req, const HttpApi::Params& p) {
    HttpResponse err;
    auto body = body_object(req, err);
    if (!body) return err;
    if (!body->contains("to") || !(*body)["to"].is_string()) return HttpApi::error(400, "bad_field", "need {\"to\": worker id}");
    const std::string to = (*body)["to"].get<std::string>();
    const std::string symbol(p[0]);
    std::size_t moved = 0;
    const auto e = g.manage_orders([&](app::OrderFlow& f) { return f.move_book(symbol, to, moved); });
    if (!e.empty()) {
      const unsigned status = e == "unknown_symbol" || e == "unknown_worker" ? 404 : 409;
      return HttpApi::error(status, e, "book move refused");
    }
    spdlog::get("http")->info("admin: book {} moved to {} ({} live orders)", symbol, to, moved);
    return HttpApi::reply(200, {{"ok", true}, {"symbol", symbol}, {"to", to}, {"orders", moved}});
  });
  api.route("POST", "/admin/balancer/rebalance", true, [&g](const HttpRequest&, const HttpApi::Params&) {
    const auto now_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
    const auto r = g.manage_orders([&](app::OrderFlow& f) { return f.rebalance(now_ms); });
    json moves = json::array();
    for (const auto& m : r.moves) {
      spdlog::get("http")->info("admin: rebalance moved {} {} -> {} ({:.0f}/s, {} orders)", m.symbol, m.from, m.to, m.load,
                                m.orders);
      moves.push_back({{"symbol", m.symbol}, {"from", m.from}, {"to", m.to}, {"load", m.load}, {"orders", m.orders}});
    }
    return HttpApi::reply(200, {{"ok", true}, {"mean_load", r.mean}, {"before", r.before}, {"after", r.after},
                                {"moves", moves}});
  });
  api.route("POST", "/admin/balancer", true, [&g](const HttpRequest& req, const HttpApi::Params&) {
    HttpResponse err;
    auto body = body_object(req, err);
    if (!body) return err;
    if (!body->contains("strategy") || !(*body)["strategy"].is_string()) {
      return HttpApi::error(400, "bad_field", "need {\"strategy\": name}");
    }
    const auto name = (*body)["strategy"].get<std::string>();
    const auto e = g.manage_orders([&](app::OrderFlow& f) { return f.set_strategy(name); });
    if (!e.empty()) return HttpApi::error(400, "bad_field", e);
    return HttpApi::reply(200, {{"ok", true}, {"strategy", (*body)["strategy"]}});
  });
  api.add_stats_section("balancer", [&g] { return views::balancer_stats(g); });
  api.add_stats_section("matching", [&g] { return views::matching_stats(g); });
  auto& m = api.metrics();
  const auto& flow = g.orders();
  m.histogram("tradeshard_order_handling_seconds", "Order handling time from receive to ack.",
              [&flow]() -> const app::LatencyHistogram& { return flow.stats().order_to_ack; },
              {1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2, 0.1, 1.0});
  m.counter("tradeshard_orders_routed_total", "Orders routed to workers.",
            [&flow] { return static_cast<double>(flow.balancer().stats().orders_routed); });
  const auto& emitter = g.emitter();
  m.counter("tradeshard_trades_total", "Trades matched.", [&emitter] { return static_cast<double>(emitter.stats().trades); });
  m.gauge("tradeshard_worker_load", "Live orders per worker.", "worker", [&flow](const auto& emit) {
    for (const auto& w : flow.balancer().workers()) emit(w.id, static_cast<double>(w.current_load));
  });
}

}  // namespace tradeshard::net

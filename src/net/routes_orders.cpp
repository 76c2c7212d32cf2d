// HTTP views and admin actions of the order path: workers, books, open orders, balancer.
#include <spdlog/spdlog.h>

#include "http_api.hpp"
#include "routes.hpp"
#include "tradeshard/app/gateway.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {

json worker_json(const balance::WorkerView& w, const app::WorkerBook& book) {
  return {{"id", w.id},
          {"address", w.address},
          {"capacity", w.capacity},
          {"current_load", w.current_load},
          {"available_capacity", w.available_capacity},
          {"load_pct", w.load_pct},
          {"state", balance::to_string(w.state)},
          {"healthy", w.healthy},
          {"latency_us", w.latency_us},
          {"orders_routed", w.orders_routed},
          {"queued", book.queued},
          {"pool", w.pool.empty() ? "general" : w.pool},
          {"classes", w.classes}};
}

json levels_json(const std::vector<app::DepthLevel>& levels, const core::Instrument& in) {
  json out = json::array();
  for (const auto& l : levels) {
    out.push_back({{"price", core::format_steps(l.price, in.tick_size)},
                   {"qty", core::format_steps(l.qty, in.lot_size)},
                   {"orders", l.orders}});
  }
  return out;
}

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
    json list = json::array();
    const auto& flow = g.orders();
    const auto books = g.venue().books();  // by worker slot
    for (const auto& w : flow.balancer().workers()) list.push_back(worker_json(w, books.at(w.worker.value)));
    return HttpApi::reply(200, {{"workers", list}, {"strategy", balance::to_string(flow.balancer().strategy())}});
  });
  api.route("GET", "/book/{}", false, [&g](const HttpRequest& req, const HttpApi::Params& p) {
    const auto inst = g.instruments().find(p[0]);
    if (!inst) return HttpApi::error(404, "unknown_symbol", "no such instrument");
    const auto& in = g.instruments().at(*inst);
    std::size_t levels = 10;
    if (auto l = HttpApi::query_param(req.query, "levels"); !l.empty()) levels = std::clamp<std::size_t>(std::strtoul(l.c_str(), nullptr, 10), 1, 1000);
    json workers = json::array();
    for (const auto& d : g.venue().depth(*inst, levels)) {
      json entry = {{"worker", d.worker}, {"bids", levels_json(d.bids, in)}, {"asks", levels_json(d.asks, in)}};
      entry["best_bid"] = d.bids.empty() ? json(nullptr) : json(core::format_steps(d.bids[0].price, in.tick_size));
      entry["best_ask"] = d.asks.empty() ? json(nullptr) : json(core::format_steps(d.asks[0].price, in.tick_size));
      workers.push_back(std::move(entry));
    }
    return HttpApi::reply(200, {{"symbol", in.symbol}, {"workers", workers}});
  });
  api.route("GET", "/orders/{}", false, [&g](const HttpRequest&, const HttpApi::Params& p) {
    json list = json::array();
    for (const auto& o : g.orders().open_orders(p[0])) {
      const auto& in = g.instruments().at(*g.instruments().find(o.symbol));
      list.push_back({{"id", o.id}, {"symbol", o.symbol}, {"side", core::to_string(o.side)},
                      {"price", core::format_steps(o.price, in.tick_size)}, {"qty", core::format_steps(o.qty, in.lot_size)},
                      {"leaves", core::format_steps(o.leaves, in.lot_size)}, {"worker", o.worker},
                      {"state", o.queued ? "queued" : "resting"}});
    }
    return HttpApi::reply(200, {{"account", p[0]}, {"orders", list}});
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
    w.pool = body->value("pool", "");
    if (body->contains("classes") && (*body)["classes"].is_array()) {
      for (const auto& c : (*body)["classes"]) if (c.is_string()) w.classes.push_back(c.get<std::string>());
    }
    return result(g.manage_orders([&](app::OrderFlow& f) { return f.add_worker(w); }), "add", w.id);
  });
  api.route("POST", "/admin/workers/{}/drain", true, [&g](const HttpRequest&, const HttpApi::Params& p) {
    return result(g.manage_orders([&](app::OrderFlow& f) { return f.drain_worker(p[0]); }), "drain", p[0]);
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
  api.add_stats_section("balancer", [&g] {
    const auto s = g.orders().balancer().stats();
    json rejects = json::object();
    for (std::size_t i = 1; i < s.rejects.size(); ++i) {
      rejects[std::string(balance::to_string(static_cast<balance::RouteError>(i)))] = s.rejects[i];
    }
    return json{{"strategy", balance::to_string(s.strategy)}, {"workers", s.workers},
                {"total_capacity", s.total_capacity}, {"total_load", s.total_load},
                {"utilization_pct", s.utilization_pct}, {"orders_routed", s.orders_routed},
                {"imbalance_ratio", s.imbalance}, {"vip_fallbacks", s.vip_fallbacks}, {"rejects", rejects}};
  });
  api.add_stats_section("matching", [&g] {
    const auto& f = g.orders().stats();
    const auto& e = g.emitter().stats();
    json per_worker = json::object();
    std::uint64_t resting = 0;
    for (const auto& b : g.venue().books()) {
      resting += b.resting_orders;
      per_worker[std::string(b.worker)] = {{"orders", b.orders_received}, {"trades", b.trades},
                                           {"volume_lots", b.volume_lots}, {"resting_orders", b.resting_orders},
                                           {"queued", b.queued}};
    }
    return json{{"orders", f.orders_in}, {"acks", e.acks}, {"trades", e.trades}, {"volume_lots", e.volume_lots},
                {"fills", e.fills}, {"resting_orders", resting}, {"live_orders", g.orders().live_orders()},
                {"held_for_ledger", e.held_events}, {"queued_peak", g.venue().stats().queued_peak},
                {"order_to_ack_us", {{"p50", f.order_to_ack.percentile_ns(0.5) / 1000.0},
                                     {"p99", f.order_to_ack.percentile_ns(0.99) / 1000.0},
                                     {"max", f.order_to_ack.max_ns() / 1000.0}}},
                {"workers", per_worker}};
  });
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

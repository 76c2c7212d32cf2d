// HTTP views and admin actions of the tick path: partitions, processing nodes, bars.
#include "feed_client.hpp"
#include "http_api.hpp"
#include "routes.hpp"
#include "tradeshard/app/gateway.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {

std::string md(std::int64_t v) {
  std::string s;
  protocol::append_md(s, v);
  return s;
}

json stats_json(const partition::PartitionStats& s) {
  return {{"partition_count", s.partition_count}, {"total_items", s.total_items}, {"min", s.min_items},
          {"max", s.max_items}, {"average", s.avg_items}, {"imbalance_ratio", s.imbalance_ratio},
          {"max_over_avg", s.max_over_avg}, {"std_deviation", s.std_deviation},
          {"empty_partitions", s.empty_partitions}};
}

json plan_json(const partition::MovePlan& p, const partition::SymbolMap& map) {
  json moves = json::array();
  for (const auto& m : p.moves) {
    moves.push_back({{"partition", m.partition}, {"from", map.assignment().node_id(m.from)},
                     {"to", map.assignment().node_id(m.to)}, {"symbols", map.symbols_in(m.partition).size()}});
  }
  return {{"kind", partition::to_string(p.kind)}, {"node", p.node_id}, {"moves", moves}};
}

HttpResponse plan_reply(const app::TickFlow::PlanOutcome& r, const partition::SymbolMap& map) {
  if (!r.error.empty()) return HttpApi::error(r.error == "unknown_node" ? 404 : 400, r.error, "plan refused");
  return HttpApi::reply(200, {{"ok", true}, {"plan", plan_json(r.plan, map)}});
}

json partitions_json(const app::TickFlow& t) {
  const auto& map = t.map();
  const auto& a = map.assignment();
  json nodes = json::array();
  for (const auto n : a.alive_nodes()) nodes.push_back({{"id", a.node_id(n)}, {"partitions", a.partitions_of(n)}});
  json parts = json::array();
  const auto& loads = map.partition_loads();
  for (partition::PartitionId p = 0; p < a.partition_count(); ++p) {
    const auto& members = map.symbols_in(p);
    if (members.empty() && (p >= loads.size() || loads[p] == 0)) continue;  // keep the view small
    json syms = json::array();
    for (const auto s : members) syms.push_back(map.name(s));
    parts.push_back({{"partition", p}, {"node", a.node_id(a.owner(p))}, {"symbols", syms},
                     {"ticks_per_s", p < loads.size() ? loads[p] : 0.0}});
  }
  json out = {{"strategy", partition::to_string(map.partitioner().strategy())},
              {"partition_count", a.partition_count()},
              {"symbols", map.symbol_count()},
              {"max_symbols", map.max_symbols()},
              {"by_count", stats_json(map.count_stats())},
              {"by_load", stats_json(map.load_stats())},
              {"nodes_by_count", stats_json(map.node_count_stats())},
              {"nodes_by_load", stats_json(map.node_load_stats())},
              {"assignment", nodes},
              {"partitions", parts}};
  out["last_plan"] = t.last_plan() ? plan_json(*t.last_plan(), map) : json(nullptr);
  return out;
}

}  // namespace

void add_tick_routes(HttpApi& api, app::Gateway& g) {
  api.route("GET", "/partitions", false, [&g](const HttpRequest&, const HttpApi::Params&) {
    return HttpApi::reply(200, partitions_json(g.ticks()));
  });
  api.route("GET", "/processors", false, [&g](const HttpRequest&, const HttpApi::Params&) {
    json nodes = json::array();
    const auto& t = g.ticks();
    for (std::size_t n = 0; n < t.nodes().size(); ++n) {
      if (!t.map().assignment().alive(static_cast<partition::NodeIndex>(n))) continue;
      const auto& node = t.nodes()[n];
      const auto& st = t.node_stats()[n];
      nodes.push_back({{"id", node.id()}, {"symbols", node.symbol_count()}, {"ticks_processed", node.ticks_processed()},
                       {"signals", node.signals_emitted()}, {"rejected", node.rejected()},
                       {"late_ticks", node.late_ticks()}, {"ticks_per_s", st.ticks_per_s},
                       {"p99_us", st.process_ns.percentile_ns(0.99) / 1000.0}});
    }
    return HttpApi::reply(200, {{"nodes", nodes}});
  });
  api.route("GET", "/bars/{}", false, [&g](const HttpRequest& req, const HttpApi::Params& p) {
    const auto interval = HttpApi::query_param(req.query, "interval");
    if (!interval.empty() && interval != "1s" && interval != "1m") {
      return HttpApi::error(400, "bad_field", "interval must be 1s or 1m");
    }
    const auto iv = interval == "1m" ? market::Interval::m1 : market::Interval::s1;
    const auto bars = g.ticks().bars(p[0], iv);
    if (!bars) return HttpApi::error(404, "unknown_symbol", "no ticks seen for this symbol");
    json list = json::array();
    for (const auto& b : *bars) {
      list.push_back({{"start", b.start_ms}, {"open", md(b.open)}, {"high", md(b.high)}, {"low", md(b.low)},
                      {"close", md(b.close)}, {"ticks", b.ticks}});
    }
    return HttpApi::reply(200, {{"symbol", p[0]}, {"interval", iv == market::Interval::m1 ? "1m" : "1s"},
                                {"bars", list}});
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
  api.add_stats_section("ticks", [&g, &api] {
    const auto& s = g.ticks().stats();
    return json{{"ticks_processed", s.ticks_in}, {"rejected", s.rejected}, {"stale", s.stale}, {"gaps", s.gaps},
                {"signals", s.signals}, {"bars_closed", s.bars_closed}, {"rebalances", s.rebalances},
                {"symbols", g.ticks().map().symbol_count()}, {"feeds", api.feeds_json()}};
  });
  auto& m = api.metrics();
  const auto& s = g.ticks().stats();
  m.counter("tradeshard_ticks_total", "Ticks received.", [&s] { return static_cast<double>(s.ticks_in); });
  m.counter("tradeshard_signals_total", "Strategy signals emitted.", [&s] { return static_cast<double>(s.signals); });
  m.counter("tradeshard_ticks_rejected_total", "Ticks refused (invalid quote, symbol table full).",
            [&s] { return static_cast<double>(s.rejected); });
}

}  // namespace tradeshard::net

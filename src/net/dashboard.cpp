#include "dashboard.hpp"

#include "http_api.hpp"
#include "tradeshard/app/gateway.hpp"
#include "views.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {
using nlohmann::json;

DashboardFeed::DashboardFeed(app::Gateway& gateway, const HttpApi& api)
    : gateway_(gateway), api_(api), last_(std::chrono::steady_clock::now()) {
  last_orders_ = gateway_.orders().stats().orders_in;
  last_ticks_ = gateway_.ticks().stats().ticks_in;
  last_fills_ = gateway_.emitter().stats().fills;
}

void DashboardFeed::sample() {
  const auto t = std::chrono::steady_clock::now();
  const double dt = std::chrono::duration<double>(t - last_).count();
  if (dt <= 0) return;
  last_ = t;
  const auto orders = gateway_.orders().stats().orders_in;
  const auto ticks = gateway_.ticks().stats().ticks_in;
  const auto fills = gateway_.emitter().stats().fills;
  const auto& ack = gateway_.orders().stats().order_to_ack;
  Sample s;
  s.ts_ms = now().wall_ms;
  s.orders_per_s = static_cast<double>(orders - last_orders_) / dt;
  s.ticks_per_s = static_cast<double>(ticks - last_ticks_) / dt;
  s.fills_per_s = static_cast<double>(fills - last_fills_) / dt;
  s.p50_us = ack.percentile_ns(0.5) / 1000.0;
  s.p99_us = ack.percentile_ns(0.99) / 1000.0;
  last_orders_ = orders;
  last_ticks_ = ticks;
  last_fills_ = fills;
  history_.push_back(s);
  if (history_.size() > kHistory) history_.pop_front();
}

json DashboardFeed::to_json(const Sample& s) {
  return {{"ts", s.ts_ms},         {"orders_per_s", s.orders_per_s}, {"ticks_per_s", s.ticks_per_s},
          {"fills_per_s", s.fills_per_s}, {"ack_p50_us", s.p50_us},  {"ack_p99_us", s.p99_us}};
}

std::string DashboardFeed::render(bool full) const {
  const auto& g = gateway_;
  json out;
  out["ts"] = now().wall_ms;
  const auto reasons = g.degraded_reasons();
  out["health"] = {{"status", reasons.empty() ? "ok" : "degraded"}, {"reasons", reasons}};
  const json workers = views::workers(g);
  out["strategy"] = workers["strategy"];
  out["workers"] = workers["workers"];

  // The symbol map: nodes with their partitions and rates, and per partition its load and owner.
  const auto& map = g.ticks().map();
  const auto& a = map.assignment();
  json nodes = json::array();
  for (const auto n : a.alive_nodes()) {
    const auto& st = g.ticks().node_stats();
    nodes.push_back({{"id", a.node_id(n)},
                     {"partitions", a.partitions_of(n).size()},
                     {"symbols", g.ticks().nodes()[n].symbol_count()},
                     {"ticks_per_s", n < st.size() ? st[n].ticks_per_s : 0.0}});
  }
  json load = json::array();
  json owner = json::array();
  const auto& loads = map.partition_loads();
  for (partition::PartitionId p = 0; p < a.partition_count(); ++p) {
    load.push_back(p < loads.size() ? loads[p] : 0.0);
    owner.push_back(a.owner(p));
  }
  out["symbol_map"] = {{"strategy", partition::to_string(map.partitioner().strategy())},
                       {"symbols", map.symbol_count()},
                       {"nodes", nodes},
                       {"partition_load", load},
                       {"partition_owner", owner}};

  const auto& e = g.emitter().stats();
  out["totals"] = {{"orders", g.orders().stats().orders_in},
                   {"ticks", g.ticks().stats().ticks_in},
                   {"fills", e.fills},
                   {"trades", e.trades},
                   {"signals", g.ticks().stats().signals},
                   {"live_orders", g.orders().live_orders()},
                   {"connections", g.connection_count()},
                   {"books_moved", g.orders().stats().books_moved}};
  out["sample"] = history_.empty() ? json(nullptr) : to_json(history_.back());
  if (full) {
    json h = json::array();
    for (const auto& s : history_) h.push_back(to_json(s));
    out["history"] = std::move(h);
  }
  out["replicas"] = views::replicas(g.ledger());
  out["consistency"] = views::consistency(g.ledger());
  out["feeds"] = api_.feeds_json();

  json trades = json::array();
  g.emitter().recent_trades().for_each([&](const app::TradeEmitter::RecentTrade& t) {
    const auto& in = g.instruments().at(t.instrument);
    trades.push_back({{"symbol", in.symbol},
                      {"trade_id", "t-" + std::to_string(t.trade_id)},
                      {"price", core::format_steps(t.price, in.tick_size)},
                      {"qty", core::format_steps(t.qty, in.lot_size)},
                      {"aggressor", core::to_string(t.aggressor)}});
  });
  out["trades"] = std::move(trades);
  json signals = json::array();
  g.ticks().recent_signals().for_each([&](const market::Signal& s) {
    signals.push_back({{"symbol", map.name(s.symbol)},
                       {"strategy", s.strategy},
                       {"node", a.node_id(s.node)},
                       {"side", core::to_string(s.side)},
                       {"price", views::md(s.price)},
                       {"size", views::md(s.size)},
                       {"ts", s.ts_ms}});
  });
  out["signals"] = std::move(signals);
  return out.dump();
}

}  // namespace tradeshard::net

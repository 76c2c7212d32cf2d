#include "tradeshard/app/tick_flow.hpp"

#include <chrono>
#include <stdexcept>

namespace tradeshard::app {
namespace {

partition::SymbolMapConfig map_config(const Config& c) {
  const auto& p = c.partitioning;
  partition::SymbolMapConfig m;
  m.partitioner.strategy = p.strategy;
  m.partitioner.partitions = p.partitions;
  m.partitioner.points_per_partition = p.points_per_partition;
  for (const auto& r : p.ranges) m.partitioner.ranges.push_back({r.from, r.to, r.partition});
  for (const auto& [sym, part] : p.lists) m.partitioner.symbols.emplace_back(sym, part);
  if ((p.strategy == partition::Strategy::range || p.strategy == partition::Strategy::list) && !p.fallback_hash) {
    m.partitioner.fallback = p.fallback_partition;  // else absent: other symbols by hash
  }
  m.max_symbol_length = p.max_symbol_length;
  m.load_weight = p.load_weight;
  m.nodes.clear();
  for (const auto& n : p.nodes) m.nodes.push_back(n.id);
  m.max_symbols = p.max_symbols;
  for (const auto& in : c.instruments) m.initial_symbols.push_back(in.symbol);
  return m;
}

market::NodeConfig node_config(const PartitioningConfig& p) {
  market::NodeConfig n;
  n.bar_history = p.bar_history;
  const auto trigger = p.signal_trigger;
  for (auto& s : n.strategies) {
    s.max_spread_bps = p.spread_max_bps;
    // ratio = units / 10^scale exactly, e.g. 1.5 -> 15/10.
    s.ratio_num = p.imbalance_ratio.units;
    s.ratio_den = 1;
    for (int i = 0; i < p.imbalance_ratio.scale; ++i) s.ratio_den *= 10;
    s.trigger = trigger;
    s.cooldown_ms = static_cast<std::int64_t>(p.signal_cooldown_ms);
    const core::Decimal& size = s.kind == market::StrategyKind::spread ? p.spread_size : p.imbalance_size;
    s.size = size.units;  // validated: > 0, at most 8 fractional digits
    for (int i = size.scale; i < 8; ++i) s.size *= 10;
  }
  return n;
}

// A configured node runs the strategies its config lists, in that order; a node added at run
// time (no config entry) runs every strategy.
market::NodeConfig config_of_node(const PartitioningConfig& p, const market::NodeConfig& all, std::string_view id) {
  for (const auto& nc : p.nodes) {
    if (nc.id != id) continue;
    market::NodeConfig n = all;
    n.strategies.clear();
    for (const auto kind : nc.strategies) {
      for (const auto& s : all.strategies) {
        if (s.kind == kind) n.strategies.push_back(s);
      }
    }
    return n;
  }
  return all;
}

partition::SymbolMap make_map(const Config& c) {
  auto r = partition::SymbolMap::create(map_config(c));
  if (r.error != partition::SymbolMapError::ok) {
    throw std::invalid_argument("partitioning: invalid (" + std::string(partition::to_string(r.partitioner_error)) +
                                ", " + std::string(partition::to_string(r.assignment_error)) + ")");
  }
  return std::move(r.map);
}

}  // namespace

market::NodeSlotConfigs node_slot_configs(const Config& config) {
  const auto map = make_map(config);
  const auto all = node_config(config.partitioning);
  market::NodeSlotConfigs out;
  out.fallback = all;
  const auto& a = map.assignment();
  for (partition::NodeIndex n = 0; n < a.node_slots(); ++n) {
    out.ids.emplace_back(a.node_id(n));
    out.slots.push_back(config_of_node(config.partitioning, all, a.node_id(n)));
  }
  return out;
}

TickFlow::TickFlow(const Config& config, Outbox& outbox)
    : config_(config), outbox_(outbox), node_config_(node_config(config.partitioning)), map_(make_map(config)) {
  const auto& a = map_.assignment();
  for (partition::NodeIndex n = 0; n < a.node_slots(); ++n) {
    nodes_.emplace_back(n, a.node_id(n), config_of_node(config.partitioning, node_config_, a.node_id(n)));
    node_stats_.emplace_back();
  }
  out_.signals.reserve(16);
  out_.bars.reserve(16);
}

void TickFlow::ensure_channels(market::SymbolId id) {
  while (quote_channel_.size() <= id) {
    const auto& name = map_.name(static_cast<market::SymbolId>(quote_channel_.size()));
    quote_channel_.push_back("quotes:" + name);
    bars_1s_channel_.push_back("bars:" + name + ":1s");
    bars_1m_channel_.push_back("bars:" + name + ":1m");
    last_update_id_.push_back(0);
    quote_subscribed_.push_back(-1);
  }
}

// The answer per symbol is cached until a subscription changes anywhere: hashing the channel
// name for every tick cost as much as routing it.
bool TickFlow::subscribed(std::int8_t& cached, std::string_view channel) {
  const std::uint64_t v = outbox_.subscriptions_version();
  if (v != subscriptions_seen_) {
    std::fill(quote_subscribed_.begin(), quote_subscribed_.end(), std::int8_t{-1});
    signals_subscribed_ = -1;
    subscriptions_seen_ = v;
  }
  if (cached < 0) cached = outbox_.has_subscribers(channel) ? 1 : 0;
  return cached == 1;
}

bool TickFlow::quote_subscribed(market::SymbolId id) {
  return subscribed(quote_subscribed_[id], quote_channel_[id]);
}

void TickFlow::on_tick(std::uint64_t conn, const TickCmd& t, Now now) {
  ++stats_.ticks_in;
  const auto route = map_.route(t.symbol);
  if (!route.ok()) {
    ++stats_.rejected;
    outbox_.send(conn, ErrorOut{partition::to_string(route.error), "tick refused"});
    return;
  }
  ensure_channels(route.symbol);
  if (t.update_id != 0) {
    auto& last = last_update_id_[route.symbol];
    if (last != 0 && t.update_id <= last) {
      ++stats_.stale;  // replayed or reordered feed data: older than what we have
      return;
    }
    if (last != 0 && t.update_id > last + 1) ++stats_.gaps;
    last = t.update_id;
  }
  const market::Quote q{t.bid, t.ask, t.bid_size, t.ask_size, t.ts_ms};
  market::QuoteError err = market::QuoteError::ok;
  if (remote_ != nullptr && remote_->hosts(route.node)) {
    // Processed in a node process: refused here with the node's own reasons, sent otherwise.
    err = market::ProcessorNode::admit(q, now.wall_ms);
    if (err == market::QuoteError::ok) {
      remote_->send(route.node, route.symbol, q, now.wall_ms);
      ++node_stats_[route.node].remote_ticks;
    }
  } else {
    auto& node = nodes_[route.node];
    // One tick in 64 is timed: two clock reads per tick would cost a fifth of the tick budget.
    const bool timed = (stats_.ticks_in & 63) == 0;
    const auto t0 = timed ? std::chrono::steady_clock::now() : std::chrono::steady_clock::time_point{};
    err = node.process(route.symbol, q, now.wall_ms, out_);
    if (timed) {
      node_stats_[route.node].process_ns.record(static_cast<std::uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count()));
    }
  }
  if (err != market::QuoteError::ok) {
    ++stats_.rejected;
    out_.clear();
    outbox_.send(conn, ErrorOut{"bad_field", market::to_string(err)});
    return;
  }
  map_.count_tick(route.symbol);
  if (history_) {
    history_->quote(route.symbol, map_.name(route.symbol),
                    {t.ts_ms ? t.ts_ms : now.wall_ms, t.bid, t.ask, t.bid_size, t.ask_size});
  }
  if (quote_subscribed(route.symbol)) {
    outbox_.publish(quote_channel_[route.symbol],
                    QuoteOut{map_.name(route.symbol), t.bid, t.ask, t.bid_size, t.ask_size,
                             t.ts_ms ? t.ts_ms : now.wall_ms});
  }
  if (!out_.signals.empty() || !out_.bars.empty()) publish(out_);
  out_.clear();
}

void TickFlow::publish(const market::TickOutput& out) {
  const bool to_signals = !out.signals.empty() && subscribed(signals_subscribed_, "signals");
  for (const auto& s : out.signals) {
    ++stats_.signals;
    recent_signals_.push(s);
    if (!to_signals) continue;
    outbox_.publish("signals", SignalOut{map_.name(s.symbol), s.strategy, nodes_[s.node].id(), s.side, s.price,
                                         s.size, s.ts_ms});
  }
  for (const auto& b : out.bars) {
    ++stats_.bars_closed;
    if (history_) history_->bar(b.symbol, map_.name(b.symbol), b.interval, b.bar, false);
    const auto& ch = b.interval == market::Interval::s1 ? bars_1s_channel_[b.symbol] : bars_1m_channel_[b.symbol];
    if (!outbox_.has_subscribers(ch)) continue;
    outbox_.publish(ch, BarOut{map_.name(b.symbol), b.interval == market::Interval::s1 ? "1s" : "1m",
                               b.bar.start_ms, b.bar.open, b.bar.high, b.bar.low, b.bar.close, b.bar.ticks});
  }
}

void TickFlow::save_open_bars() {
  if (!history_) return;
  for (const auto& node : nodes_) {
    for (const auto id : node.symbols()) {
      const auto* st = node.state(id);
      if (!st) continue;
      for (const auto iv : market::all_intervals) {
        if (const auto& open = st->bars[static_cast<int>(iv)].open_bar()) history_->bar(id, map_.name(id), iv, *open, true);
      }
    }
  }
}

void TickFlow::sample(std::int64_t elapsed_ms) {
  if (elapsed_ms <= 0) return;
  map_.sample_load(elapsed_ms);
  for (std::size_t n = 0; n < nodes_.size(); ++n) {
    const auto total = nodes_[n].ticks_processed() + node_stats_[n].remote_ticks;
    node_stats_[n].ticks_per_s =
        static_cast<double>(total - node_stats_[n].ticks_at_sample) * 1000.0 / static_cast<double>(elapsed_ms);
    node_stats_[n].ticks_at_sample = total;
  }
}

// Runs inside one loop callback: no tick can arrive between moving the partitions and moving
// their symbols' state, so none is lost or processed out of order.
TickFlow::PlanOutcome TickFlow::apply(partition::PlanResult planned) {
  if (!planned.ok()) return {std::string(partition::to_string(planned.error)), planned.plan};
  // The moved symbols' state would be in node processes: not in cluster mode yet.
  if (remote_ != nullptr) return {"not_in_cluster_mode", planned.plan};
  const auto& plan = planned.plan;
  if (const auto e = map_.apply(plan); e != partition::AssignmentError::ok) {
    return {std::string(partition::to_string(e)), plan};
  }
  if (plan.kind == partition::PlanKind::add_node) {
    nodes_.emplace_back(plan.node, plan.node_id, config_of_node(config_.partitioning, node_config_, plan.node_id));
    node_stats_.emplace_back();
  }
  for (const auto& m : plan.moves) {
    for (const auto sid : map_.symbols_in(m.partition)) {
      if (auto st = nodes_[m.from].export_symbol(sid)) nodes_[m.to].import_symbol(sid, std::move(*st));
    }
  }
  ++stats_.rebalances;
  last_plan_ = plan;
  return {{}, plan};
}

TickFlow::PlanOutcome TickFlow::add_node(const std::string& id) { return apply(map_.plan_add_node(id)); }
TickFlow::PlanOutcome TickFlow::remove_node(const std::string& id) { return apply(map_.plan_remove_node(id)); }
TickFlow::PlanOutcome TickFlow::rebalance() { return apply(map_.plan_rebalance(config_.partitioning.rebalance_min_gain)); }

std::optional<partition::MovePlan> TickFlow::preview_add(const std::string& id) const {
  auto r = map_.plan_add_node(id);
  if (!r.ok()) return std::nullopt;
  return r.plan;
}

std::optional<std::vector<market::Bar>> TickFlow::bars(std::string_view symbol, market::Interval i) const {
  const auto id = map_.find(symbol);
  if (!id) return std::nullopt;
  std::vector<market::Bar> out;
  const auto* st = nodes_[map_.node_of(*id)].state(*id);
  if (!st) return out;
  const auto& series = st->bars[static_cast<int>(i)];
  out = series.history();
  if (series.open_bar()) out.push_back(*series.open_bar());
  return out;
}

std::optional<market::Bar> TickFlow::open_bar(std::string_view symbol, market::Interval i) const {
  const auto id = map_.find(symbol);
  if (!id) return std::nullopt;
  const auto* st = nodes_[map_.node_of(*id)].state(*id);
  if (!st) return std::nullopt;
  return st->bars[static_cast<int>(i)].open_bar();
}

}  // namespace tradeshard::app

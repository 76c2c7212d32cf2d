#include "tradeshard/market/processor_node.hpp"

#include <cassert>
#include <utility>

namespace tradeshard::market {

std::string_view to_string(NodeConfigError e) noexcept {
  switch (e) {
    case NodeConfigError::ok: return "ok";
    case NodeConfigError::too_many_strategies: return "too_many_strategies";
    case NodeConfigError::bad_strategy: return "bad_strategy";
    case NodeConfigError::bad_alpha: return "bad_alpha";
    case NodeConfigError::bad_history: return "bad_history";
  }
  return "ok";
}

NodeConfigError validate(const NodeConfig& c) noexcept {
  if (c.strategies.size() > max_strategies) return NodeConfigError::too_many_strategies;
  for (const auto& s : c.strategies) {
    if (validate(s) != StrategyConfigError::ok) return NodeConfigError::bad_strategy;
  }
  if (!(c.imbalance_alpha > 0.0 && c.imbalance_alpha <= 1.0)) return NodeConfigError::bad_alpha;
  if (c.bar_history == 0) return NodeConfigError::bad_history;
  return NodeConfigError::ok;
}

ProcessorNode::ProcessorNode(NodeIndex index, std::string id, NodeConfig config)
    : index_(index), id_(std::move(id)), config_(std::move(config)) {
  assert(validate(config_) == NodeConfigError::ok);
}

SymbolState ProcessorNode::fresh_state() const {
  SymbolState s;
  for (Interval i : all_intervals) {
    s.bars[static_cast<int>(i)] = BarSeries(width_ms(i), config_.bar_history);
  }
  return s;
}

SymbolState& ProcessorNode::slot_for(SymbolId symbol) {
  if (symbol >= slot_of_.size()) slot_of_.resize(std::size_t{symbol} + 1, no_slot);
  if (slot_of_[symbol] == no_slot) {
    slot_of_[symbol] = static_cast<std::uint32_t>(states_.size());
    states_.push_back(fresh_state());
    owners_.push_back(symbol);
  }
  return states_[slot_of_[symbol]];
}

QuoteError ProcessorNode::admit(const Quote& quote, std::int64_t arrival_ms) noexcept {
  const std::int64_t ts = quote.ts_ms != 0 ? quote.ts_ms : arrival_ms;
  QuoteError e = validate(quote);
  if (e == QuoteError::ok && ts < 0) e = QuoteError::bad_ts;
  return e;
}

QuoteError ProcessorNode::process(SymbolId symbol, const Quote& quote, std::int64_t arrival_ms,
                                  TickOutput& out) {
  const std::int64_t ts = quote.ts_ms != 0 ? quote.ts_ms : arrival_ms;
  const QuoteError e = admit(quote, arrival_ms);
  if (e != QuoteError::ok) {
    ++rejected_;
    return e;
  }
  SymbolState& s = slot_for(symbol);
  update_market(s, quote);
  run_strategies(symbol, s, quote, ts, out);
  update_bars(symbol, s, ts, out);
  ++ticks_;
  return e;
}

void ProcessorNode::update_market(SymbolState& s, const Quote& q) const noexcept {
  s.last = q;
  s.mid = mid_of(q);
  s.spread = q.ask - q.bid;
  const Scaled depth = q.bid_size + q.ask_size;
  const double imbalance =
      depth > 0 ? static_cast<double>(q.bid_size - q.ask_size) / static_cast<double>(depth) : 0.0;
  // The first tick seeds the average so it does not start biased toward 0.
  s.imbalance_ewma = s.ticks == 0 ? imbalance
                                  : config_.imbalance_alpha * imbalance +
                                        (1.0 - config_.imbalance_alpha) * s.imbalance_ewma;
  ++s.ticks;
}

void ProcessorNode::run_strategies(SymbolId symbol, SymbolState& s, const Quote& q, std::int64_t ts,
                                   TickOutput& out) {
  for (std::size_t i = 0; i < config_.strategies.size(); ++i) {
    const StrategyConfig& c = config_.strategies[i];
    TriggerMemory& m = s.memory[i];
    const std::optional<Decision> d = evaluate(c, q);
    const std::optional<core::Side> previous = m.last_answer;
    m.last_answer = d ? std::optional<core::Side>(d->side) : std::nullopt;
    if (!d) continue;
    if (c.trigger == Trigger::edge && previous == d->side) continue;
    auto& last_emit = m.last_emit_ms[static_cast<int>(d->side)];
    if (c.cooldown_ms > 0 && last_emit && ts - *last_emit < c.cooldown_ms) continue;
    last_emit = ts;
    out.signals.push_back({symbol, d->side, d->price, d->size, to_string(c.kind), index_, ts});
    ++signals_;
  }
}

void ProcessorNode::update_bars(SymbolId symbol, SymbolState& s, std::int64_t ts, TickOutput& out) {
  for (Interval i : all_intervals) {
    const BarSeries::Update u = s.bars[static_cast<int>(i)].on_tick(ts, s.mid);
    if (u.late) ++late_;
    if (u.closed) out.bars.push_back({symbol, i, *u.closed});
  }
}

std::optional<SymbolState> ProcessorNode::export_symbol(SymbolId symbol) {
  if (symbol >= slot_of_.size() || slot_of_[symbol] == no_slot) return std::nullopt;
  const std::uint32_t slot = slot_of_[symbol];
  SymbolState state = std::move(states_[slot]);
  // Swap-and-pop keeps the states dense; the moved-in symbol's slot is updated.
  const std::uint32_t last = static_cast<std::uint32_t>(states_.size() - 1);
  if (slot != last) {
    states_[slot] = std::move(states_[last]);
    owners_[slot] = owners_[last];
    slot_of_[owners_[slot]] = slot;
  }
  states_.pop_back();
  owners_.pop_back();
  slot_of_[symbol] = no_slot;
  return state;
}

void ProcessorNode::import_symbol(SymbolId symbol, SymbolState state) {
  slot_for(symbol) = std::move(state);
}

const SymbolState* ProcessorNode::state(SymbolId symbol) const noexcept {
  if (symbol >= slot_of_.size() || slot_of_[symbol] == no_slot) return nullptr;
  return &states_[slot_of_[symbol]];
}

std::vector<SymbolId> ProcessorNode::symbols() const { return owners_; }

}  // namespace tradeshard::market

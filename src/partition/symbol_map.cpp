#include "tradeshard/partition/symbol_map.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>
#include <unordered_set>

#include "tradeshard/core/hash.hpp"

namespace tradeshard::partition {

std::string_view to_string(RouteError e) noexcept {
  switch (e) {
    case RouteError::ok: return "ok";
    case RouteError::empty_symbol: return "empty_symbol";
    case RouteError::symbol_too_long: return "symbol_too_long";
    case RouteError::symbol_table_full: return "symbol_table_full";
  }
  return "ok";
}

std::size_t SymbolMap::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(core::stable_hash(s));
}

SymbolMapResult SymbolMap::create(SymbolMapConfig config) {
  SymbolMapResult out;
  if (!(config.load_weight >= 0.0 && config.load_weight <= 1.0)) {
    out.error = SymbolMapError::bad_load_weight;
    return out;
  }
  if (config.max_symbols == 0) {
    out.error = SymbolMapError::zero_max_symbols;
    return out;
  }
  auto p = Partitioner::create(std::move(config.partitioner));
  if (!p.ok()) {
    out.error = SymbolMapError::partitioner;
    out.partitioner_error = p.error;
    return out;
  }
  const std::uint32_t parts = p.partitioner.partition_count();
  // Initial weights are the start-up symbols' count share per partition; with none, all weights
  // are zero and the assignment spreads partitions evenly by number.
  std::vector<double> weights(parts, 0.0);
  std::unordered_set<std::string_view> seen;
  for (const auto& s : config.initial_symbols) {
    if (seen.insert(s).second) weights[p.partitioner.partition_of(s)] += 1.0;
  }
  auto a = Assignment::create(parts, std::move(config.nodes), weights);
  if (!a.ok()) {
    out.error = SymbolMapError::assignment;
    out.assignment_error = a.error;
    return out;
  }
  SymbolMap& m = out.map;
  m.partitioner_ = std::move(p.partitioner);
  m.assignment_ = std::move(a.assignment);
  m.max_symbols_ = config.max_symbols;
  m.max_symbol_length_ = config.max_symbol_length;
  m.load_weight_ = config.load_weight;
  m.members_.resize(parts);
  m.ticks_since_sample_.assign(parts, 0);
  m.loads_.assign(parts, 0.0);
  m.ids_.reserve(std::min<std::size_t>(config.max_symbols, 4096));
  unsigned bits = 8;  // memo: 4 entries per possible symbol, 2^8..2^13
  while (bits < 13 && (std::size_t{1} << bits) < std::size_t{4} * config.max_symbols) ++bits;
  m.memo_.assign(std::size_t{1} << bits, ShortKey{});
  m.memo_shift_ = 64 - bits;
  for (const auto& s : config.initial_symbols) {
    const Route r = m.intern(s);
    if (!r.ok()) {
      out.error = SymbolMapError::initial_symbol;
      out.route_error = r.error;
      return out;
    }
  }
  return out;
}

Route SymbolMap::intern_slow(std::string_view symbol) {
  Route r;
  ShortKey key;
  ShortKey* memo = nullptr;
  if (!memo_.empty() && symbol.size() - 1 < 16) {
    key = short_key(symbol);
    memo = &memo_[memo_slot(key)];
  }
  if (const auto it = ids_.find(symbol); it != ids_.end()) {
    r.symbol = it->second;
  } else {
    if (symbol.empty()) r.error = RouteError::empty_symbol;
    else if (symbol.size() > max_symbol_length_) r.error = RouteError::symbol_too_long;
    else if (names_.size() >= max_symbols_) r.error = RouteError::symbol_table_full;
    if (!r.ok()) return r;
    r.symbol = static_cast<SymbolId>(names_.size());
    r.created = true;
    const PartitionId p = partitioner_.partition_of(symbol);
    names_.emplace_back(symbol);
    ids_.emplace(names_.back(), r.symbol);
    partition_of_.push_back(p);
    node_of_.push_back(assignment_.owner(p));
    members_[p].push_back(r.symbol);
  }
  if (memo != nullptr) {
    key.id = r.symbol;
    *memo = key;
  }
  r.partition = partition_of_[r.symbol];
  r.node = node_of_[r.symbol];
  return r;
}

std::optional<SymbolId> SymbolMap::find(std::string_view symbol) const noexcept {
  const auto it = ids_.find(symbol);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

void SymbolMap::sample_load(std::int64_t elapsed_ms) {
  if (elapsed_ms <= 0) return;
  const double per_s = 1000.0 / static_cast<double>(elapsed_ms);
  for (std::size_t p = 0; p < loads_.size(); ++p) {
    loads_[p] = static_cast<double>(ticks_since_sample_[p]) * per_s;
    ticks_since_sample_[p] = 0;
  }
}

bool SymbolMap::set_partition_loads(std::span<const double> loads) {
  if (loads.size() != loads_.size()) return false;
  for (double v : loads) {
    if (!(v >= 0.0)) return false;
  }
  loads_.assign(loads.begin(), loads.end());
  return true;
}

std::vector<double> SymbolMap::partition_counts() const {
  std::vector<double> out(members_.size());
  for (std::size_t p = 0; p < members_.size(); ++p) out[p] = static_cast<double>(members_[p].size());
  return out;
}

std::vector<double> SymbolMap::partition_weights() const {
  std::vector<double> w = partition_counts();
  const double total_count = static_cast<double>(names_.size());
  const double total_load = std::accumulate(loads_.begin(), loads_.end(), 0.0);
  // Without a load measurement, count alone decides; shares keep both terms on one scale.
  const double lw = total_load > 0 ? load_weight_ : 0.0;
  for (std::size_t p = 0; p < w.size(); ++p) {
    const double count_share = total_count > 0 ? w[p] / total_count : 0.0;
    const double load_share = total_load > 0 ? loads_[p] / total_load : 0.0;
    w[p] = (1.0 - lw) * count_share + lw * load_share;
  }
  return w;
}

PlanResult SymbolMap::plan_add_node(std::string id) const {
  return assignment_.plan_add_node(std::move(id), partition_weights());
}

PlanResult SymbolMap::plan_remove_node(std::string_view id) const {
  return assignment_.plan_remove_node(id, partition_weights());
}

PlanResult SymbolMap::plan_rebalance(double min_gain) const {
  return assignment_.plan_rebalance(partition_weights(), min_gain);
}

AssignmentError SymbolMap::apply(const MovePlan& plan) {
  const AssignmentError e = assignment_.apply(plan);
  if (e != AssignmentError::ok) return e;
  for (const Move& m : plan.moves) {
    for (SymbolId s : members_[m.partition]) node_of_[s] = m.to;
  }
  return e;
}

std::vector<double> SymbolMap::per_alive_node(const std::vector<double>& per_partition) const {
  const std::vector<double> slots = assignment_.node_loads(per_partition);
  std::vector<double> out;
  for (NodeIndex n : assignment_.alive_nodes()) out.push_back(slots[n]);
  return out;
}

PartitionStats SymbolMap::count_stats() const { return compute_stats(partition_counts()); }
PartitionStats SymbolMap::load_stats() const { return compute_stats(loads_); }
PartitionStats SymbolMap::node_count_stats() const {
  return compute_stats(per_alive_node(partition_counts()));
}
PartitionStats SymbolMap::node_load_stats() const { return compute_stats(per_alive_node(loads_)); }

}  // namespace tradeshard::partition

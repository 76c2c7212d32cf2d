#include "tradeshard/partition/assignment.hpp"

#include <algorithm>
#include <cassert>
#include <numeric>
#include <utility>

namespace tradeshard::partition {

namespace {

// Loads are sums of doubles; differences below this are treated as equal so that ties break
// deterministically by index instead of by rounding noise.
constexpr double eps = 1e-9;

std::vector<PartitionId> heaviest_first(std::vector<PartitionId> ids, std::span<const double> w) {
  std::stable_sort(ids.begin(), ids.end(),
                   [&](PartitionId a, PartitionId b) { return w[a] > w[b] + eps; });
  return ids;
}

// Lightest node among `candidates` by (load, partition count, index).
NodeIndex lightest(const std::vector<NodeIndex>& candidates, const std::vector<double>& load,
                   const std::vector<std::size_t>& count) {
  NodeIndex best = candidates.front();
  for (NodeIndex n : candidates) {
    if (load[n] < load[best] - eps ||
        (load[n] <= load[best] + eps && count[n] < count[best])) {
      best = n;
    }
  }
  return best;
}

// (partition, donor) for the next move onto the new node `fresh`, or nullopt when none helps.
std::optional<std::pair<PartitionId, NodeIndex>> pick_for_new_node(
    const std::vector<NodeIndex>& owner, std::span<const double> weights,
    const std::vector<double>& load, std::vector<NodeIndex> donors, NodeIndex fresh,
    double target) {
  const double need = target - load[fresh];
  if (need <= eps) return std::nullopt;
  std::stable_sort(donors.begin(), donors.end(),
                   [&](NodeIndex a, NodeIndex b) { return load[a] > load[b] + eps; });
  for (NodeIndex d : donors) {
    if (load[d] <= target + eps) break;
    std::optional<PartitionId> pick;
    for (PartitionId p = 0; p < owner.size(); ++p) {
      const double w = weights[p];
      if (owner[p] != d || w <= eps || w > need + eps) continue;
      if (load[fresh] + w >= load[d] - eps) continue;  // must lower the pair's maximum
      if (!pick || w > weights[*pick] + eps) pick = p;
    }
    if (pick) return std::pair{*pick, d};
  }
  return std::nullopt;
}

// Moves for a weightless cluster: the new node takes partitions, highest id first, from whichever
// node holds the most, until it holds its floor share.
std::vector<Move> spread_by_count(std::vector<NodeIndex> owner, const std::vector<NodeIndex>& donors,
                                  NodeIndex fresh) {
  std::vector<std::size_t> count(fresh + 1, 0);
  for (NodeIndex o : owner) ++count[o];
  const std::size_t share = owner.size() / (donors.size() + 1);
  std::vector<Move> moves;
  while (count[fresh] < share) {
    NodeIndex from = donors.front();
    for (NodeIndex d : donors) {
      if (count[d] > count[from]) from = d;
    }
    PartitionId p = static_cast<PartitionId>(owner.size());
    while (owner[--p] != from) {}
    owner[p] = fresh;
    --count[from];
    ++count[fresh];
    moves.push_back({p, from, fresh});
  }
  return moves;
}

}  // namespace

std::string_view to_string(PlanKind k) noexcept {
  switch (k) {
    case PlanKind::add_node: return "add_node";
    case PlanKind::remove_node: return "remove_node";
    case PlanKind::rebalance: return "rebalance";
  }
  return "rebalance";
}

std::string_view to_string(AssignmentError e) noexcept {
  switch (e) {
    case AssignmentError::ok: return "ok";
    case AssignmentError::no_nodes: return "no_nodes";
    case AssignmentError::zero_partitions: return "zero_partitions";
    case AssignmentError::empty_node_id: return "empty_node_id";
    case AssignmentError::duplicate_node: return "duplicate_node";
    case AssignmentError::unknown_node: return "unknown_node";
    case AssignmentError::last_node: return "last_node";
    case AssignmentError::weights_size_mismatch: return "weights_size_mismatch";
    case AssignmentError::stale_plan: return "stale_plan";
  }
  return "ok";
}

AssignmentResult Assignment::create(std::uint32_t partitions, std::vector<std::string> node_ids,
                                    std::span<const double> weights) {
  AssignmentResult out;
  if (partitions == 0) out.error = AssignmentError::zero_partitions;
  else if (node_ids.empty()) out.error = AssignmentError::no_nodes;
  else if (weights.size() != partitions) out.error = AssignmentError::weights_size_mismatch;
  if (!out.ok()) return out;
  Assignment& a = out.assignment;
  for (auto& id : node_ids) {
    if (id.empty()) out.error = AssignmentError::empty_node_id;
    else if (a.find_node(id)) out.error = AssignmentError::duplicate_node;
    if (!out.ok()) return out;
    a.nodes_.push_back({std::move(id), true});
  }
  std::vector<PartitionId> ids(partitions);
  std::iota(ids.begin(), ids.end(), PartitionId{0});
  a.owner_.assign(partitions, 0);
  std::vector<double> load(a.nodes_.size(), 0.0);
  std::vector<std::size_t> count(a.nodes_.size(), 0);
  const std::vector<NodeIndex> all = a.alive_nodes();
  for (PartitionId p : heaviest_first(std::move(ids), weights)) {
    const NodeIndex n = lightest(all, load, count);
    a.owner_[p] = n;
    load[n] += weights[p];
    ++count[n];
  }
  return out;
}

std::optional<NodeIndex> Assignment::find_node(std::string_view id) const noexcept {
  for (NodeIndex n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].alive && nodes_[n].id == id) return n;
  }
  return std::nullopt;
}

std::size_t Assignment::alive_count() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(nodes_.begin(), nodes_.end(), [](const Node& n) { return n.alive; }));
}

std::vector<NodeIndex> Assignment::alive_nodes() const {
  std::vector<NodeIndex> out;
  for (NodeIndex n = 0; n < nodes_.size(); ++n) {
    if (nodes_[n].alive) out.push_back(n);
  }
  return out;
}

std::vector<PartitionId> Assignment::partitions_of(NodeIndex n) const {
  std::vector<PartitionId> out;
  for (PartitionId p = 0; p < owner_.size(); ++p) {
    if (owner_[p] == n) out.push_back(p);
  }
  return out;
}

std::vector<double> Assignment::node_loads(std::span<const double> weights) const {
  std::vector<double> load(nodes_.size(), 0.0);
  for (PartitionId p = 0; p < owner_.size() && p < weights.size(); ++p) load[owner_[p]] += weights[p];
  return load;
}

PlanResult Assignment::plan_add_node(std::string id, std::span<const double> weights) const {
  PlanResult out;
  if (id.empty()) out.error = AssignmentError::empty_node_id;
  else if (find_node(id)) out.error = AssignmentError::duplicate_node;
  else if (weights.size() != owner_.size()) out.error = AssignmentError::weights_size_mismatch;
  if (!out.ok()) return out;
  const auto fresh = static_cast<NodeIndex>(nodes_.size());
  out.plan = {PlanKind::add_node, fresh, std::move(id), version_, {}};
  std::vector<double> load = node_loads(weights);
  load.push_back(0.0);
  std::vector<NodeIndex> owner = owner_;
  const std::vector<NodeIndex> donors = alive_nodes();
  double total = 0;
  for (NodeIndex n : donors) total += load[n];
  const double target = total / static_cast<double>(donors.size() + 1);
  if (total <= eps) {
    // Nothing measured yet: even out partition numbers instead, so the new node owns a share of
    // the symbols still to come.
    out.plan.moves = spread_by_count(owner, donors, fresh);
    return out;
  }
  // Each step moves the largest partition that still fits the new node's deficit off the
  // heaviest donor that has one; a donor never gives once it is at or below the target.
  for (std::size_t step = 0; step < owner.size(); ++step) {
    const auto pick = pick_for_new_node(owner, weights, load, donors, fresh, target);
    if (!pick) break;
    const Move m{pick->first, pick->second, fresh};
    owner[m.partition] = fresh;
    load[m.from] -= weights[m.partition];
    load[fresh] += weights[m.partition];
    out.plan.moves.push_back(m);
  }
  return out;
}

PlanResult Assignment::plan_remove_node(std::string_view id, std::span<const double> weights) const {
  PlanResult out;
  const auto gone = find_node(id);
  if (!gone) out.error = AssignmentError::unknown_node;
  else if (alive_count() <= 1) out.error = AssignmentError::last_node;
  else if (weights.size() != owner_.size()) out.error = AssignmentError::weights_size_mismatch;
  if (!out.ok()) return out;
  out.plan = {PlanKind::remove_node, *gone, std::string(id), version_, {}};
  std::vector<double> load = node_loads(weights);
  std::vector<std::size_t> count(nodes_.size(), 0);
  for (NodeIndex o : owner_) ++count[o];
  std::vector<NodeIndex> staying = alive_nodes();
  std::erase(staying, *gone);
  for (PartitionId p : heaviest_first(partitions_of(*gone), weights)) {
    const NodeIndex to = lightest(staying, load, count);
    load[to] += weights[p];
    ++count[to];
    out.plan.moves.push_back({p, *gone, to});
  }
  return out;
}

PlanResult Assignment::plan_rebalance(std::span<const double> weights, double min_gain) const {
  PlanResult out;
  if (weights.size() != owner_.size()) {
    out.error = AssignmentError::weights_size_mismatch;
    return out;
  }
  out.plan = {PlanKind::rebalance, 0, {}, version_, {}};
  std::vector<double> load = node_loads(weights);
  std::vector<NodeIndex> owner = owner_;
  const std::vector<NodeIndex> alive = alive_nodes();
  for (std::size_t step = 0; step < owner.size(); ++step) {
    const auto [lo, hi] = std::minmax_element(alive.begin(), alive.end(), [&](NodeIndex a, NodeIndex b) {
      return load[a] < load[b] - eps;
    });
    const NodeIndex light = *lo;
    const NodeIndex heavy = *hi;
    // Moving w lowers the pair's maximum by min(w, gap - w); best at w == gap / 2.
    const double gap = load[heavy] - load[light];
    std::optional<PartitionId> pick;
    double best_gain = min_gain;
    for (PartitionId p = 0; p < owner.size(); ++p) {
      if (owner[p] != heavy) continue;
      const double gain = std::min(weights[p], gap - weights[p]);
      if (gain > best_gain + eps) {
        best_gain = gain;
        pick = p;
      }
    }
    if (!pick) break;
    owner[*pick] = light;
    load[heavy] -= weights[*pick];
    load[light] += weights[*pick];
    out.plan.moves.push_back({*pick, heavy, light});
  }
  return out;
}

AssignmentError Assignment::apply(const MovePlan& plan) {
  if (plan.base_version != version_) return AssignmentError::stale_plan;
  if (plan.kind == PlanKind::add_node) {
    assert(plan.node == nodes_.size());
    nodes_.push_back({plan.node_id, true});
  }
  for (const Move& m : plan.moves) {
    assert(owner_[m.partition] == m.from);
    owner_[m.partition] = m.to;
  }
  if (plan.kind == PlanKind::remove_node) nodes_[plan.node].alive = false;
  ++version_;
  return AssignmentError::ok;
}

}  // namespace tradeshard::partition

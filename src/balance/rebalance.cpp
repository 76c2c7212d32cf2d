// Load-aware rebalancing: the greedy plan (LoadBalancer::plan_rebalance) and its trigger.
#include "tradeshard/balance/rebalance.hpp"

#include <algorithm>

#include "tradeshard/balance/load_balancer.hpp"

namespace tradeshard::balance {

bool RebalanceTrigger::due(std::int64_t now_ms, double busiest_over_mean, double mean) {
  if (mean < options_.min_load || busiest_over_mean <= options_.max_over_avg) {
    above_since_ms_ = -1;  // hysteresis: the condition must hold without a break
    return false;
  }
  if (above_since_ms_ < 0) above_since_ms_ = now_ms;
  if (now_ms - above_since_ms_ < options_.after_ms) return false;
  return last_run_ms_ < 0 || now_ms - last_run_ms_ >= options_.cooldown_ms;
}

RebalancePlan LoadBalancer::plan_rebalance(std::span<const SymbolLoad> loads, const RebalanceOptions& options) const {
  RebalancePlan plan;
  struct Held {
    std::size_t symbol;  // index into loads
    std::uint32_t orders;
  };
  // Per slot: the load of the books it holds and which they are (routable slots only).
  std::vector<double> load(slots_.size(), 0.0);
  std::vector<std::uint32_t> orders(slots_.size(), 0);
  std::vector<std::vector<Held>> held(slots_.size());
  std::vector<std::uint32_t> workers;
  for (const std::uint32_t i : active_) {
    if (slots_[i].routable()) workers.push_back(i);
  }
  if (workers.size() < 2) return plan;
  for (const std::uint32_t i : workers) orders[i] = slots_[i].load;
  for (std::size_t k = 0; k < loads.size(); ++k) {
    const LiveCountTable::Entry* e = symbols_.find({loads[k].symbol_hash, 0});
    if (e == nullptr || !slots_[e->home].routable() || !(loads[k].load > 0.0)) continue;
    load[e->home] += loads[k].load;
    held[e->home].push_back({k, e->count});
  }
  double total = 0.0;
  for (const std::uint32_t i : workers) total += load[i];
  plan.mean = total / static_cast<double>(workers.size());
  if (!(plan.mean > 0.0)) return plan;
  const auto busiest = [&] {
    return *std::max_element(workers.begin(), workers.end(), [&](auto a, auto b) { return load[a] < load[b]; });
  };
  plan.before = load[busiest()] / plan.mean;
  const double target = options.target() * plan.mean;
  while (plan.moves.size() < options.max_moves) {
    const std::uint32_t b = busiest();
    if (load[b] <= target) break;
    auto& mine = held[b];
    std::sort(mine.begin(), mine.end(), [&](const Held& x, const Held& y) { return loads[x.symbol].load > loads[y.symbol].load; });
    // The hottest symbol that fits under the target on its best taker, else the hottest that still
    // lowers the pair's maximum.
    std::optional<std::size_t> pick;
    std::uint32_t pick_to = 0;
    bool pick_fits = false;
    for (std::size_t h = 0; h < mine.size(); ++h) {
      const SymbolLoad& s = loads[mine[h].symbol];
      const std::uint64_t bit = class_bit(s.instrument_class);
      std::optional<std::uint32_t> to;
      for (const std::uint32_t w : workers) {
        if (w == b || (slots_[w].class_mask & bit) == 0) continue;
        if (std::uint64_t{orders[w]} + mine[h].orders > slots_[w].capacity) continue;
        if (!to || load[w] < load[*to]) to = w;
      }
      if (!to || !(load[*to] + s.load < load[b])) continue;
      const bool fits = load[*to] + s.load <= target;
      if (!pick || (fits && !pick_fits)) {
        pick = h;
        pick_to = *to;
        pick_fits = fits;
        if (fits) break;
      }
    }
    if (!pick) break;
    const Held moved = mine[*pick];
    const SymbolLoad& s = loads[moved.symbol];
    mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(*pick));
    held[pick_to].push_back(moved);
    load[b] -= s.load;
    load[pick_to] += s.load;
    orders[b] -= moved.orders;
    orders[pick_to] += moved.orders;
    plan.moves.push_back({s.symbol_hash, WorkerId{b}, WorkerId{pick_to}, s.load});
  }
  plan.after = load[busiest()] / plan.mean;
  return plan;
}

}  // namespace tradeshard::balance

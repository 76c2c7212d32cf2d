// Hot path of the load balancer: route() and release(). Management and views live in
// load_balancer_admin.cpp.
#include "tradeshard/balance/load_balancer.hpp"

#include <cassert>
#include <cmath>

namespace tradeshard::balance {

namespace {

constexpr std::uint64_t unlisted_class_bit = std::uint64_t{1} << 63;

constexpr std::size_t index_of(RouteError e) noexcept { return static_cast<std::size_t>(e); }

}  // namespace

RouteResult LoadBalancer::route(const RouteRequest& request) {
  const Eligibility want{class_bit(request.instrument_class), request.priority != core::Priority::normal};
  const LiveCountTable::Key symbol_key{request.symbol_hash, 0};
  RouteResult result;
  LiveCountTable::Entry* symbol_entry = symbols_.find(symbol_key);
  std::optional<std::uint32_t> chosen;
  if (symbol_entry != nullptr) {
    // Under every strategy a symbol's book lives on its home worker while it has live orders:
    // go there or nowhere (another worker would hold a second book that never meets the first).
    const Slot& home = slots_[symbol_entry->home];
    if (!home.routable()) result.error = sticky_error(home);
    else if (!home.has_room(want.priority)) result.error = RouteError::no_capacity;
    else chosen = symbol_entry->home;
  } else {
    chosen = place_new(request.symbol_hash, want);  // the strategy places a symbol it has not seen live
    if (!chosen) result.error = diagnose(want);
  }
  if (!chosen) {
    ++rejects_[index_of(result.error)];
    return result;
  }
  commit(*chosen, request.symbol_hash, symbol_entry);
  ++routed_;
  result.worker = WorkerId{*chosen};
  return result;
}

std::optional<std::uint32_t> LoadBalancer::place_new(std::uint64_t symbol_hash, Eligibility want) {
  return config_.strategy == Strategy::hash ? pick_on_ring(symbol_hash, want) : pick(want);
}

void LoadBalancer::commit(std::uint32_t slot, std::uint64_t symbol_hash, LiveCountTable::Entry* symbol_entry) {
  Slot& s = slots_[slot];
  ++s.load;
  ++s.routed;
  ++pairs_.find_or_insert({symbol_hash, slot}).count;
  LiveCountTable::Entry& e = symbol_entry != nullptr
                                 ? *symbol_entry
                                 : symbols_.find_or_insert({symbol_hash, 0});
  // The home is fixed while the symbol has live orders (route() sends them all there).
  if (e.count == 0) e.home = slot;
  ++e.count;
}

RouteError LoadBalancer::sticky_error(const Slot& home) const noexcept {
  return home.draining || home.removed ? RouteError::symbol_draining : RouteError::no_healthy_worker;
}

template <typename Key>
std::optional<std::uint32_t> LoadBalancer::pick_min(Eligibility want, Key key) const {
  std::optional<std::uint32_t> best;
  decltype(key(slots_.front())) best_key{};
  // Slot order and a strict `<`, so ties go to the lowest WorkerId. Removed slots fail
  // eligible(); the best key stays in registers instead of being reloaded each step.
  const auto n = static_cast<std::uint32_t>(slots_.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const Slot& s = slots_[i];
    if (!eligible(s, want)) continue;
    const auto k = key(s);
    if (!best || k < best_key) {
      best = i;
      best_key = k;
    }
  }
  return best;
}

std::optional<std::uint32_t> LoadBalancer::pick(Eligibility want) {
  switch (config_.strategy) {
    case Strategy::round_robin: return pick_round_robin(want);
    case Strategy::least_connections:
      return pick_min(want, [](const Slot& s) { return s.load; });
    case Strategy::weighted_capacity: return pick_weighted(want);
    case Strategy::lowest_latency:
      return pick_latency(want);
    case Strategy::hash: break;
  }
  assert(false && "hash is routed on the ring");
  return std::nullopt;
}

std::optional<std::uint32_t> LoadBalancer::pick_weighted(Eligibility want) const {
  // Lowest (load + 1) / capacity, compared by cross-multiplying (exact, no division); the best
  // pair stays in registers instead of being reloaded through the slot each step.
  std::optional<std::uint32_t> best;
  std::uint64_t best_next = 1;
  std::uint64_t best_capacity = 0;
  const auto n = static_cast<std::uint32_t>(slots_.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const Slot& s = slots_[i];
    if (!eligible(s, want)) continue;
    const std::uint64_t next = std::uint64_t{s.load} + 1;
    if (!best || next * best_capacity < best_next * s.capacity) {
      best = i;
      best_next = next;
      best_capacity = s.capacity;
    }
  }
  return best;
}

std::optional<std::uint32_t> LoadBalancer::pick_latency(Eligibility want) const {
  std::optional<std::uint32_t> best;
  double best_latency = 0.0;
  std::uint32_t best_load = 0;
  const auto n = static_cast<std::uint32_t>(slots_.size());
  for (std::uint32_t i = 0; i < n; ++i) {
    const Slot& s = slots_[i];
    if (!eligible(s, want)) continue;
    // Equal latency (e.g. seeds not yet measured) falls back to fewer live orders.
    if (!best || s.latency_us < best_latency || (s.latency_us == best_latency && s.load < best_load)) {
      best = i;
      best_latency = s.latency_us;
      best_load = s.load;
    }
  }
  return best;
}

std::optional<std::uint32_t> LoadBalancer::pick_round_robin(Eligibility want) {
  const std::size_t n = active_.size();
  for (std::size_t k = 0; k < n; ++k) {
    std::size_t idx = rr_cursor_ + k;
    if (idx >= n) idx -= n;
    if (!eligible(slots_[active_[idx]], want)) continue;
    rr_cursor_ = idx + 1 == n ? 0 : idx + 1;
    return active_[idx];
  }
  return std::nullopt;
}

std::optional<std::uint32_t> LoadBalancer::pick_on_ring(std::uint64_t symbol_hash,
                                                        Eligibility want) const {
  const HashRing& ring = ring_;
  if (ring.empty()) return std::nullopt;
  // Bounded-load totals over the workers that could take this order if they had room. The scan
  // also spares a full-ring walk when nobody has room.
  std::uint64_t load_sum = 0;
  std::uint64_t capacity_sum = 0;
  bool any_room = false;
  for (std::uint32_t i : active_) {
    const Slot& s = slots_[i];
    if ((s.class_mask & want.class_bit) == 0 || !s.routable()) continue;
    load_sum += s.load;
    capacity_sum += s.capacity;
    any_room = any_room || s.has_room(want.priority);
  }
  if (!any_room) return std::nullopt;
  const double factor = config_.hash_balance_factor;
  // Mirrokni et al.: a worker may take the new symbol while load + 1 <= ceil(c * share of the
  // total after placement), share = capacity / total capacity. The ceil guarantees a taker.
  const double scaled_total = factor * static_cast<double>(load_sum + 1) / static_cast<double>(capacity_sum);
  std::optional<std::uint32_t> first_fit;
  std::size_t idx = ring.first_at_or_after(symbol_hash);
  for (std::size_t step = 0; step < ring.size(); ++step, idx = ring.next(idx)) {
    const std::uint32_t owner = ring.owner_at(idx);
    const Slot& s = slots_[owner];
    if (!eligible(s, want)) continue;
    if (factor <= 0.0) return owner;
    if (!first_fit) first_fit = owner;
    const double limit = std::ceil(scaled_total * static_cast<double>(s.capacity));
    if (static_cast<double>(s.load) + 1.0 <= limit) return owner;
  }
  return first_fit;  // only reachable through floating-point rounding
}

RouteError LoadBalancer::diagnose(Eligibility want) const noexcept {
  bool any = false;
  bool serves_class = false;
  bool routable = false;
  for (std::uint32_t i : active_) {
    const Slot& s = slots_[i];
    any = true;
    if ((s.class_mask & want.class_bit) == 0) continue;
    serves_class = true;
    routable = routable || s.routable();
  }
  if (!any) return RouteError::no_healthy_worker;
  if (!serves_class) return RouteError::no_worker_for_class;
  if (!routable) return RouteError::no_healthy_worker;
  return RouteError::no_capacity;
}

std::uint64_t LoadBalancer::class_bit(std::string_view instrument_class) const noexcept {
  for (std::size_t i = 0; i < classes_.size(); ++i) {
    if (classes_[i] == instrument_class) return std::uint64_t{1} << i;
  }
  // A class no worker lists: only the serve-everything workers (mask all ones) take it.
  return unlisted_class_bit;
}

ManageError LoadBalancer::release(WorkerId worker, std::uint64_t symbol_hash) noexcept {
  Slot* s = slot_of(worker);
  if (s == nullptr) return ManageError::unknown_worker;
  LiveCountTable::Entry* pair = pairs_.find({symbol_hash, worker.value});
  if (pair == nullptr) return ManageError::not_routed;
  assert(s->load > 0);
  [[maybe_unused]] const bool pair_gone = pairs_.decrement(pair) == 0;
  --s->load;
  ++released_;
  LiveCountTable::Entry* e = symbols_.find({symbol_hash, 0});
  assert(e != nullptr);
  // A symbol's live orders are all on its home (route(), move_symbol()): when the
  // home's last one goes, so does the symbol's entry.
  [[maybe_unused]] const std::uint32_t left = symbols_.decrement(e);
  assert(!pair_gone || left == 0);
  return ManageError::ok;
}

ManageError LoadBalancer::record_latency(WorkerId worker, double latency_us) noexcept {
  Slot* s = slot_of(worker);
  if (s == nullptr) return ManageError::unknown_worker;
  if (!std::isfinite(latency_us) || latency_us < 0.0) return ManageError::bad_value;
  s->latency_us += config_.latency_alpha * (latency_us - s->latency_us);
  return ManageError::ok;
}

std::uint32_t LoadBalancer::live_orders(WorkerId worker, std::uint64_t symbol_hash) const noexcept {
  const LiveCountTable::Entry* pair = pairs_.find({symbol_hash, worker.value});
  return pair == nullptr ? 0 : pair->count;
}

LoadBalancer::Slot* LoadBalancer::slot_of(WorkerId worker) noexcept {
  return worker.value < slots_.size() ? &slots_[worker.value] : nullptr;
}

}  // namespace tradeshard::balance

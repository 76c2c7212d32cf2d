// Live management, lookups, views and stats of the load balancer (admin path: may allocate).
#include <algorithm>
#include <cmath>
#include <functional>

#include "tradeshard/balance/load_balancer.hpp"

namespace tradeshard::balance {

namespace {

constexpr std::size_t max_classes = 63;  // bit 63 stands for "a class no worker lists"
constexpr std::uint32_t max_points = 4096;
constexpr std::uint32_t max_reserve_pct = 50;

bool valid_factor(double f) noexcept { return f == 0.0 || (std::isfinite(f) && f >= 1.0); }

}  // namespace

std::string_view to_string(ConfigError e) noexcept {
  switch (e) {
    case ConfigError::ok: return "ok";
    case ConfigError::bad_balance_factor: return "hash_balance_factor must be 0 (off) or >= 1";
    case ConfigError::bad_points: return "points_per_worker must be 1..4096";
    case ConfigError::bad_latency_alpha: return "latency_alpha must be in (0, 1]";
    case ConfigError::bad_reserve: return "priority_reserve_pct must be 0..50";
  }
  return "ok";
}

ConfigError validate(const Config& c) noexcept {
  if (!valid_factor(c.hash_balance_factor)) return ConfigError::bad_balance_factor;
  if (c.points_per_worker == 0 || c.points_per_worker > max_points) return ConfigError::bad_points;
  if (!(c.latency_alpha > 0.0 && c.latency_alpha <= 1.0)) return ConfigError::bad_latency_alpha;
  if (c.priority_reserve_pct > max_reserve_pct) return ConfigError::bad_reserve;
  return ConfigError::ok;
}

std::string_view to_string(RouteError e) noexcept {
  switch (e) {
    case RouteError::ok: return "ok";
    case RouteError::no_capacity: return "no_capacity";
    case RouteError::no_healthy_worker: return "no_healthy_worker";
    case RouteError::no_worker_for_class: return "no_worker_for_class";
    case RouteError::symbol_draining: return "symbol_draining";
  }
  return "ok";
}

std::string_view to_string(ManageError e) noexcept {
  switch (e) {
    case ManageError::ok: return "ok";
    case ManageError::unknown_worker: return "unknown_worker";
    case ManageError::duplicate_id: return "duplicate_id";
    case ManageError::invalid_spec: return "invalid_spec";
    case ManageError::too_many_classes: return "too_many_classes";
    case ManageError::bad_value: return "bad_value";
    case ManageError::not_routed: return "not_routed";
  }
  return "ok";
}

LoadBalancer::LoadBalancer(Config config) : config_(std::move(config)) {
  // The edge validates and names the bad key; here a bad field quietly takes its default.
  const Config defaults;
  if (!valid_factor(config_.hash_balance_factor)) config_.hash_balance_factor = defaults.hash_balance_factor;
  if (config_.points_per_worker == 0 || config_.points_per_worker > max_points) {
    config_.points_per_worker = defaults.points_per_worker;
  }
  if (!(config_.latency_alpha > 0.0 && config_.latency_alpha <= 1.0)) config_.latency_alpha = defaults.latency_alpha;
  if (config_.priority_reserve_pct > max_reserve_pct) config_.priority_reserve_pct = defaults.priority_reserve_pct;
}

std::size_t LoadBalancer::StringHash::operator()(std::string_view s) const noexcept {
  return std::hash<std::string_view>{}(s);
}

AddResult LoadBalancer::add_worker(WorkerSpec spec) {
  const AddResult added = add_slot(std::move(spec));
  if (added.error == ManageError::ok) {
    const std::uint32_t index = added.worker.value;
    ring_.add(specs_[index].id, index, config_.points_per_worker);
  }
  return added;
}

std::vector<AddResult> LoadBalancer::add_workers(std::vector<WorkerSpec> specs) {
  std::vector<AddResult> results;
  results.reserve(specs.size());
  for (WorkerSpec& spec : specs) results.push_back(add_slot(std::move(spec)));
  // Collected after all adds: specs_ may have reallocated, so the ids are read only now.
  std::vector<HashRing::Member> members;
  for (const AddResult& r : results) {
    if (r.error == ManageError::ok) members.push_back({specs_[r.worker.value].id, r.worker.value});
  }
  if (!members.empty()) ring_.add(members, config_.points_per_worker);
  return results;
}

AddResult LoadBalancer::add_slot(WorkerSpec&& spec) {
  if (spec.id.empty() || spec.capacity == 0 || !std::isfinite(spec.latency_us_seed) || spec.latency_us_seed < 0.0) {
    return {WorkerId{}, ManageError::invalid_spec};
  }
  if (by_id_.find(std::string_view{spec.id}) != by_id_.end()) return {WorkerId{}, ManageError::duplicate_id};
  std::size_t new_classes = 0;
  for (const std::string& c : spec.classes) {
    if (c.empty()) return {WorkerId{}, ManageError::invalid_spec};
    if (std::find(classes_.begin(), classes_.end(), c) == classes_.end()) ++new_classes;
  }
  if (classes_.size() + new_classes > max_classes) return {WorkerId{}, ManageError::too_many_classes};

  Slot slot;
  slot.class_mask = spec.classes.empty() ? ~std::uint64_t{0} : 0;
  for (const std::string& c : spec.classes) {
    auto it = std::find(classes_.begin(), classes_.end(), c);
    if (it == classes_.end()) it = classes_.insert(classes_.end(), c);
    slot.class_mask |= std::uint64_t{1} << static_cast<std::size_t>(it - classes_.begin());
  }
  slot.capacity = spec.capacity;
  // Rounded down, so a worker of capacity 1..9 at 10 % reserves nothing; at most half (bounded).
  slot.normal_limit = spec.capacity - static_cast<std::uint32_t>(std::uint64_t{spec.capacity} * config_.priority_reserve_pct / 100);
  slot.latency_us = spec.latency_us_seed;

  const auto index = static_cast<std::uint32_t>(slots_.size());
  by_id_.emplace(spec.id, index);
  slots_.push_back(slot);
  specs_.push_back(std::move(spec));
  active_.push_back(index);
  return {WorkerId{index}, ManageError::ok};
}

ManageError LoadBalancer::drain(std::string_view id) {
  Slot* s = slot_of(id);
  if (s == nullptr) return ManageError::unknown_worker;
  s->draining = true;
  return ManageError::ok;
}

ManageError LoadBalancer::set_healthy(std::string_view id, bool healthy) {
  Slot* s = slot_of(id);
  if (s == nullptr) return ManageError::unknown_worker;
  s->healthy = healthy;
  return ManageError::ok;
}

bool LoadBalancer::is_drained(std::string_view id) const {
  const Slot* s = slot_of(id);
  return s != nullptr && s->draining && s->load == 0;
}

RemoveResult LoadBalancer::remove(std::string_view id) {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return {WorkerId{}, ManageError::unknown_worker, 0};
  const std::uint32_t index = it->second;
  Slot& s = slots_[index];
  s.removed = true;
  ring_.remove(index);
  by_id_.erase(it);
  active_.erase(std::find(active_.begin(), active_.end(), index));
  if (rr_cursor_ >= active_.size()) rr_cursor_ = 0;
  return {WorkerId{index}, ManageError::ok, s.load};
}

// Changes where symbols without live orders go; a symbol with live orders stays on its home.
void LoadBalancer::set_strategy(Strategy strategy) noexcept { config_.strategy = strategy; }

std::optional<WorkerId> LoadBalancer::place(const RouteRequest& request) {
  const Eligibility want{class_bit(request.instrument_class), request.priority != core::Priority::normal};
  const auto chosen = place_new(request.symbol_hash, want);
  if (!chosen) return std::nullopt;
  return WorkerId{*chosen};
}

ManageError LoadBalancer::move_symbol(std::uint64_t symbol_hash, WorkerId from, WorkerId to) {
  Slot* f = slot_of(from);
  Slot* t = slot_of(to);
  if (f == nullptr || t == nullptr || t->removed) return ManageError::unknown_worker;
  if (from.value == to.value) return ManageError::bad_value;
  LiveCountTable::Entry* pair = pairs_.find({symbol_hash, from.value});
  if (pair == nullptr) return ManageError::not_routed;
  const std::uint32_t n = pair->count;
  pair->count = 1;
  (void)pairs_.decrement(pair);  // erased: every order of the pair moved
  pairs_.find_or_insert({symbol_hash, to.value}).count += n;
  f->load -= n;
  t->load += n;
  if (LiveCountTable::Entry* e = symbols_.find({symbol_hash, 0})) e->home = to.value;
  return ManageError::ok;
}

ManageError LoadBalancer::set_hash_balance_factor(double factor) noexcept {
  if (!valid_factor(factor)) return ManageError::bad_value;
  config_.hash_balance_factor = factor;
  return ManageError::ok;
}

std::optional<WorkerId> LoadBalancer::find(std::string_view id) const {
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return WorkerId{it->second};
}

const LoadBalancer::Slot* LoadBalancer::slot_of(std::string_view id) const {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &slots_[it->second];
}

LoadBalancer::Slot* LoadBalancer::slot_of(std::string_view id) {
  const auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : &slots_[it->second];
}

WorkerView LoadBalancer::view_of(std::uint32_t index) const {
  const Slot& s = slots_[index];
  const WorkerSpec& spec = specs_[index];
  WorkerView v;
  v.worker = WorkerId{index};
  v.id = spec.id;
  v.address = spec.address;
  v.capacity = s.capacity;
  v.current_load = s.load;
  v.available_capacity = s.has_room() ? s.capacity - s.load : 0;
  v.load_pct = 100.0 * static_cast<double>(s.load) / static_cast<double>(s.capacity);
  v.state = s.removed    ? WorkerState::removed
            : s.draining ? WorkerState::draining
            : s.healthy  ? WorkerState::healthy
                         : WorkerState::unhealthy;
  v.healthy = s.healthy;
  v.latency_us = s.latency_us;
  v.orders_routed = s.routed;
  v.classes = spec.classes;
  return v;
}

std::optional<WorkerView> LoadBalancer::worker(WorkerId worker) const {
  if (worker.value >= slots_.size()) return std::nullopt;
  return view_of(worker.value);
}

std::vector<WorkerView> LoadBalancer::workers() const {
  std::vector<WorkerView> out;
  out.reserve(slots_.size());
  for (std::uint32_t i = 0; i < slots_.size(); ++i) {
    // A removed worker stays visible while its orders are being cancelled and released.
    if (!slots_[i].removed || slots_[i].load > 0) out.push_back(view_of(i));
  }
  return out;
}

BalancerStats LoadBalancer::stats() const {
  BalancerStats st;
  st.strategy = config_.strategy;
  std::uint64_t active_load = 0;
  std::uint32_t max_load = 0;
  for (const Slot& s : slots_) {
    st.total_load += s.load;
    if (s.removed) continue;
    ++st.workers;
    if (s.routable()) ++st.routable_workers;
    st.total_capacity += s.capacity;
    active_load += s.load;
    max_load = std::max(max_load, s.load);
  }
  if (st.total_capacity > 0) {
    st.utilization_pct = 100.0 * static_cast<double>(st.total_load) / static_cast<double>(st.total_capacity);
  }
  if (active_load > 0) {
    st.imbalance = static_cast<double>(max_load) * st.workers / static_cast<double>(active_load);
  }
  st.orders_routed = routed_;
  st.orders_released = released_;
  st.rejects = rejects_;
  st.live_symbols = symbols_.size();
  return st;
}

}  // namespace tradeshard::balance

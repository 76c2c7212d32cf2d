// OrderFlow, admin half: live worker management and read-only views.
#include <algorithm>

#include "tradeshard/app/order_flow.hpp"

namespace tradeshard::app {

std::string OrderFlow::add_worker(const WorkerConfig& w) {
  balance::WorkerSpec spec{w.id, w.address.empty() ? "inproc://" + w.id : w.address, w.capacity, w.classes,
                           w.latency_us};
  const auto r = balancer_.add_worker(std::move(spec));
  if (r.error != balance::ManageError::ok) return std::string(balance::to_string(r.error));
  if (r.worker.value != workers_.size()) return "internal: worker slot out of order";
  const std::uint32_t queue = w.queue_capacity ? w.queue_capacity : w.capacity;
  venue_.add_worker(r.worker.value, w.id, queue,
                    static_cast<std::uint32_t>(std::uint64_t{queue} * config_.balancer.priority_reserve_pct / 100));
  workers_.push_back(WorkerSlot{w.id, r.worker});
  // A new worker takes load: the books that bring the busiest worker down move to it (and others),
  // when there is enough load to be worth a move (rebalance.min_load).
  if (config_.balancer.rebalance.enabled && !orders_.empty()) {
    const auto now = balancer_.plan_rebalance(symbol_loads(), {config_.balancer.rebalance.max_over_avg, 0, 0});
    if (now.mean >= config_.balancer.rebalance.min_load) (void)rebalance(last_sample_ms_);
  }
  return {};
}

// Draining moves the worker's books, live, to where the strategy places each symbol now; a book
// nobody can take (no other worker of its class with room) stays until its orders end.
std::string OrderFlow::drain_worker(std::string_view id) {
  const auto e = balancer_.drain(id);
  if (e != balance::ManageError::ok) return std::string(balance::to_string(e));
  const std::uint32_t wi = balancer_.find(id)->value;
  workers_[wi].draining = true;
  workers_[wi].draining_since_ms = -1;  // stamped by the next sweep: a timeout never fires early
  move_books_off(wi);
  retire_if_drained(wi);
  return {};
}

// The worker is draining (the balancer places nothing on it): each symbol it holds moves to where
// the strategy places it now.
void OrderFlow::move_books_off(std::uint32_t wi) {
  std::vector<core::InstrumentId> held;
  for (const auto& [key, r] : orders_) {
    if (r.worker == wi && std::find(held.begin(), held.end(), r.order.instrument) == held.end()) {
      held.push_back(r.order.instrument);
    }
  }
  for (const auto inst : held) {
    if (workers_[wi].removed) break;
    const auto& in = instruments_.at(inst);
    // A move is never refused for the reserve: the book's orders are already admitted.
    const auto to = balancer_.place({in.symbol, symbol_hash_[inst], in.cls, core::Priority::emergency});
    std::size_t moved = 0;
    if (to) (void)move_instrument(inst, to->value, moved);
  }
}

std::string OrderFlow::move_book(std::string_view symbol, std::string_view to, std::size_t& moved) {
  moved = 0;
  const auto inst = instruments_.find(symbol);
  if (!inst) return "unknown_symbol";
  const auto wid = balancer_.find(to);
  if (!wid) return "unknown_worker";
  const auto view = balancer_.worker(*wid);
  if (!view || view->state != balance::WorkerState::healthy) return "worker_not_routable";
  return move_instrument(*inst, wid->value, moved);
}

// O(orders moved): the symbol's home says where its book is, the venue says which orders went.
std::string OrderFlow::move_instrument(core::InstrumentId inst, std::uint32_t to, std::size_t& moved) {
  const auto home = balancer_.home(symbol_hash_[inst]);
  if (!home) return "no_live_orders";
  const std::uint32_t from = home->value;
  if (from == to) return {};
  std::vector<book::OrderKey> keys;
  if (auto err = venue_.move_book(inst, from, to, keys); !err.empty()) return err;
  // The venue holds the book on `to` now: the balancer's accounting and every record follow.
  (void)balancer_.move_symbol(symbol_hash_[inst], workers_[from].id, workers_[to].id);
  for (const auto key : keys) {
    if (const auto it = orders_.find(key); it != orders_.end()) it->second.worker = to;
  }
  moved = keys.size();
  ++stats_.books_moved;
  retire_if_drained(from);
  return {};
}

std::vector<std::vector<std::string_view>> OrderFlow::symbols_by_worker() const {
  std::vector<std::vector<std::string_view>> out(workers_.size());
  balancer_.for_each_home([&](std::uint64_t symbol_hash, balance::WorkerId worker) {
    if (const auto it = instrument_by_hash_.find(symbol_hash); it != instrument_by_hash_.end()) {
      out[worker.value].push_back(instruments_.at(it->second).symbol);
    }
  });
  for (auto& list : out) std::sort(list.begin(), list.end());
  return out;
}

std::vector<double> OrderFlow::load_by_worker() const {
  std::vector<double> out(workers_.size(), 0.0);
  balancer_.for_each_home([&](std::uint64_t symbol_hash, balance::WorkerId worker) {
    if (const auto it = instrument_by_hash_.find(symbol_hash); it != instrument_by_hash_.end()) {
      out[worker.value] += load_rate_[it->second];
    }
  });
  return out;
}

std::optional<RebalanceReport> OrderFlow::sample_load(std::int64_t now_ms, std::int64_t elapsed_ms) {
  if (elapsed_ms <= 0) return std::nullopt;
  // EWMA with weight 1/2 per sample: a symbol's load follows a change within a few samples.
  const double per_second = 1000.0 / static_cast<double>(elapsed_ms);
  for (std::size_t i = 0; i < work_.size(); ++i) {
    load_rate_[i] = 0.5 * load_rate_[i] + 0.5 * static_cast<double>(work_[i]) * per_second;
    if (load_rate_[i] < 1e-3) load_rate_[i] = 0.0;
    work_[i] = 0;
  }
  last_sample_ms_ = now_ms;
  sweep_draining(now_ms);
  if (!config_.balancer.rebalance.enabled) return std::nullopt;
  // max_moves 0: only the imbalance as it stands.
  const auto now = balancer_.plan_rebalance(symbol_loads(), {config_.balancer.rebalance.max_over_avg, 0, 0});
  if (!trigger_.due(now_ms, now.before, now.mean)) return std::nullopt;
  return rebalance(now_ms);
}

void OrderFlow::sweep_draining(std::int64_t now_ms) {
  for (std::uint32_t wi = 0; wi < workers_.size(); ++wi) {
    WorkerSlot& w = workers_[wi];
    if (!w.draining || w.removed) continue;
    move_books_off(wi);  // a worker added since may take what could go nowhere before
    if (w.removed) continue;
    if (w.draining_since_ms < 0) w.draining_since_ms = now_ms;
    const auto timeout = config_.balancer.drain_timeout_ms;
    if (timeout == 0 || now_ms - w.draining_since_ms < static_cast<std::int64_t>(timeout)) continue;
    cancel_on(wi, "drain_timeout");  // the last cancel retires the worker
  }
}

void OrderFlow::cancel_on(std::uint32_t wi, std::string_view reason) {
  std::vector<OrderRef> refs;
  for (auto& [key, r] : orders_) {
    if (r.worker != wi) continue;
    r.done_reason = reason;
    refs.push_back(ref(key, r));
  }
  venue_.cancel_all(refs);
}

std::vector<balance::SymbolLoad> OrderFlow::symbol_loads() const {
  std::vector<balance::SymbolLoad> loads;
  for (std::size_t i = 0; i < load_rate_.size(); ++i) {
    if (load_rate_[i] > 0.0) loads.push_back({symbol_hash_[i], instruments_.all()[i].cls, load_rate_[i]});
  }
  return loads;
}

RebalanceReport OrderFlow::rebalance(std::int64_t now_ms) {
  RebalanceReport report;
  const auto loads = symbol_loads();
  const balance::RebalanceOptions options{config_.balancer.rebalance.max_over_avg, 0, 64};
  const auto plan = balancer_.plan_rebalance(loads, options);
  trigger_.ran(now_ms);
  report.mean = plan.mean;
  report.before = plan.before;
  for (const auto& m : plan.moves) {
    const auto inst = instrument_by_hash_.at(m.symbol_hash);
    std::size_t moved = 0;
    if (!move_instrument(inst, m.to.value, moved).empty()) continue;
    ++stats_.rebalance_moves;
    report.moves.push_back({instruments_.at(inst).symbol, workers_[m.from.value].name, workers_[m.to.value].name,
                            m.load, moved});
  }
  // As things stand now (a move the venue refused stays where it was).
  report.after = balancer_.plan_rebalance(loads, {options.max_over_avg, 0, 0}).before;
  if (!report.moves.empty()) {
    ++stats_.rebalances;
  }
  return report;
}

void OrderFlow::retire(std::uint32_t wi) {
  workers_[wi].removed = true;
  venue_.retire_worker(wi);
}

// A draining worker leaves once it holds nothing: no live order means nothing to cancel or tell.
void OrderFlow::retire_if_drained(std::uint32_t wi) {
  WorkerSlot& w = workers_[wi];
  if (!w.draining || w.removed || !balancer_.is_drained(w.name)) return;
  if (balancer_.remove(w.name).error == balance::ManageError::ok) retire(wi);
}

std::string OrderFlow::set_worker_health(std::string_view id, bool healthy) {
  const auto e = balancer_.set_healthy(id, healthy);
  return e == balance::ManageError::ok ? std::string{} : std::string(balance::to_string(e));
}

std::string OrderFlow::set_strategy(std::string_view name) {
  const auto s = balance::parse_strategy(name);
  if (!s) {
    std::string names;
    for (const auto known : balance::all_strategies) names += (names.empty() ? "" : ", ") + std::string(to_string(known));
    return "unknown strategy (" + names + ")";
  }
  balancer_.set_strategy(*s);
  return {};
}

// Removing a worker first moves its books, live, to where the strategy places them (as drain
// does); what can go nowhere is cancelled: its queued and resting orders end with
// done:"worker_removed" to their owners, so no order is orphaned. Then the slot is retired.
std::string OrderFlow::remove_worker(std::string_view id) {
  const auto wid = balancer_.find(id);
  if (!wid) return "unknown_worker";
  const std::uint32_t wi = wid->value;
  if (auto e = balancer_.drain(id); e != balance::ManageError::ok) return std::string(balance::to_string(e));
  move_books_off(wi);
  cancel_on(wi, "worker_removed");
  if (workers_[wi].removed) return {};  // it was draining: the last cancel retired it already
  const auto r = balancer_.remove(id);
  if (r.error != balance::ManageError::ok) return std::string(balance::to_string(r.error));
  retire(wi);
  return {};
}

std::vector<OrderFlow::OpenOrder> OrderFlow::open_orders(std::string_view account) const {
  std::vector<OpenOrder> out;
  const auto a = account_ids_.find(std::string(account));
  if (a == account_ids_.end()) return out;
  for (const auto& [id, key] : accounts_[a->second].live) {
    const auto& r = orders_.at(key);
    out.push_back(OpenOrder{id, instruments_.at(r.order.instrument).symbol, workers_[r.worker].name, r.order.side,
                            r.order.price, r.order.qty, r.leaves, r.queued});
  }
  return out;
}

}  // namespace tradeshard::app

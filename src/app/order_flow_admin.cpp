// OrderFlow, admin half: live worker management and read-only views.
#include "tradeshard/app/order_flow.hpp"

namespace tradeshard::app {

std::string OrderFlow::add_worker(const WorkerConfig& w) {
  balance::WorkerSpec spec{w.id, w.address.empty() ? "inproc://" + w.id : w.address, w.capacity, w.pool, w.classes,
                           w.latency_us};
  const auto r = balancer_.add_worker(std::move(spec));
  if (r.error != balance::ManageError::ok) return std::string(balance::to_string(r.error));
  if (r.worker.value != workers_.size()) return "internal: worker slot out of order";
  venue_.add_worker(r.worker.value, w.id, w.queue_capacity ? w.queue_capacity : w.capacity);
  workers_.push_back(WorkerSlot{w.id, r.worker});
  return {};
}

std::string OrderFlow::drain_worker(std::string_view id) {
  const auto e = balancer_.drain(id);
  if (e != balance::ManageError::ok) return std::string(balance::to_string(e));
  const auto wid = balancer_.find(id);
  workers_[wid->value].draining = true;
  retire_if_drained(wid->value);
  return {};
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

// Removing a worker cancels what it still holds: queued orders and resting orders end with
// done:"worker_removed" to their owners, so no order is orphaned; then the slot is retired.
std::string OrderFlow::remove_worker(std::string_view id) {
  const auto wid = balancer_.find(id);
  if (!wid) return "unknown_worker";
  const std::uint32_t wi = wid->value;
  if (auto e = balancer_.drain(id); e != balance::ManageError::ok) return std::string(balance::to_string(e));
  std::vector<OrderRef> refs;
  for (auto& [key, r] : orders_) {
    if (r.worker != wi) continue;
    r.done_reason = "worker_removed";
    refs.push_back(ref(key, r));
  }
  venue_.cancel_all(refs);
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

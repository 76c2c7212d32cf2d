// OrderFlow, admin half: live worker management and read-only views.
#include <algorithm>

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

// Draining moves the worker's books, live, to where the strategy places each symbol now; a book
// nobody can take (no other worker in its pool and class with room) stays until its orders end.
std::string OrderFlow::drain_worker(std::string_view id) {
  const auto e = balancer_.drain(id);
  if (e != balance::ManageError::ok) return std::string(balance::to_string(e));
  const std::uint32_t wi = balancer_.find(id)->value;
  workers_[wi].draining = true;
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
  const auto view = balancer_.worker(workers_[wi].id);
  const bool vip_pool = view && view->pool == balancer_.config().vip_pool;
  for (const auto inst : held) {
    if (workers_[wi].removed) break;
    const auto& in = instruments_.at(inst);
    const auto to = balancer_.place({in.symbol, symbol_hash_[inst], in.cls, core::Priority::normal, vip_pool});
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

std::string OrderFlow::move_instrument(core::InstrumentId inst, std::uint32_t to, std::size_t& moved) {
  std::optional<std::uint32_t> from;
  std::size_t n = 0;
  for (const auto& [key, r] : orders_) {
    if (r.order.instrument != inst) continue;
    if (from && *from != r.worker) return "book_split";  // VIP and general orders: one home per pool
    from = r.worker;
    ++n;
  }
  if (!from) return "no_live_orders";
  if (*from == to) return {};
  const auto from_view = balancer_.worker(workers_[*from].id);
  const auto to_view = balancer_.worker(workers_[to].id);
  if (!from_view || !to_view || from_view->pool != to_view->pool) return "other_pool";
  if (auto err = venue_.move_book(inst, *from, to); !err.empty()) return err;
  // The venue holds the book on `to` now: the balancer's accounting and every record follow.
  (void)balancer_.move_symbol(symbol_hash_[inst], workers_[*from].id, workers_[to].id);
  for (auto& [key, r] : orders_) {
    if (r.order.instrument == inst) r.worker = to;
  }
  moved = n;
  ++stats_.books_moved;
  retire_if_drained(*from);
  return {};
}

std::vector<std::vector<std::string_view>> OrderFlow::symbols_by_worker() const {
  std::vector<std::vector<std::string_view>> out(workers_.size());
  for (const auto& [key, r] : orders_) {
    auto& list = out[r.worker];
    const std::string_view sym = instruments_.at(r.order.instrument).symbol;
    if (std::find(list.begin(), list.end(), sym) == list.end()) list.push_back(sym);
  }
  for (auto& list : out) std::sort(list.begin(), list.end());
  return out;
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

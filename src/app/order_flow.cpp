#include "tradeshard/app/order_flow.hpp"

#include "tradeshard/core/hash.hpp"

namespace tradeshard::app {
namespace {

balance::Config balancer_config(const BalancerConfig& b) {
  balance::Config c;
  c.strategy = b.strategy;
  c.hash_balance_factor = b.hash_balance_factor;
  c.vip_fallback = b.vip_fallback;
  return c;
}

}  // namespace

OrderFlow::OrderFlow(const Config& config, const core::InstrumentTable& instruments, Outbox& outbox,
                     TradeLedger* ledger)
    : config_(config), instruments_(instruments), outbox_(outbox), ledger_(ledger),
      balancer_(balancer_config(config.balancer)) {
  for (const auto& in : instruments.all()) {
    symbol_hash_.push_back(core::stable_hash(in.symbol));
    trades_channel_.push_back("trades:" + in.symbol);
    depth_channel_.push_back("depth:" + in.symbol);
  }
  for (const auto& w : config.workers) {
    if (auto err = add_worker(w); !err.empty()) throw std::invalid_argument("workers: " + err);
  }
  for (const auto& a : config.balancer.vip_accounts) accounts_[account_id(a)].vip = true;
  events_.reserve(256);
}

book::AccountId OrderFlow::account_id(std::string_view name) {
  const auto it = account_ids_.find(std::string(name));
  if (it != account_ids_.end()) return it->second;
  const auto id = static_cast<book::AccountId>(accounts_.size());
  accounts_.push_back(Account{std::string(name), {}, false});
  account_ids_.emplace(std::string(name), id);
  return id;
}

void OrderFlow::reject(std::uint64_t conn, std::string_view id, std::string_view reason, std::string_view message) {
  outbox_.count_reject(reason);
  outbox_.send(conn, RejectOut{id, reason, message});
}

void OrderFlow::on_order(std::uint64_t conn, std::string_view account, const OrderCmd& cmd, Now now) {
  ++stats_.orders_in;
  if (ledger_ && !ledger_->available()) {
    return reject(conn, cmd.id, "ledger_unavailable", "the ledger has no quorum; orders are refused until it does");
  }
  const auto inst = instruments_.find(cmd.symbol);
  if (!inst) return reject(conn, cmd.id, "unknown_symbol", "no such instrument");
  const auto& in = instruments_.at(*inst);
  book::NewOrder o;
  o.instrument = *inst;
  o.side = cmd.side;
  o.type = cmd.kind == OrderKind::market ? book::OrderType::market : book::OrderType::limit;
  o.tif = cmd.tif == Tif::ioc ? book::TimeInForce::ioc : cmd.tif == Tif::fok ? book::TimeInForce::fok
                                                                              : book::TimeInForce::gtc;
  if (o.type == book::OrderType::limit) {
    const auto p = core::to_steps(cmd.price, in.tick_size);
    if (!p.ok()) return reject(conn, cmd.id, "bad_price_tick", "price is not a multiple of the tick size");
    if (p.steps <= 0) return reject(conn, cmd.id, "bad_price", "price must be positive");
    o.price = p.steps;
  }
  const auto q = core::to_steps(cmd.qty, in.lot_size);
  if (!q.ok()) return reject(conn, cmd.id, "bad_qty_lot", "qty is not a multiple of the lot size");
  if (q.steps <= 0) return reject(conn, cmd.id, "bad_qty", "qty must be positive");
  o.qty = q.steps;
  o.account = account_id(account);
  Account& acct = accounts_[o.account];
  if (acct.live.count(std::string(cmd.id))) {
    return reject(conn, cmd.id, "duplicate_id", "this account already has a live order with this id");
  }
  const auto route = balancer_.route({cmd.symbol, symbol_hash_[*inst], in.cls, cmd.priority, acct.vip});
  if (!route.ok()) return reject(conn, cmd.id, balance::to_string(route.error), "no eligible worker");
  const std::uint32_t wi = worker_index(route.worker);
  WorkerRuntime& w = workers_[wi];
  if (w.queue.size() >= w.queue_capacity) {
    balancer_.release(route.worker, symbol_hash_[*inst]);
    return reject(conn, cmd.id, "queue_full", "the worker's input queue is full");
  }
  o.key = ++next_key_;
  Record& r = orders_[o.key];
  r.client_id.assign(cmd.id);
  r.conn = conn;
  r.worker = wi;
  r.emergency = cmd.priority == core::Priority::emergency;
  r.order = o;
  r.received_ns = now.mono_ns;
  acct.live.emplace(r.client_id, o.key);
  conn_orders_[conn][r.client_id] = o.key;
  // Emergency orders are handled ahead of every order already queued on their worker.
  if (r.emergency) w.queue.push_front(o.key);
  else w.queue.push_back(o.key);
  ++queued_;
  if (queued_ > stats_.queued_peak) stats_.queued_peak = queued_;
}

book::OrderKey OrderFlow::find_order(std::uint64_t conn, std::string_view account, std::string_view id) const {
  if (!account.empty()) {
    const auto a = account_ids_.find(std::string(account));
    if (a == account_ids_.end()) return 0;
    const auto& live = accounts_[a->second].live;
    const auto it = live.find(std::string(id));
    return it == live.end() ? 0 : it->second;
  }
  const auto c = conn_orders_.find(conn);
  if (c == conn_orders_.end()) return 0;
  const auto it = c->second.find(std::string(id));
  return it == c->second.end() ? 0 : it->second;
}

void OrderFlow::cancel_queued(book::OrderKey key, std::string_view reason) {
  Record& r = orders_.at(key);
  // The queue entry stays and is skipped when reached: removal from the middle of a deque is O(n).
  --queued_;
  outbox_.send(r.conn, DoneOut{r.client_id, reason});
  ++stats_.done;
  finish(key);
}

void OrderFlow::on_cancel(std::uint64_t conn, std::string_view account, const CancelCmd& cmd) {
  const auto key = find_order(conn, account, cmd.id);
  if (key == 0) return reject(conn, cmd.id, "unknown_order", "no live order with this id");
  Record& r = orders_.at(key);
  if (!cmd.symbol.empty() && instruments_.at(r.order.instrument).symbol != cmd.symbol) {
    return reject(conn, cmd.id, "unknown_order", "no live order with this id for this symbol");
  }
  if (r.queued) return cancel_queued(key, "cancelled");
  events_.clear();
  const auto rc = workers_[r.worker].engine->cancel(r.order.account, key, events_);
  if (rc != book::RejectReason::ok) return reject(conn, cmd.id, book::to_string(rc), "cancel refused");
  dispatch(r.worker, events_, Now{});
}

void OrderFlow::on_replace(std::uint64_t conn, std::string_view account, const ReplaceCmd& cmd) {
  const auto key = find_order(conn, account, cmd.id);
  if (key == 0) return reject(conn, cmd.id, "unknown_order", "no live order with this id");
  Record& r = orders_.at(key);
  const auto& in = instruments_.at(r.order.instrument);
  if (r.order.type == book::OrderType::market) return reject(conn, cmd.id, "bad_field", "market orders cannot be replaced");
  core::Ticks price = r.order.price;
  core::Lots qty = r.order.qty;
  if (!r.queued) {
    const auto view = workers_[r.worker].engine->find(key);
    if (!view) return reject(conn, cmd.id, "unknown_order", "no live order with this id");
    price = view->price;
    qty = view->qty;
  }
  if (cmd.has_price) {
    const auto p = core::to_steps(cmd.price, in.tick_size);
    if (!p.ok()) return reject(conn, cmd.id, "bad_price_tick", "price is not a multiple of the tick size");
    if (p.steps <= 0) return reject(conn, cmd.id, "bad_price", "price must be positive");
    price = p.steps;
  }
  if (cmd.has_qty) {
    const auto q = core::to_steps(cmd.qty, in.lot_size);
    if (!q.ok()) return reject(conn, cmd.id, "bad_qty_lot", "qty is not a multiple of the lot size");
    if (q.steps <= 0) return reject(conn, cmd.id, "bad_qty", "qty must be positive");
    qty = q.steps;
  }
  if (r.queued) {  // not in a book yet: amend the queued order in place
    r.order.price = price;
    r.order.qty = qty;
    outbox_.send(r.conn, ReplacedOut{r.client_id, &in, price, qty});
    return;
  }
  events_.clear();
  const auto rc = workers_[r.worker].engine->replace(r.order.account, key, price, qty, events_);
  if (rc != book::RejectReason::ok) return reject(conn, cmd.id, book::to_string(rc), "replace refused");
  dispatch(r.worker, events_, Now{});
}

void OrderFlow::on_cancel_all(std::uint64_t conn, std::string_view account, const CancelAllCmd& cmd) {
  std::optional<core::InstrumentId> inst;
  if (!cmd.symbol.empty()) {
    inst = instruments_.find(cmd.symbol);
    if (!inst) return reject(conn, "", "unknown_symbol", "no such instrument");
  }
  // Without an account: every live order placed on this connection.
  std::vector<book::OrderKey> keys;
  if (!account.empty()) {
    const auto a = account_ids_.find(std::string(account));
    if (a != account_ids_.end()) {
      for (const auto& [id, key] : accounts_[a->second].live) keys.push_back(key);
    }
  } else if (const auto c = conn_orders_.find(conn); c != conn_orders_.end()) {
    for (const auto& [id, key] : c->second) keys.push_back(key);
  }
  for (const auto key : keys) {
    const auto it = orders_.find(key);
    if (it == orders_.end() || (inst && it->second.order.instrument != *inst)) continue;
    cancel_order(key, "cancelled");
  }
}

void OrderFlow::cancel_order(book::OrderKey key, std::string_view reason) {
  const auto it = orders_.find(key);
  if (it == orders_.end()) return;
  if (it->second.queued) return cancel_queued(key, reason);
  events_.clear();
  const auto worker = it->second.worker;
  if (workers_[worker].engine->cancel(it->second.order.account, key, events_) == book::RejectReason::ok) {
    dispatch(worker, events_, Now{}, reason == "cancelled" ? std::string_view{} : reason);
  }
}

void OrderFlow::on_disconnect(std::uint64_t conn) {
  const auto c = conn_orders_.find(conn);
  if (c == conn_orders_.end()) return;
  std::vector<book::OrderKey> keys;
  for (const auto& [id, key] : c->second) keys.push_back(key);
  conn_orders_.erase(c);
  for (const auto key : keys) {
    auto it = orders_.find(key);
    if (it == orders_.end()) continue;
    it->second.conn = 0;  // nobody to tell any more
    if (config_.matching.cancel_on_disconnect) cancel_order(key, "cancelled");
  }
}

bool OrderFlow::pump(Now now) {
  const std::size_t n = workers_.size();
  for (std::size_t k = 0; k < n && queued_ > 0; ++k) {
    WorkerRuntime& w = workers_[(pump_cursor_ + k) % n];
    for (std::uint32_t b = 0; b < config_.balancer.batch_size && !w.queue.empty(); ++b) {
      const auto key = w.queue.front();
      w.queue.pop_front();
      process(w, key, now);
    }
  }
  pump_cursor_ = n ? (pump_cursor_ + 1) % n : 0;
  if (!held_.empty()) flush_held();
  publish_depth();
  return queued_ > 0;
}

void OrderFlow::process(WorkerRuntime& w, book::OrderKey key, Now now) {
  const auto it = orders_.find(key);
  if (it == orders_.end() || !it->second.queued) return;  // cancelled while queued
  Record& r = it->second;
  r.queued = false;
  --queued_;
  events_.clear();
  (void)w.engine->submit(r.order, events_);  // a reject arrives as an event
  balancer_.record_latency(w.id, static_cast<double>(now.mono_ns - r.received_ns) / 1000.0);
  dispatch(r.worker, events_, now);
}

}  // namespace tradeshard::app

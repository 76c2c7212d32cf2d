#include "tradeshard/app/order_flow.hpp"

#include <stdexcept>

#include "tradeshard/core/hash.hpp"

namespace tradeshard::app {
namespace {

balance::Config balancer_config(const BalancerConfig& b) {
  balance::Config c;
  c.strategy = b.strategy;
  c.hash_balance_factor = b.hash_balance_factor;
  c.points_per_worker = b.points_per_worker;
  c.latency_alpha = b.latency_alpha;
  c.priority_reserve_pct = b.priority_reserve_pct;
  return c;
}

balance::RebalanceTrigger::Options trigger_options(const RebalanceConfig& r) {
  return {r.max_over_avg, r.min_load, r.after_ms, r.cooldown_ms};
}

bool terminal(const book::Event& ev) {
  return ev.type == book::EventType::done || ev.type == book::EventType::rejected;
}

}  // namespace

OrderFlow::OrderFlow(const Config& config, const core::InstrumentTable& instruments, Outbox& outbox, Venue& venue,
                     TradeEmitter& emitter, const TradeLedger* ledger)
    : config_(config), instruments_(instruments), outbox_(outbox), venue_(venue), emitter_(emitter), ledger_(ledger),
      balancer_(balancer_config(config.balancer)), trigger_(trigger_options(config.balancer.rebalance)) {
  for (const auto& in : instruments.all()) {
    symbol_hash_.push_back(core::stable_hash(in.symbol));
    instrument_by_hash_.emplace(symbol_hash_.back(), static_cast<core::InstrumentId>(symbol_hash_.size() - 1));
  }
  work_.assign(symbol_hash_.size(), 0);
  load_rate_.assign(symbol_hash_.size(), 0.0);
  for (const auto& w : config.workers) {
    if (auto err = add_worker(w); !err.empty()) throw std::invalid_argument("workers: " + err);
  }
  for (const auto& a : config.balancer.vip_accounts) accounts_[account_id(a)].vip = true;
  for (const auto& a : config.balancer.emergency_accounts) accounts_[account_id(a)].emergency = true;
}

book::AccountId OrderFlow::account_id(std::string_view name) {
  const auto it = account_ids_.find(std::string(name));
  if (it != account_ids_.end()) return it->second;
  const auto id = static_cast<book::AccountId>(accounts_.size());
  accounts_.push_back(Account{std::string(name), {}, false, false});
  account_ids_.emplace(std::string(name), id);
  return id;
}

void OrderFlow::reject(std::uint64_t conn, std::string_view id, std::string_view reason, std::string_view message) {
  outbox_.count_reject(reason);
  outbox_.send(conn, RejectOut{id, reason, message});
}

// A VIP account's orders ride the vip lane unless they ask for emergency; claiming a lane needs
// the account listed for it and, with auth on, the API key's permission.
std::string_view OrderFlow::lane_of(const Account& acct, core::Priority asked, PriorityGrant grant,
                                    core::Priority& lane) const {
  lane = asked;
  switch (asked) {
    case core::Priority::normal:
      if (acct.vip && grant.vip) lane = core::Priority::vip;
      return {};
    case core::Priority::vip:
      if (!acct.vip) return "priority vip needs the account in balancer.vip_accounts";
      if (!grant.vip) return "this API key may not claim priority vip (auth.api_keys[].priorities)";
      return {};
    case core::Priority::emergency:
      if (!acct.emergency) return "priority emergency needs the account in balancer.emergency_accounts";
      if (!grant.emergency) return "this API key may not claim priority emergency (auth.api_keys[].priorities)";
      return {};
  }
  return {};
}

void OrderFlow::on_order(std::uint64_t conn, std::string_view account, const OrderCmd& cmd, Now now,
                         PriorityGrant grant) {
  ++stats_.orders_in;
  if (ledger_ && !ledger_->available()) {
    return reject(conn, cmd.id, "ledger_unavailable",
                  "the ledger cannot commit trades now (no quorum, failed storage or a refused trade: see /health)");
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
  core::Priority lane = core::Priority::normal;
  if (const auto why = lane_of(acct, cmd.priority, grant, lane); !why.empty()) {
    ++stats_.priority_refused;
    return reject(conn, cmd.id, "priority_not_allowed", why);
  }
  ++work_[*inst];
  const auto route = balancer_.route({cmd.symbol, symbol_hash_[*inst], in.cls, lane});
  if (!route.ok()) return reject(conn, cmd.id, balance::to_string(route.error), "no eligible worker");
  const std::uint32_t wi = route.worker.value;  // workers are added in balancer slot order
  o.key = ++next_key_;
  // The record first: a venue may answer from inside submit().
  Record& r = orders_[o.key];
  r.client_id.assign(cmd.id);
  r.conn = conn;
  r.worker = wi;
  r.order = o;
  r.leaves = o.qty;
  r.received_ns = now.mono_ns;
  acct.live.emplace(r.client_id, o.key);
  conn_orders_[conn].emplace(r.client_id, o.key);
  if (!venue_.submit(wi, o, lane)) {
    acct.live.erase(std::string(cmd.id));
    forget(conn_orders_[conn], r.client_id, o.key);
    orders_.erase(o.key);
    balancer_.release(route.worker, symbol_hash_[*inst]);
    return reject(conn, cmd.id, "queue_full", "the worker's input queue is full");
  }
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
  const auto [first, last] = c->second.equal_range(std::string(id));
  if (first == last) return 0;
  return std::next(first) == last ? first->second : kAmbiguous;
}

bool OrderFlow::found(std::uint64_t conn, std::string_view id, book::OrderKey key) {
  if (key == 0) {
    reject(conn, id, "unknown_order", "no live order with this id");
    return false;
  }
  if (key == kAmbiguous) {
    reject(conn, id, "ambiguous_id", "this connection has live orders with this id for several accounts: name the account");
    return false;
  }
  return true;
}

void OrderFlow::forget(ConnOrders& orders, const std::string& id, book::OrderKey key) {
  const auto [first, last] = orders.equal_range(id);
  for (auto it = first; it != last; ++it) {
    if (it->second == key) {
      orders.erase(it);
      return;
    }
  }
}

void OrderFlow::on_cancel(std::uint64_t conn, std::string_view account, const CancelCmd& cmd) {
  const auto key = find_order(conn, account, cmd.id);
  if (!found(conn, cmd.id, key)) return;
  const Record& r = orders_.at(key);
  if (!cmd.symbol.empty() && instruments_.at(r.order.instrument).symbol != cmd.symbol) {
    return reject(conn, cmd.id, "unknown_order", "no live order with this id for this symbol");
  }
  ++work_[r.order.instrument];
  venue_.cancel(ref(key, r), conn);  // may end the record: r is not used after this
}

void OrderFlow::on_replace(std::uint64_t conn, std::string_view account, const ReplaceCmd& cmd) {
  const auto key = find_order(conn, account, cmd.id);
  if (!found(conn, cmd.id, key)) return;
  const Record& r = orders_.at(key);
  const auto& in = instruments_.at(r.order.instrument);
  if (r.order.type == book::OrderType::market) return reject(conn, cmd.id, "bad_field", "market orders cannot be replaced");
  core::Ticks price = r.order.price;
  core::Lots qty = r.order.qty;
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
  ++work_[r.order.instrument];
  venue_.replace(ref(key, r), price, qty, conn);  // may trade and end the record
}

void OrderFlow::on_cancel_all(std::uint64_t conn, std::string_view account, const CancelAllCmd& cmd) {
  std::optional<core::InstrumentId> inst;
  if (!cmd.symbol.empty()) {
    inst = instruments_.find(cmd.symbol);
    if (!inst) return reject(conn, "", "unknown_symbol", "no such instrument");
  }
  // Without an account: every live order placed on this connection.
  std::vector<OrderRef> refs;
  auto collect = [&](const auto& live) {
    for (const auto& [id, key] : live) {
      const Record& r = orders_.at(key);
      if (!inst || r.order.instrument == *inst) refs.push_back(ref(key, r));
    }
  };
  if (!account.empty()) {
    if (const auto a = account_ids_.find(std::string(account)); a != account_ids_.end()) collect(accounts_[a->second].live);
  } else if (const auto c = conn_orders_.find(conn); c != conn_orders_.end()) {
    collect(c->second);
  }
  venue_.cancel_all(refs);
}

void OrderFlow::on_disconnect(std::uint64_t conn) {
  const auto c = conn_orders_.find(conn);
  if (c == conn_orders_.end()) return;
  std::vector<OrderRef> refs;
  for (const auto& [id, key] : c->second) {
    Record& r = orders_.at(key);
    r.conn = 0;  // nobody to tell any more
    refs.push_back(ref(key, r));
  }
  conn_orders_.erase(c);
  if (config_.matching.cancel_on_disconnect) venue_.cancel_all(refs);
}

void OrderFlow::on_events(std::uint32_t worker, std::span<const book::Event> events, Now now) {
  const std::string_view worker_name = workers_[worker].name;
  emitter_.set_time(now.wall_ms);
  for (const book::Event& ev : events) {
    const auto it = orders_.find(ev.key);
    if (it == orders_.end()) continue;  // impossible: every event names a live record
    Record& r = it->second;
    Recipient to{r.conn, r.client_id, accounts_[r.order.account].name, {}, r.done_reason};
    switch (ev.type) {
      case book::EventType::accepted:
      case book::EventType::rejected:
        if (r.queued && now.mono_ns != 0) {
          const auto waited = now.mono_ns - r.received_ns;
          balancer_.record_latency(workers_[worker].id, static_cast<double>(waited) / 1000.0);
          if (ev.type == book::EventType::accepted) stats_.order_to_ack.record(static_cast<std::uint64_t>(waited));
        }
        r.queued = false;
        r.leaves = ev.remaining;
        break;
      case book::EventType::fill:
        r.leaves = ev.remaining;
        ++work_[r.order.instrument];
        if (ev.liquidity == book::Liquidity::taker) {
          const auto m = orders_.find(ev.counterparty);
          to.counterparty = accounts_[m != orders_.end() ? m->second.order.account : ev.account].name;
        }
        break;
      case book::EventType::replaced:
        r.order.price = ev.price;
        r.order.qty = ev.qty;
        r.leaves = ev.remaining;
        break;
      case book::EventType::done:
        break;
    }
    emitter_.on_event(worker, worker_name, ev, to);
    if (terminal(ev)) finish(ev.key);
  }
}

void OrderFlow::on_refused(const OrderRef& order, VenueOp op, book::RejectReason reason, std::uint64_t reply_to) {
  const auto it = orders_.find(order.key);
  const std::string_view id = it == orders_.end() ? std::string_view{} : std::string_view(it->second.client_id);
  reject(reply_to, id, book::to_string(reason), op == VenueOp::cancel ? "cancel refused" : "replace refused");
}

void OrderFlow::finish(book::OrderKey key) {
  const auto it = orders_.find(key);
  if (it == orders_.end()) return;
  Record& r = it->second;
  balancer_.release(workers_[r.worker].id, symbol_hash_[r.order.instrument]);
  auto& live = accounts_[r.order.account].live;
  if (const auto a = live.find(r.client_id); a != live.end() && a->second == key) live.erase(a);
  if (const auto c = conn_orders_.find(r.conn); c != conn_orders_.end()) forget(c->second, r.client_id, key);
  const auto worker = r.worker;
  orders_.erase(it);
  retire_if_drained(worker);
}

}  // namespace tradeshard::app

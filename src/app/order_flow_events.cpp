// OrderFlow, second half: engine events -> ledger -> wire, and depth/trade channels.
#include "tradeshard/app/order_flow.hpp"

namespace tradeshard::app {
namespace {
bool terminal(const book::Event& ev) {
  return ev.type == book::EventType::done || ev.type == book::EventType::rejected;
}
}  // namespace

bool OrderFlow::commit_trade(const book::Event& f, book::AccountId maker_account) {
  if (!ledger_) return true;
  const bool taker_buys = f.side == core::Side::buy;
  const auto& taker = accounts_[f.account].name;
  const auto& maker = accounts_[maker_account].name;
  return ledger_->commit(Trade{taker_buys ? taker : maker, taker_buys ? maker : taker, f.instrument, f.price, f.qty});
}

void OrderFlow::dispatch(std::uint32_t worker, const book::EventBuffer& events, Now now, std::string_view done_reason) {
  std::uint64_t engine_trade = 0, global_trade = 0;
  for (book::Event ev : events) {
    const auto it = orders_.find(ev.key);
    if (it == orders_.end()) continue;  // impossible: every event names a live record
    Record& r = it->second;
    book::AccountId maker_account = 0;
    if (ev.type == book::EventType::fill) {
      // Both fills of one trade share the engine's id; give them one daemon-wide id.
      if (ev.trade_id != engine_trade) {
        engine_trade = ev.trade_id;
        global_trade = ++trade_seq_;
      }
      ev.trade_id = global_trade;
      if (ev.liquidity == book::Liquidity::taker) {
        const auto m = orders_.find(ev.counterparty);
        maker_account = m != orders_.end() ? m->second.order.account : ev.account;
        ++stats_.trades;
        stats_.volume_lots += static_cast<std::uint64_t>(ev.qty);
        if (outbox_.has_subscribers(trades_channel_[ev.instrument])) {
          outbox_.publish(trades_channel_[ev.instrument],
                          TradeOut{&instruments_.at(ev.instrument), ev.trade_id, ev.side, ev.price, ev.qty,
                                   workers_[worker].name});
        }
      }
    }
    if (ev.type == book::EventType::accepted && now.mono_ns != 0) {
      stats_.order_to_ack.record(static_cast<std::uint64_t>(now.mono_ns - r.received_ns));
    }
    if (ev.type != book::EventType::rejected) {
      dirty_depth_.insert((static_cast<std::uint64_t>(worker) << 32) | ev.instrument);
    }
    // Once one trade waits for the ledger, everything after it waits too, to keep the order.
    bool hold = !held_.empty();
    if (!hold && ev.type == book::EventType::fill && ev.liquidity == book::Liquidity::taker) {
      hold = !commit_trade(ev, maker_account);
    }
    if (hold) {
      held_.push_back(Held{ev, r.conn, r.client_id, worker, maker_account});
      stats_.held_events = held_.size();
    } else {
      emit(ev, r.conn, r.client_id, worker, done_reason);
    }
    if (terminal(ev)) finish(ev.key);
  }
}

bool OrderFlow::flush_held() {
  while (!held_.empty()) {
    Held& h = held_.front();
    if (h.ev.type == book::EventType::fill && h.ev.liquidity == book::Liquidity::taker &&
        !commit_trade(h.ev, h.maker_account)) {
      return false;  // still no quorum
    }
    emit(h.ev, h.conn, h.client_id, h.worker, {});
    held_.pop_front();
  }
  stats_.held_events = 0;
  return true;
}

void OrderFlow::emit(const book::Event& ev, std::uint64_t conn, std::string_view client_id, std::uint32_t worker,
                     std::string_view done_reason) {
  const auto& in = instruments_.at(ev.instrument);
  switch (ev.type) {
    case book::EventType::accepted:
      ++stats_.acks;
      outbox_.send(conn, AckOut{client_id, workers_[worker].name});
      break;
    case book::EventType::rejected:
      outbox_.count_reject(book::to_string(ev.reject_reason));
      outbox_.send(conn, RejectOut{client_id, book::to_string(ev.reject_reason), "refused by the matching engine"});
      break;
    case book::EventType::fill:
      ++stats_.fills;
      outbox_.send(conn, FillOut{client_id, ev.trade_id, &in, ev.side, ev.price, ev.qty, ev.remaining,
                                 ev.liquidity == book::Liquidity::maker});
      break;
    case book::EventType::replaced:
      outbox_.send(conn, ReplacedOut{client_id, &in, ev.price, ev.qty});
      break;
    case book::EventType::done:
      ++stats_.done;
      outbox_.send(conn, DoneOut{client_id, done_reason.empty() ? book::to_string(ev.done_reason) : done_reason});
      break;
  }
}

void OrderFlow::finish(book::OrderKey key) {
  const auto it = orders_.find(key);
  if (it == orders_.end()) return;
  Record& r = it->second;
  balancer_.release(workers_[r.worker].id, symbol_hash_[r.order.instrument]);
  auto& live = accounts_[r.order.account].live;
  if (const auto a = live.find(r.client_id); a != live.end() && a->second == key) live.erase(a);
  if (const auto c = conn_orders_.find(r.conn); c != conn_orders_.end()) {
    if (const auto o = c->second.find(r.client_id); o != c->second.end() && o->second == key) c->second.erase(o);
  }
  const auto worker = r.worker;
  orders_.erase(it);
  retire_if_drained(worker);
}

namespace {
void to_levels(const std::vector<book::LevelView>& from, std::vector<DepthLevel>& to) {
  to.clear();
  for (const auto& l : from) to.push_back({l.price, l.qty, l.orders});
}
}  // namespace

std::vector<OrderFlow::WorkerDepth> OrderFlow::depth(core::InstrumentId instrument, std::size_t levels) const {
  std::vector<WorkerDepth> out;
  for (const auto& w : workers_) {
    if (w.removed) continue;
    const auto d = w.engine->depth(instrument, levels);
    if (d.bids.empty() && d.asks.empty()) continue;
    WorkerDepth& wd = out.emplace_back();
    wd.worker = w.name;
    to_levels(d.bids, wd.bids);
    to_levels(d.asks, wd.asks);
  }
  return out;
}

std::vector<OrderFlow::WorkerBook> OrderFlow::books() const {
  std::vector<WorkerBook> out;
  for (const auto& w : workers_) {
    const auto e = w.engine->stats();
    out.push_back({w.name, e.orders_received, e.trades, e.volume_lots, e.resting_orders, w.queue.size()});
  }
  return out;
}

void OrderFlow::publish_depth() {
  if (dirty_depth_.empty()) return;
  std::vector<DepthLevel> bids, asks;
  for (const auto packed : dirty_depth_) {
    const auto worker = static_cast<std::uint32_t>(packed >> 32);
    const auto inst = static_cast<core::InstrumentId>(packed & 0xffffffffu);
    if (!outbox_.has_subscribers(depth_channel_[inst]) || workers_[worker].removed) continue;
    const auto d = workers_[worker].engine->depth(inst, 10);
    to_levels(d.bids, bids);
    to_levels(d.asks, asks);
    outbox_.publish(depth_channel_[inst], DepthOut{&instruments_.at(inst), workers_[worker].name, &bids, &asks});
  }
  dirty_depth_.clear();
}

}  // namespace tradeshard::app

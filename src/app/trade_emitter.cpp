#include "tradeshard/app/trade_emitter.hpp"

namespace tradeshard::app {
namespace {

// Market-data units (1e-8) per unit of `step`, or 0 when a step has more than 8 decimals.
std::int64_t md_units(const core::Decimal& step) {
  if (step.scale > 8 || step.units <= 0) return 0;
  std::int64_t v = step.units;
  for (int i = step.scale; i < 8; ++i) {
    if (__builtin_mul_overflow(v, 10, &v)) return 0;
  }
  return v;
}

}  // namespace

TradeEmitter::TradeEmitter(const core::InstrumentTable& instruments, Outbox& outbox, TradeLedger* ledger,
                           const Venue& venue)
    : instruments_(instruments), outbox_(outbox), ledger_(ledger), venue_(venue) {
  for (const auto& in : instruments.all()) {
    trades_channel_.push_back("trades:" + in.symbol);
    depth_channel_.push_back("depth:" + in.symbol);
    md_factor_.push_back(md_units(in.tick_size));
    md_lot_.push_back(md_units(in.lot_size));
  }
  trades_subscribed_.assign(trades_channel_.size(), 0);
  depth_subscribed_.assign(depth_channel_.size(), 0);
}

void TradeEmitter::refresh_subscriptions() {
  const auto v = outbox_.subscriptions_version();
  if (v == subscriptions_version_) return;
  subscriptions_version_ = v;
  for (std::size_t i = 0; i < trades_channel_.size(); ++i) {
    trades_subscribed_[i] = outbox_.has_subscribers(trades_channel_[i]);
    depth_subscribed_[i] = outbox_.has_subscribers(depth_channel_[i]);
  }
}

std::uint64_t TradeEmitter::commit(const book::Event& f, std::string_view account, std::string_view counterparty) {
  if (!ledger_) return ++trade_seq_;
  const bool taker_buys = f.side == core::Side::buy;
  return ledger_->commit(Trade{taker_buys ? account : counterparty, taker_buys ? counterparty : account,
                               f.instrument, f.price, f.qty});
}

void TradeEmitter::on_event(std::uint32_t worker, std::string_view worker_name, const book::Event& event,
                            const Recipient& to) {
  book::Event ev = event;
  refresh_subscriptions();
  const bool taker_fill = ev.type == book::EventType::fill && ev.liquidity == book::Liquidity::taker;
  if (ev.type != book::EventType::rejected && depth_subscribed_[ev.instrument]) {
    dirty_depth_.insert((static_cast<std::uint64_t>(worker) << 32) | ev.instrument);
  }
  // Once one event waits for the ledger, every later one waits too, to keep the order.
  std::uint64_t committed = 0;
  bool hold = !held_.empty();
  if (!hold && taker_fill) hold = (committed = commit(ev, to.account, to.counterparty)) == 0;
  if (!hold) {
    number(ev, worker, committed);
    return tell(ev, worker_name, to.conn, to.client_id, to.done_reason);
  }
  held_.push_back(Held{ev, worker, to.conn, std::string(worker_name), std::string(to.client_id),
                       std::string(to.account), std::string(to.counterparty), std::string(to.done_reason)});
  stats_.held_events = held_.size();
}

// Trade ids are ledger versions, so they never repeat: not after a restart (the ledger recovers
// its version), nor across gateways (cluster mode). Both fills of one trade carry the engine's id
// and arrive adjacent, the taker's first (it is the one committed): the maker's gets the same.
void TradeEmitter::number(book::Event& ev, std::uint32_t worker, std::uint64_t committed) {
  if (ev.type != book::EventType::fill) return;
  if (ev.liquidity == book::Liquidity::taker) {
    last_engine_trade_ = ev.trade_id;
    last_worker_ = worker;
    last_trade_id_ = committed;
  } else if (ev.trade_id != last_engine_trade_ || worker != last_worker_) {
    // A maker fill not right after its taker's: not how engines report; numbered apart, loudly.
    ++stats_.unpaired_fills;
    last_engine_trade_ = ev.trade_id;
    last_worker_ = worker;
    last_trade_id_ = 0;
  }
  ev.trade_id = last_trade_id_;
}

bool TradeEmitter::retry_held() {
  refresh_subscriptions();  // for the trades channel, in tell()
  while (!held_.empty()) {
    Held& h = held_.front();
    std::uint64_t committed = 0;
    if (h.ev.type == book::EventType::fill && h.ev.liquidity == book::Liquidity::taker &&
        (committed = commit(h.ev, h.account, h.counterparty)) == 0) {
      return false;  // still refused
    }
    number(h.ev, h.worker, committed);
    tell(h.ev, h.worker_name, h.conn, h.client_id, h.done_reason);
    held_.pop_front();
  }
  stats_.held_events = 0;
  return true;
}

void TradeEmitter::tell(const book::Event& ev, std::string_view worker_name, std::uint64_t conn,
                        std::string_view client_id, std::string_view done_reason) {
  switch (ev.type) {
    case book::EventType::accepted:
      ++stats_.acks;
      if (conn) outbox_.send(conn, AckOut{client_id, worker_name});
      break;
    case book::EventType::rejected:
      outbox_.count_reject(book::to_string(ev.reject_reason));
      if (conn) outbox_.send(conn, RejectOut{client_id, book::to_string(ev.reject_reason), "refused by the matching engine"});
      break;
    case book::EventType::fill:
      if (ev.liquidity == book::Liquidity::taker) {  // the trade, once: published with its taker's fill
        ++stats_.trades;
        stats_.volume_lots += static_cast<std::uint64_t>(ev.qty);
        recent_trades_.push({ev.instrument, ev.trade_id, ev.side, ev.price, ev.qty});
        if (history_) {
          std::int64_t price = 0, qty = 0;
          if (!__builtin_mul_overflow(ev.price, md_factor_[ev.instrument], &price) &&
              !__builtin_mul_overflow(ev.qty, md_lot_[ev.instrument], &qty) && price > 0 && qty > 0) {
            history_->trade(ev.instrument, instruments_.at(ev.instrument).symbol,
                            {wall_ms_, ev.trade_id, price, qty, ev.side});
          }
        }
        if (trades_subscribed_[ev.instrument]) {
          outbox_.publish(trades_channel_[ev.instrument], TradeOut{&instruments_.at(ev.instrument), ev.trade_id,
                                                                   ev.side, ev.price, ev.qty, worker_name});
        }
      }
      ++stats_.fills;
      if (conn) {
        outbox_.send(conn, FillOut{client_id, ev.trade_id, &instruments_.at(ev.instrument), ev.side, ev.price, ev.qty,
                                   ev.remaining, ev.liquidity == book::Liquidity::maker});
      }
      break;
    case book::EventType::replaced:
      if (conn) outbox_.send(conn, ReplacedOut{client_id, &instruments_.at(ev.instrument), ev.price, ev.qty});
      break;
    case book::EventType::done:
      ++stats_.done;
      if (conn) outbox_.send(conn, DoneOut{client_id, done_reason.empty() ? book::to_string(ev.done_reason) : done_reason});
      break;
  }
}

void TradeEmitter::release() {
  if (dirty_depth_.empty()) return;
  refresh_subscriptions();
  const auto dirty = std::move(dirty_depth_);
  dirty_depth_.clear();
  for (const auto packed : dirty) {
    const auto worker = static_cast<std::uint32_t>(packed >> 32);
    const auto inst = static_cast<core::InstrumentId>(packed & 0xffffffffu);
    if (!depth_subscribed_[inst]) continue;
    const auto name = venue_.depth(worker, inst, 10, bids_, asks_);
    outbox_.publish(depth_channel_[inst], DepthOut{&instruments_.at(inst), name, &bids_, &asks_});
  }
}

}  // namespace tradeshard::app

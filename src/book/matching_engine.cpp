#include "tradeshard/book/matching_engine.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace tradeshard::book {
namespace {

// ref * bps / 10000 without overflowing for any positive int64 price.
Ticks band_width(Ticks ref, std::uint32_t bps) noexcept {
  const Ticks b = static_cast<Ticks>(bps);
  return ref / 10000 * b + ref % 10000 * b / 10000;
}

Event make_event(EventType type, const NewOrder& o) noexcept {
  Event e;
  e.type = type;
  e.side = o.side;
  e.account = o.account;
  e.instrument = o.instrument;
  e.key = o.key;
  return e;
}

}  // namespace

MatchingEngine::MatchingEngine(const core::InstrumentTable& instruments, EngineOptions options)
    : instruments_(&instruments), options_(options), books_(instruments.size()) {
  if (options_.expected_orders > 0) {
    pool_.reserve(options_.expected_orders);
    index_.reserve(options_.expected_orders);
  }
}

std::optional<Ticks> MatchingEngine::band_reference(const Book& book, Side side) const noexcept {
  // Last trade is the fairest reference; before any trade, the best opposite price.
  if (book.last_trade > 0) return book.last_trade;
  const BookSide& opp = book.side(core::opposite(side));
  if (!opp.empty()) return opp.best().price;
  return std::nullopt;
}

bool MatchingEngine::outside_band(const Book& book, InstrumentId id, Side side,
                                  Ticks price) const noexcept {
  const std::uint32_t bps = instruments_->at(id).price_band_bps;
  if (bps == 0) return false;
  const auto ref = band_reference(book, side);
  if (!ref) return false;
  const Ticks width = band_width(*ref, bps);
  return price > *ref + width || price < *ref - width;
}

Ticks MatchingEngine::market_limit(const Book& book, InstrumentId id, Side side) const noexcept {
  const bool buy = side == Side::buy;
  Ticks limit = buy ? std::numeric_limits<Ticks>::max() : 1;
  const Ticks best = book.side(core::opposite(side)).best().price;
  if (options_.market_band_bps > 0) {
    const Ticks w = band_width(best, options_.market_band_bps);
    limit = buy ? best + w : std::max<Ticks>(1, best - w);
  }
  const std::uint32_t bps = instruments_->at(id).price_band_bps;
  if (const auto ref = band_reference(book, side); bps > 0 && ref) {
    const Ticks w = band_width(*ref, bps);
    limit = buy ? std::min(limit, *ref + w) : std::max(limit, *ref - w);
  }
  return limit;
}

RejectReason MatchingEngine::validate(const NewOrder& o) const noexcept {
  if (o.instrument >= books_.size()) return RejectReason::unknown_instrument;
  const core::Instrument& ins = instruments_->at(o.instrument);
  if (o.qty <= 0) return RejectReason::bad_qty;
  if (o.qty < ins.min_qty || o.qty > ins.max_qty) return RejectReason::qty_out_of_range;
  const Book& book = books_[o.instrument];
  if (o.type == OrderType::limit) {
    if (o.price <= 0) return RejectReason::bad_price;
    if (outside_band(book, o.instrument, o.side, o.price)) return RejectReason::price_out_of_band;
  }
  if (index_.find(o.key, pool_) != no_slot) return RejectReason::duplicate_key;
  if (o.type == OrderType::market && book.side(core::opposite(o.side)).empty()) {
    return RejectReason::no_liquidity;
  }
  return RejectReason::ok;
}

RejectReason MatchingEngine::submit(const NewOrder& o, EventBuffer& out) {
  ++stats_.orders_received;
  if (const RejectReason r = validate(o); r != RejectReason::ok) {
    ++stats_.orders_rejected;
    Event e = make_event(EventType::rejected, o);
    e.reject_reason = r;
    e.price = o.price;
    e.qty = e.remaining = o.qty;
    out.push_back(e);
    return r;
  }
  ++stats_.orders_accepted;
  Event accepted = make_event(EventType::accepted, o);
  accepted.price = o.price;
  accepted.qty = accepted.remaining = o.qty;
  out.push_back(accepted);
  const Book& book = books_[o.instrument];
  const bool market = o.type == OrderType::market;
  Taker t{o.key, o.account, o.instrument, o.side,
          market ? market_limit(book, o.instrument, o.side) : o.price, o.qty, 0};
  if (o.tif == TimeInForce::fok && !can_fill(t)) {
    emit_done(t, DoneReason::expired, out);
    return RejectReason::ok;
  }
  const MatchEnd end = match(t, out);
  if (t.leaves == 0) {
    emit_done(t, DoneReason::filled, out);
  } else if (end == MatchEnd::self_trade) {
    emit_done(t, DoneReason::self_trade, out);
  } else if (market || o.tif != TimeInForce::gtc) {
    emit_done(t, DoneReason::expired, out);
  } else {
    t.limit = o.price;
    rest(t, pool_.allocate());
  }
  return RejectReason::ok;
}

bool MatchingEngine::can_fill(const Taker& t) const noexcept {
  const BookSide& opp = books_[t.instrument].side(core::opposite(t.side));
  const AccountEntry* acct = accounts_.find(t.account);
  // Level totals suffice unless self-trade prevention could skip or stop at own orders.
  const bool check_own = options_.stp != StpMode::off && acct != nullptr && acct->count > 0;
  Lots need = t.leaves;
  const auto levels = opp.levels();
  for (auto it = levels.rbegin(); it != levels.rend(); ++it) {
    if (opp.better(t.limit, it->price)) break;
    if (!check_own) {
      need -= it->total;
      if (need <= 0) return true;
      continue;
    }
    for (Slot s = it->head; s != no_slot; s = pool_[s].next) {
      const OrderNode& n = pool_[s];
      if (n.account == t.account) {
        if (options_.stp == StpMode::cancel_incoming) return false;
        continue;
      }
      need -= n.leaves;
      if (need <= 0) return true;
    }
  }
  return false;
}

MatchingEngine::MatchEnd MatchingEngine::match(Taker& t, EventBuffer& out) {
  Book& book = books_[t.instrument];
  BookSide& opp = book.side(core::opposite(t.side));
  while (t.leaves > 0 && !opp.empty()) {
    Level& level = opp.best();
    if (opp.better(t.limit, level.price)) break;
    const Slot s = level.head;
    OrderNode& maker = pool_[s];
    if (maker.account == t.account && options_.stp != StpMode::off) {
      if (options_.stp == StpMode::cancel_incoming) return MatchEnd::self_trade;
      emit_done(maker, DoneReason::self_trade, maker.leaves, out);
      remove_resting(s);
      continue;
    }
    trade(t, book, s, out);
  }
  return MatchEnd::exhausted;
}

void MatchingEngine::trade(Taker& t, Book& book, Slot s, EventBuffer& out) {
  BookSide& opp = book.side(core::opposite(t.side));
  Level& level = opp.best();
  OrderNode& maker = pool_[s];
  const Lots q = std::min(t.leaves, maker.leaves);
  maker.leaves -= q;
  maker.filled += q;
  level.total -= q;
  t.leaves -= q;
  t.filled += q;
  book.last_trade = level.price;
  ++stats_.trades;
  stats_.volume_lots += static_cast<std::uint64_t>(q);

  Event e;
  e.type = EventType::fill;
  e.instrument = t.instrument;
  e.trade_id = ++trade_seq_;
  e.price = level.price;
  e.qty = q;
  e.liquidity = Liquidity::taker;
  e.side = t.side;
  e.account = t.account;
  e.key = t.key;
  e.counterparty = maker.key;
  e.remaining = t.leaves;
  out.push_back(e);
  e.liquidity = Liquidity::maker;
  e.side = maker.side;
  e.account = maker.account;
  e.key = maker.key;
  e.counterparty = t.key;
  e.remaining = maker.leaves;
  out.push_back(e);
  if (maker.leaves > 0) return;

  emit_done(maker, DoneReason::filled, 0, out);
  // Fast path: the maker is the head of the best level, so no level search is needed.
  level.head = maker.next;
  if (level.head != no_slot) {
    pool_[level.head].prev = no_slot;
  } else {
    level.tail = no_slot;
  }
  if (--level.count == 0) opp.pop_best();
  forget(s);
}

void MatchingEngine::rest(const Taker& t, Slot slot) {
  OrderNode& n = pool_[slot];
  n.key = t.key;
  n.leaves = t.leaves;
  n.filled = t.filled;
  n.price = t.limit;
  n.account = t.account;
  n.instrument = t.instrument;
  n.side = t.side;
  index_.insert(t.key, slot);
  AccountEntry& acct = accounts_.get(t.account);
  n.acct_prev = no_slot;
  n.acct_next = acct.head;
  if (acct.head != no_slot) pool_[acct.head].acct_prev = slot;
  acct.head = slot;
  ++acct.count;
  books_[t.instrument].side(t.side).push_back(pool_, slot);
}

void MatchingEngine::remove_resting(Slot slot) noexcept {
  const OrderNode& n = pool_[slot];
  books_[n.instrument].side(n.side).unlink(pool_, slot);
  forget(slot);
}

void MatchingEngine::forget(Slot slot) noexcept {
  OrderNode& n = pool_[slot];
  AccountEntry& acct = accounts_.get(n.account);  // exists: the order is linked in it
  if (n.acct_prev != no_slot) pool_[n.acct_prev].acct_next = n.acct_next; else acct.head = n.acct_next;
  if (n.acct_next != no_slot) pool_[n.acct_next].acct_prev = n.acct_prev;
  --acct.count;
  index_.erase(n.key, slot);
  pool_.release(slot);
}

void MatchingEngine::count_done(DoneReason reason) noexcept {
  switch (reason) {
    case DoneReason::filled: break;
    case DoneReason::cancelled: ++stats_.cancels; break;
    case DoneReason::expired: ++stats_.expired; break;
    case DoneReason::self_trade: ++stats_.self_trades; break;
  }
}

void MatchingEngine::emit_done(const OrderNode& n, DoneReason reason, Lots dropped,
                               EventBuffer& out) {
  count_done(reason);
  Event e;
  e.type = EventType::done;
  e.done_reason = reason;
  e.side = n.side;
  e.account = n.account;
  e.instrument = n.instrument;
  e.key = n.key;
  e.price = n.price;
  e.qty = n.leaves + n.filled;
  e.remaining = dropped;
  out.push_back(e);
}

void MatchingEngine::emit_done(const Taker& t, DoneReason reason, EventBuffer& out) {
  count_done(reason);
  Event e;
  e.type = EventType::done;
  e.done_reason = reason;
  e.side = t.side;
  e.account = t.account;
  e.instrument = t.instrument;
  e.key = t.key;
  e.qty = t.leaves + t.filled;
  e.remaining = t.leaves;
  out.push_back(e);
}

}  // namespace tradeshard::book

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

// Events are written in place in the caller's buffer, field by field. Building one on the stack
// and copying it in made the copy's 16-byte loads wait on the byte-sized field stores (a failed
// store-to-load forward per event); on the marketable path that was a third of the time.
Event& add_event(EventBuffer& out, EventType type) {
  Event& e = out.emplace_back();
  e.type = type;
  return e;
}

Event& add_order_event(EventBuffer& out, EventType type, const NewOrder& o) {
  Event& e = add_event(out, type);
  e.side = o.side;
  e.account = o.account;
  e.instrument = o.instrument;
  e.key = o.key;
  e.price = o.price;
  e.qty = o.qty;
  e.remaining = o.qty;
  return e;
}

// An event from all its field values, constructed in place with C++20 parenthesized aggregate
// init where the compiler has it (GCC 10+; the release build). Clang has it from 16 only: the
// clang 14 fuzz build (tests/fuzz) copies a braced temporary in instead.
template <class... Fields>
[[gnu::always_inline]] inline void emplace_event(EventBuffer& out, Fields&&... fields) {
#if defined(__cpp_aggregate_paren_init)
  out.emplace_back(std::forward<Fields>(fields)...);
#else
  out.push_back(Event{std::forward<Fields>(fields)...});
#endif
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

RejectReason MatchingEngine::validate(const NewOrder& o, std::uint32_t key_hash) const noexcept {
  if (o.instrument >= books_.size()) return RejectReason::unknown_instrument;
  const core::Instrument& ins = instruments_->at(o.instrument);
  if (o.qty <= 0) return RejectReason::bad_qty;
  if (o.qty < ins.min_qty || o.qty > ins.max_qty) return RejectReason::qty_out_of_range;
  const Book& book = books_[o.instrument];
  if (o.type == OrderType::limit) {
    if (o.price <= 0) return RejectReason::bad_price;
    if (outside_band(book, o.instrument, o.side, o.price)) return RejectReason::price_out_of_band;
  }
  if (index_.find_live(o.key, key_hash, pool_) != no_slot) return RejectReason::duplicate_key;
  if (o.type == OrderType::market && book.side(core::opposite(o.side)).empty()) {
    return RejectReason::no_liquidity;
  }
  return RejectReason::ok;
}

RejectReason MatchingEngine::submit(const NewOrder& o, EventBuffer& out) {
  drain_retired(retire_per_command);
  ++stats_.orders_received;
  const std::uint32_t key_hash = OrderIndex::hash(o.key);
  index_.prefetch(key_hash);
  if (const RejectReason r = validate(o, key_hash); r != RejectReason::ok) {
    ++stats_.orders_rejected;
    Event& e = add_order_event(out, EventType::rejected, o);
    e.reject_reason = r;
    return r;
  }
  ++stats_.orders_accepted;
  add_order_event(out, EventType::accepted, o);
  const Book& book = books_[o.instrument];
  const bool market = o.type == OrderType::market;
  const bool may_rest = !market && o.tif == TimeInForce::gtc;
  // An order that may rest needs its account entry; start loading the node it will link to.
  const std::uint32_t account_ix = may_rest ? accounts_.get(o.account) : 0;
  if (may_rest) pool_.prefetch(accounts_[account_ix].head);
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
  } else if (!may_rest) {
    emit_done(t, DoneReason::expired, out);
  } else {
    t.limit = o.price;
    rest(t, pool_.allocate(), key_hash, account_ix);
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
  const StpMode stp = options_.stp;
  // The taker's quantities and the counters live in registers for the sweep: stored through
  // references, every event write (same member types) would force them to be reloaded.
  Lots leaves = t.leaves;
  Lots filled = t.filled;
  std::uint64_t seq = trade_seq_;
  std::uint64_t volume = 0;
  MatchEnd end = MatchEnd::exhausted;
  while (leaves > 0 && !opp.empty()) {
    Level& level = opp.best();
    if (opp.better(t.limit, level.price)) break;
    const Ticks price = level.price;
    const Slot s = level.head;
    OrderNode& maker = pool_[s];
    pool_.prefetch(maker.next);  // the next maker in time priority
    if (stp != StpMode::off && maker.account == t.account) {
      if (stp == StpMode::cancel_incoming) {
        end = MatchEnd::self_trade;
        break;
      }
      emit_done(maker, DoneReason::self_trade, maker.leaves, out);
      remove_resting(s);
      continue;
    }
    const Lots q = std::min(leaves, maker.leaves);
    const bool maker_done = q == maker.leaves;
    if (maker_done) {
      // Removal touches the account-list neighbours: start loading them while the events are
      // written. (The key's bucket is touched later, when the retired entry is drained.)
      pool_.prefetch(maker.acct_prev);
      pool_.prefetch(maker.acct_next);
    }
    const Lots maker_leaves = maker.leaves - q;
    maker.leaves = maker_leaves;
    maker.filled += q;
    level.total -= q;
    leaves -= q;
    filled += q;
    book.last_trade = price;
    volume += static_cast<std::uint64_t>(q);
    ++seq;

    // Two or three events, each constructed in place from its field values (C++20
    // parenthesized aggregate init, emplace_event): every byte is stored once, with no zero-fill first.
    emplace_event(out, EventType::fill, t.side, Liquidity::taker, RejectReason::ok,
                     DoneReason::filled, false, t.account, t.instrument, t.key, maker.key, seq,
                     price, q, leaves);
    emplace_event(out, EventType::fill, maker.side, Liquidity::maker, RejectReason::ok,
                     DoneReason::filled, false, maker.account, t.instrument, maker.key, t.key,
                     seq, price, q, maker_leaves);
    if (!maker_done) break;  // the taker is exhausted

    // done:filled for the maker (remaining 0); counted as a trade, not in the done counters.
    emplace_event(out, EventType::done, maker.side, Liquidity::taker, RejectReason::ok,
                     DoneReason::filled, false, maker.account, maker.instrument, maker.key,
                     OrderKey{0}, std::uint64_t{0}, maker.price, maker.filled, Lots{0});
    // The maker is the head of the best level: no level search needed.
    const Slot next = maker.next;
    level.head = next;
    if (next != no_slot) {
      pool_[next].prev = no_slot;
    } else {
      level.tail = no_slot;
    }
    if (--level.count == 0) opp.pop_best();
    unlink_account(s);
    if (retired_size_ < max_retired) {  // maker.leaves == 0: lookups skip it until drained
      retired_[(retired_head_ + retired_size_) & (max_retired - 1)] = {OrderIndex::hash(maker.key), s};
      ++retired_size_;
    } else {
      index_.erase_hashed(OrderIndex::hash(maker.key), s);
    }
    pool_.release(s);
  }
  stats_.trades += seq - trade_seq_;
  stats_.volume_lots += volume;
  trade_seq_ = seq;
  t.leaves = leaves;
  t.filled = filled;
  return end;
}

void MatchingEngine::rest(const Taker& t, Slot slot, std::uint32_t key_hash,
                          std::uint32_t account_ix) {
  OrderNode& n = pool_[slot];
  n.key = t.key;
  n.leaves = t.leaves;
  n.filled = t.filled;
  n.price = t.limit;
  n.account = t.account;
  n.account_ix = account_ix;
  n.instrument = t.instrument;
  n.side = t.side;
  index_.insert_hashed(key_hash, slot);
  AccountEntry& acct = accounts_[account_ix];
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
  forget(slot, OrderIndex::hash(n.key));
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
  Event& e = add_event(out, EventType::done);
  e.done_reason = reason;
  e.side = n.side;
  e.account = n.account;
  e.instrument = n.instrument;
  e.key = n.key;
  e.price = n.price;
  e.qty = n.leaves + n.filled;
  e.remaining = dropped;
}

void MatchingEngine::emit_done(const Taker& t, DoneReason reason, EventBuffer& out) {
  count_done(reason);
  Event& e = add_event(out, EventType::done);
  e.done_reason = reason;
  e.side = t.side;
  e.account = t.account;
  e.instrument = t.instrument;
  e.key = t.key;
  e.qty = t.leaves + t.filled;
  e.remaining = t.leaves;
}

}  // namespace tradeshard::book

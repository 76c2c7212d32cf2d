// Cancel, replace and mass cancel: commands on orders that are already resting.
#include "tradeshard/book/matching_engine.hpp"

namespace tradeshard::book {

RejectReason MatchingEngine::cancel(AccountId account, OrderKey key, EventBuffer& out) {
  drain_retired(retire_per_command);
  const Slot s = index_.find_live(key, pool_);
  if (s == no_slot) return RejectReason::unknown_order;
  const OrderNode& n = pool_[s];
  if (n.account != account) return RejectReason::not_owner;
  emit_done(n, DoneReason::cancelled, n.leaves, out);
  remove_resting(s);
  return RejectReason::ok;
}

std::size_t MatchingEngine::cancel_all(AccountId account, std::optional<InstrumentId> instrument,
                                       EventBuffer& out) {
  drain_retired(retire_per_command);
  const AccountEntry* acct = accounts_.find(account);
  if (acct == nullptr) return 0;
  std::size_t cancelled = 0;
  for (Slot s = acct->head; s != no_slot;) {
    const OrderNode& n = pool_[s];
    const Slot next = n.acct_next;
    if (!instrument || n.instrument == *instrument) {
      emit_done(n, DoneReason::cancelled, n.leaves, out);
      remove_resting(s);
      ++cancelled;
    }
    s = next;
  }
  return cancelled;
}

RejectReason MatchingEngine::replace(AccountId account, OrderKey key, Ticks new_price,
                                     Lots new_qty, EventBuffer& out) {
  drain_retired(retire_per_command);
  const Slot s = index_.find_live(key, pool_);
  if (s == no_slot) return RejectReason::unknown_order;
  OrderNode& n = pool_[s];
  if (n.account != account) return RejectReason::not_owner;
  const core::Instrument& ins = instruments_->at(n.instrument);
  if (new_qty <= 0) return RejectReason::bad_qty;
  if (new_qty < ins.min_qty || new_qty > ins.max_qty) return RejectReason::qty_out_of_range;
  if (new_price <= 0) return RejectReason::bad_price;
  Book& book = books_[n.instrument];
  if (new_price != n.price && outside_band(book, n.instrument, n.side, new_price)) {
    return RejectReason::price_out_of_band;
  }
  ++stats_.replaces;
  // FIX semantics: the new quantity counts what already traded; nothing left means done.
  if (new_qty <= n.filled) {
    emit_done(n, DoneReason::cancelled, n.leaves, out);
    remove_resting(s);
    return RejectReason::ok;
  }
  const Lots total = n.leaves + n.filled;
  Event e;
  e.type = EventType::replaced;
  e.side = n.side;
  e.account = n.account;
  e.instrument = n.instrument;
  e.key = key;
  e.price = new_price;
  e.qty = new_qty;
  e.remaining = new_qty - n.filled;
  if (new_price == n.price && new_qty <= total) {
    // Shrinking in place keeps the queue position: the level only loses quantity.
    Level* level = book.side(n.side).find(n.price);
    level->total -= total - new_qty;
    n.leaves = new_qty - n.filled;
    e.priority_kept = true;
    out.push_back(e);
    return RejectReason::ok;
  }
  book.side(n.side).unlink(pool_, s);  // stays in the key index and account list meanwhile
  n.price = new_price;
  n.leaves = new_qty - n.filled;
  out.push_back(e);

  Taker t{key, n.account, n.instrument, n.side, new_price, n.leaves, n.filled};
  const MatchEnd end = match(t, out);
  OrderNode& m = pool_[s];
  m.leaves = t.leaves;
  m.filled = t.filled;
  if (t.leaves == 0) {
    emit_done(m, DoneReason::filled, 0, out);
    forget(s, OrderIndex::hash(key));
  } else if (end == MatchEnd::self_trade) {
    emit_done(m, DoneReason::self_trade, m.leaves, out);
    forget(s, OrderIndex::hash(key));
  } else {
    book.side(m.side).push_back(pool_, s);
  }
  return RejectReason::ok;
}

}  // namespace tradeshard::book

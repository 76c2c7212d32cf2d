#pragma once
// Price-time-priority matching engine for one worker: one book per instrument of the table.
//
// Guarantees:
// - Pure and deterministic: no I/O, clocks, randomness, locks or exceptions on bad input. Owned
//   by one event-loop thread; not thread-safe.
// - Commands append events to a caller-owned EventBuffer *after* the state change; the buffer is
//   only appended to (the caller clears it), so a reused buffer makes steady-state commands
//   allocation-free.
// - Every submitted order gets exactly one terminal event: `rejected` (never entered) or `done`.
//   An accepted order's events are: accepted, then fills, replaced, then done.
// - Trades happen at the resting order's price, best price first, oldest first within a price.
//   Both sides of every trade get a `fill` event (taker's first), sharing one trade_id.
// - Failed cancel/replace commands change nothing and emit nothing: the returned reason is the
//   only answer (the order itself stays live, so it must not get a terminal event).
#include <cstdint>
#include <optional>
#include <vector>

#include "tradeshard/book/account_index.hpp"
#include "tradeshard/book/book_side.hpp"
#include "tradeshard/book/event.hpp"
#include "tradeshard/book/order.hpp"
#include "tradeshard/book/order_index.hpp"
#include "tradeshard/book/order_pool.hpp"
#include "tradeshard/core/instrument.hpp"

namespace tradeshard::book {

struct EngineOptions {
  StpMode stp = StpMode::cancel_incoming;
  // Market orders never trade beyond best opposite price at arrival +/- this many basis points
  // (0 = no engine band; the instrument's price_band_bps still applies).
  std::uint32_t market_band_bps = 500;
  // Expected resting orders: pre-sizes the pool and the key index (no growth below it).
  std::size_t expected_orders = 0;
};

struct LevelView {
  Ticks price = 0;
  Lots qty = 0;
  std::uint32_t orders = 0;
  friend bool operator==(const LevelView&, const LevelView&) = default;
};

struct Depth {
  std::vector<LevelView> bids;  // best first
  std::vector<LevelView> asks;  // best first
};

struct OrderView {
  OrderKey key = 0;
  AccountId account = 0;
  InstrumentId instrument = 0;
  Side side = Side::buy;
  Ticks price = 0;
  Lots qty = 0;     // total: leaves + filled
  Lots leaves = 0;
  Lots filled = 0;
};

// One instrument's book as it moves between engines (live migration): every resting order in time
// priority, bids first (best price first, oldest first within a price), then asks likewise, with
// the book's last trade price (the reference of price bands).
struct BookImage {
  struct Order {
    OrderKey key = 0;
    AccountId account = 0;
    Side side = Side::buy;
    Ticks price = 0;
    Lots leaves = 0;
    Lots filled = 0;
    friend bool operator==(const Order&, const Order&) = default;
  };
  InstrumentId instrument = 0;
  Ticks last_trade = 0;  // 0 = no trade yet
  std::vector<Order> orders;
};

enum class ImportError : std::uint8_t {
  ok,
  unknown_instrument,
  book_not_empty,   // the target already holds orders of this instrument
  duplicate_key,    // a key is already live in the target
  bad_image,        // out of priority order, crossed, or an order without leaves or price
};
[[nodiscard]] std::string_view to_string(ImportError e) noexcept;

struct EngineStats {
  std::uint64_t orders_received = 0;
  std::uint64_t orders_accepted = 0;
  std::uint64_t orders_rejected = 0;
  std::uint64_t trades = 0;
  std::uint64_t volume_lots = 0;
  std::uint64_t cancels = 0;       // done:cancelled
  std::uint64_t expired = 0;       // done:expired
  std::uint64_t self_trades = 0;   // done:self_trade
  std::uint64_t replaces = 0;
  std::uint64_t resting_orders = 0;
};

class MatchingEngine {
 public:
  // The table must outlive the engine; it is read-only afterwards.
  MatchingEngine(const core::InstrumentTable& instruments, EngineOptions options);

  // Returns ok when accepted (events: accepted, fills..., maybe done) or the reject reason
  // (event: rejected).
  [[nodiscard]] RejectReason submit(const NewOrder& order, EventBuffer& out);
  // Removes a live order (event: done cancelled, remaining = dropped leaves).
  [[nodiscard]] RejectReason cancel(AccountId account, OrderKey key, EventBuffer& out);
  // new_qty is the new *total* quantity (filled included, as FIX OrderQty): leaves become
  // new_qty - filled; new_qty <= filled ends the order (done cancelled). Same price and
  // new_qty <= total keeps time priority; anything else re-queues at the back and may trade.
  [[nodiscard]] RejectReason replace(AccountId account, OrderKey key, Ticks new_price, Lots new_qty,
                                     EventBuffer& out);
  // Cancels every live order of the account (optionally one instrument); returns how many.
  std::size_t cancel_all(AccountId account, std::optional<InstrumentId> instrument, EventBuffer& out);

  // Moving one instrument's book to another engine, between two commands: export_book copies it;
  // remove_book then drops its orders here without events (they live on in the other engine) and
  // forgets its last trade; import_book rests an exported book in an engine whose book of that
  // instrument is empty, with the same prices, leaves, filled quantities and time priority, and
  // without matching (an exported book is never crossed). A refused import changes nothing.
  [[nodiscard]] BookImage export_book(InstrumentId instrument) const;
  std::size_t remove_book(InstrumentId instrument) noexcept;
  [[nodiscard]] ImportError import_book(const BookImage& image);

  [[nodiscard]] std::optional<LevelView> best(InstrumentId instrument, Side side) const noexcept;
  [[nodiscard]] Depth depth(InstrumentId instrument, std::size_t levels) const;
  [[nodiscard]] std::vector<OrderKey> open_orders(AccountId account) const;
  [[nodiscard]] std::optional<OrderView> find(OrderKey key) const noexcept;
  // Resting orders of one side in priority order (best price first, oldest first).
  [[nodiscard]] std::vector<OrderKey> priority_order(InstrumentId instrument, Side side) const;
  [[nodiscard]] EngineStats stats() const noexcept;
  [[nodiscard]] std::optional<Ticks> last_trade_price(InstrumentId instrument) const noexcept;
  // Bytes reserved by every container of the engine (pool, key index, levels, accounts).
  [[nodiscard]] std::size_t memory_bytes() const noexcept;

 private:
  struct Book {
    BookSide bids{Side::buy};
    BookSide asks{Side::sell};
    Ticks last_trade = 0;  // 0 = no trade yet
    [[nodiscard]] BookSide& side(Side s) noexcept { return s == Side::buy ? bids : asks; }
    [[nodiscard]] const BookSide& side(Side s) const noexcept {
      return s == Side::buy ? bids : asks;
    }
  };
  // The incoming side of a match: a new order, or a replaced order re-entering.
  struct Taker {
    OrderKey key;
    AccountId account;
    InstrumentId instrument;
    Side side;
    Ticks limit;  // worst acceptable price
    Lots leaves;
    Lots filled;
  };
  enum class MatchEnd : std::uint8_t { exhausted, self_trade };

  [[nodiscard]] RejectReason validate(const NewOrder& o, std::uint32_t key_hash) const noexcept;
  [[nodiscard]] std::optional<Ticks> band_reference(const Book& book, Side side) const noexcept;
  [[nodiscard]] bool outside_band(const Book& book, InstrumentId id, Side side, Ticks price) const noexcept;
  [[nodiscard]] Ticks market_limit(const Book& book, InstrumentId id, Side side) const noexcept;
  [[nodiscard]] bool can_fill(const Taker& t) const noexcept;
  MatchEnd match(Taker& t, EventBuffer& out);
  // key_hash = OrderIndex::hash(t.key); account_ix = accounts_.get(t.account).
  void rest(const Taker& t, Slot slot, std::uint32_t key_hash, std::uint32_t account_ix);
  void remove_resting(Slot slot) noexcept;  // unlink from level, then forget
  // Unlinks from the account list and the index (key_hash = hash of its key); frees the slot.
  void forget(Slot slot, std::uint32_t key_hash) noexcept;
  // Inline (header): on the trade path, once per filled maker.
  [[gnu::always_inline]] void unlink_account(Slot slot) noexcept;
  void emit_done(const OrderNode& n, DoneReason reason, Lots dropped, EventBuffer& out);
  void emit_done(const Taker& t, DoneReason reason, EventBuffer& out);
  void count_done(DoneReason reason) noexcept;

  const core::InstrumentTable* instruments_;
  EngineOptions options_;
  std::vector<Book> books_;
  OrderPool pool_;
  OrderIndex index_;
  AccountIndex accounts_;
  EngineStats stats_;
  std::uint64_t trade_seq_ = 0;

  // Makers filled by a sweep leave the level FIFO and their account list, and free their slot,
  // at once; only their index entry is erased later (a ring of at most `max_retired`, drained a
  // few at a time at the start of each command): the bucket's cache miss and the backward shift
  // leave the marketable order's own latency. A stale entry is harmless: its node has leaves == 0
  // while free (OrderPool::release; lookups use find_live) or holds another live key once reused
  // (for which it maps to the right slot), and erase matches hash and slot, so a drain removes
  // either the stale entry or an identical one.
  struct Retired {
    std::uint32_t hash;
    Slot slot;
  };
  static constexpr std::uint32_t max_retired = 64;  // power of two
  static constexpr std::uint32_t retire_per_command = 4;
  Retired retired_[max_retired];
  std::uint32_t retired_head_ = 0;  // oldest pending
  std::uint32_t retired_size_ = 0;
  void drain_retired(std::uint32_t budget) noexcept {
    for (; budget > 0 && retired_size_ > 0; --budget) {
      const Retired r = retired_[retired_head_];
      retired_head_ = (retired_head_ + 1) & (max_retired - 1);
      --retired_size_;
      index_.erase_hashed(r.hash, r.slot);
    }
  }
};

inline void MatchingEngine::unlink_account(Slot slot) noexcept {
  OrderNode& n = pool_[slot];
  AccountEntry& acct = accounts_[n.account_ix];
  if (n.acct_prev != no_slot) pool_[n.acct_prev].acct_next = n.acct_next; else acct.head = n.acct_next;
  if (n.acct_next != no_slot) pool_[n.acct_next].acct_prev = n.acct_prev;
  --acct.count;
}

inline void MatchingEngine::forget(Slot slot, std::uint32_t key_hash) noexcept {
  unlink_account(slot);
  index_.erase_hashed(key_hash, slot);
  pool_.release(slot);
}

}  // namespace tradeshard::book

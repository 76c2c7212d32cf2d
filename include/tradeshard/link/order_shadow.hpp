#pragma once
// The gateway's shadow of every order resting on a remote worker (cluster mode, docs/cluster.md
// "Failover"): built from the engine events the worker's RESULT frames carry, in the order the
// worker produced them, and nothing else. When a worker dies, export() gives each of its books as
// a book::BookImage in exact time priority (bids best price first, then asks; oldest first within
// a price), which a new home rests with LOAD_BOOK (MatchingEngine::import_book) unchanged: same
// prices, leaves, filled quantities and relative priority.
//
// Priority: an order's place is fixed when it starts resting (its `accepted` event; orders of one
// engine are accepted in the engine's order) and renewed when a replace loses priority
// (`replaced` with priority_kept false), as the engine does. Standard library and domain only.
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "tradeshard/book/event.hpp"
#include "tradeshard/book/matching_engine.hpp"

namespace tradeshard::link {

class OrderShadow {
 public:
  struct Order {
    std::uint32_t worker = 0;
    book::AccountId account = 0;
    core::InstrumentId instrument = 0;
    core::Side side = core::Side::buy;
    core::Ticks price = 0;
    core::Lots leaves = 0;
    core::Lots filled = 0;
    std::uint64_t priority = 0;  // lower is older
  };

  // The events of one command on `worker`, as the worker sent them.
  void apply(std::uint32_t worker, std::span<const book::Event> events);
  // The events of one order that never reached a book (queued and cancelled, rejected) leave no
  // trace; nothing else to call.

  // Every order of `instrument` resting on `worker`, in the order import_book wants.
  [[nodiscard]] book::BookImage export_book(std::uint32_t worker, core::InstrumentId instrument) const;
  // The instruments with resting orders on `worker`.
  [[nodiscard]] std::vector<core::InstrumentId> instruments_on(std::uint32_t worker) const;
  // The book now lives on `to` (after a LOAD_BOOK there): its orders keep their priority.
  void move_book(std::uint32_t from, std::uint32_t to, core::InstrumentId instrument);
  // The book is gone from `worker` without events (DROP_BOOK, or a worker reset).
  void forget_book(std::uint32_t worker, core::InstrumentId instrument);

  [[nodiscard]] const Order* find(book::OrderKey key) const;
  [[nodiscard]] std::size_t size() const noexcept { return orders_.size(); }
  // Orders resting on `worker` (a view: walks its books).
  [[nodiscard]] std::size_t resting_on(std::uint32_t worker) const;
  // The last trade price per instrument seen in fills (the reference of price bands on import).
  [[nodiscard]] core::Ticks last_trade(core::InstrumentId instrument) const;

 private:
  using BookKey = std::pair<std::uint32_t, core::InstrumentId>;
  void index(book::OrderKey key, const Order& o);
  void unindex(book::OrderKey key, const Order& o);

  std::unordered_map<book::OrderKey, Order> orders_;
  // Per (worker, instrument): the keys resting there, by priority (for export).
  std::map<BookKey, std::map<std::uint64_t, book::OrderKey>> books_;
  std::unordered_map<core::InstrumentId, core::Ticks> last_trade_;
  std::uint64_t next_priority_ = 1;
};

}  // namespace tradeshard::link

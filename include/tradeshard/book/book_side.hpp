#pragma once
// One side of one instrument's book: price levels kept in a vector sorted from the worst price
// to the best, so the best level is back() (O(1)), and inserts/erases near the touch move only
// the few levels behind it. Each level holds an intrusive FIFO of pool slots (time priority).
#include <cstdint>
#include <span>
#include <vector>

#include "tradeshard/book/order_pool.hpp"

namespace tradeshard::book {

struct Level {
  Ticks price = 0;
  Lots total = 0;            // sum of leaves at this price
  Slot head = no_slot;       // oldest order: trades first
  Slot tail = no_slot;
  std::uint32_t count = 0;   // orders at this price
};
static_assert(sizeof(Level) == 32);

class BookSide {
 public:
  explicit BookSide(Side side) : sign_(side == Side::buy ? 1 : -1) {}

  [[nodiscard]] bool empty() const noexcept { return levels_.empty(); }
  [[nodiscard]] Level& best() noexcept { return levels_.back(); }
  [[nodiscard]] const Level& best() const noexcept { return levels_.back(); }
  void pop_best() noexcept { levels_.pop_back(); }
  // True when `price` is strictly better for this side than `other` (higher bid, lower ask).
  [[nodiscard]] bool better(Ticks price, Ticks other) const noexcept {
    return sign_ * price > sign_ * other;
  }

  // Appends slot at the tail of its price level, creating the level if needed.
  void push_back(OrderPool& pool, Slot slot);
  // Unlinks slot from its level (dropping the level when it empties).
  void unlink(OrderPool& pool, Slot slot) noexcept;
  // Level at exactly `price`, or nullptr.
  [[nodiscard]] Level* find(Ticks price) noexcept;

  // Levels from worst to best (iterate in reverse for best-first).
  [[nodiscard]] std::span<const Level> levels() const noexcept { return levels_; }
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return levels_.capacity() * sizeof(Level);
  }

 private:
  // Index of the first level not worse than `price` (== size() when price beats the touch).
  [[nodiscard]] std::size_t position(Ticks price) const noexcept;

  std::vector<Level> levels_;
  std::int64_t sign_;
};

}  // namespace tradeshard::book

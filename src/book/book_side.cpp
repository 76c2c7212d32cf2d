#include "tradeshard/book/book_side.hpp"

#include <algorithm>
#include <cassert>

namespace tradeshard::book {

std::size_t BookSide::position(Ticks price) const noexcept {
  // Most activity is at or near the touch: scan a few levels from the back first.
  const std::int64_t key = sign_ * price;
  const Level* const base = levels_.data();
  std::size_t i = levels_.size();
  for (int steps = 0; i > 0 && steps < 8; ++steps, --i) {
    if (sign_ * base[i - 1].price < key) return i;
  }
  if (i == 0) return 0;
  // Branchless lower bound over [0, i): deep cancels land anywhere, so the comparisons would
  // mispredict about half the time; a conditional move per halving does not.
  const Level* first = base;
  for (std::size_t len = i; len > 1;) {
    const std::size_t half = len / 2;
    first = sign_ * first[half].price < key ? first + half : first;
    len -= half;
  }
  return static_cast<std::size_t>(first - base) + (sign_ * first->price < key ? 1 : 0);
}

Level* BookSide::find(Ticks price) noexcept {
  const std::size_t i = position(price);
  return i < levels_.size() && levels_[i].price == price ? &levels_[i] : nullptr;
}

void BookSide::push_back(OrderPool& pool, Slot slot) {
  OrderNode& node = pool[slot];
  const std::size_t i = position(node.price);
  if (i == levels_.size() || levels_[i].price != node.price) {
    levels_.insert(levels_.begin() + static_cast<std::ptrdiff_t>(i), Level{node.price, 0, no_slot, no_slot, 0});
  }
  Level& level = levels_[i];
  node.next = no_slot;
  node.prev = level.tail;
  if (level.tail != no_slot) {
    pool[level.tail].next = slot;
  } else {
    level.head = slot;
  }
  level.tail = slot;
  level.total += node.leaves;
  ++level.count;
}

void BookSide::unlink(OrderPool& pool, Slot slot) noexcept {
  OrderNode& node = pool[slot];
  const std::size_t i = position(node.price);
  assert(i < levels_.size() && levels_[i].price == node.price);
  Level& level = levels_[i];
  if (node.prev != no_slot) pool[node.prev].next = node.next; else level.head = node.next;
  if (node.next != no_slot) pool[node.next].prev = node.prev; else level.tail = node.prev;
  level.total -= node.leaves;
  if (--level.count == 0) levels_.erase(levels_.begin() + static_cast<std::ptrdiff_t>(i));
}

}  // namespace tradeshard::book

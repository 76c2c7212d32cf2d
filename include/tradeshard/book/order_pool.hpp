#pragma once
// Resting orders live in one vector of 64-byte nodes addressed by 32-bit slot numbers; the
// per-level FIFO and the per-account list are intrusive links between slots. Freed slots are
// reused (LIFO), so a steady book allocates nothing per order.
#include <cstdint>
#include <vector>

#include "tradeshard/book/order.hpp"

namespace tradeshard::book {

using Slot = std::uint32_t;
inline constexpr Slot no_slot = 0xFFFFFFFFu;

struct OrderNode {
  OrderKey key = 0;
  Lots leaves = 0;   // still tradeable
  Lots filled = 0;   // traded so far; total quantity = leaves + filled
  Ticks price = 0;
  Slot next = no_slot;  // level FIFO (toward newer); free-list link when free
  Slot prev = no_slot;
  Slot acct_next = no_slot;
  Slot acct_prev = no_slot;
  AccountId account = 0;
  InstrumentId instrument = 0;
  Side side = Side::buy;
  std::uint32_t account_ix = 0;  // AccountIndex entry of `account` (stable): no lookup on removal
};
static_assert(sizeof(OrderNode) == 64, "one cache line per resting order");

class OrderPool {
 public:
  void reserve(std::size_t n) { nodes_.reserve(n); }

  [[nodiscard]] Slot allocate() {
    if (free_head_ != no_slot) {
      const Slot s = free_head_;
      free_head_ = nodes_[s].next;
      return s;
    }
    nodes_.emplace_back();
    return static_cast<Slot>(nodes_.size() - 1);
  }
  // A free node has leaves == 0, so a stale index entry of it is never "live" (find_live).
  void release(Slot s) noexcept {
    nodes_[s].leaves = 0;
    nodes_[s].next = free_head_;
    free_head_ = s;
  }

  // Hint only: starts loading a node whose address is known early (a FIFO or account neighbour).
  // no_slot prefetches slot 0 instead: g++ 12 silently drops a prefetch under an `if`.
  void prefetch(Slot s) const noexcept { __builtin_prefetch(nodes_.data() + (s == no_slot ? 0 : s)); }

  [[nodiscard]] OrderNode& operator[](Slot s) noexcept { return nodes_[s]; }
  [[nodiscard]] const OrderNode& operator[](Slot s) const noexcept { return nodes_[s]; }
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return nodes_.capacity() * sizeof(OrderNode);
  }

 private:
  std::vector<OrderNode> nodes_;
  Slot free_head_ = no_slot;
};

}  // namespace tradeshard::book

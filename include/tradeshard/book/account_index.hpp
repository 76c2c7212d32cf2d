#pragma once
// AccountId -> that account's entry: head of its intrusive list of resting orders (and its
// length), for cancel_all, open-order queries and cheap self-trade checks. Entries live in a dense
// vector and are never erased (an idle account costs 12 bytes plus 4-8 of table), so an entry's index is stable:
// resting orders keep it (OrderNode::account_ix) and reach their entry without a hash lookup.
// The account -> index map is open addressing with linear probing (no erase, no tombstones).
#include <cstdint>
#include <vector>

#include "tradeshard/book/order_pool.hpp"

namespace tradeshard::book {

struct AccountEntry {
  AccountId account = 0;
  Slot head = no_slot;
  std::uint32_t count = 0;  // resting orders
};

class AccountIndex {
 public:
  AccountIndex() { rehash(16); }

  // Index of the account's entry, creating it on first use (may allocate only for a new account).
  [[nodiscard]] std::uint32_t get(AccountId account);
  [[nodiscard]] const AccountEntry* find(AccountId account) const noexcept;
  [[nodiscard]] AccountEntry& operator[](std::uint32_t ix) noexcept { return entries_[ix]; }
  [[nodiscard]] const AccountEntry& operator[](std::uint32_t ix) const noexcept {
    return entries_[ix];
  }
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return entries_.capacity() * sizeof(AccountEntry) + table_.capacity() * sizeof(std::uint32_t);
  }

 private:
  static constexpr std::uint32_t empty = 0xFFFFFFFFu;
  void rehash(std::size_t buckets);
  [[nodiscard]] static std::uint32_t home(AccountId a) noexcept { return a * 0x9E3779B1u; }

  std::vector<AccountEntry> entries_;
  std::vector<std::uint32_t> table_;  // entry index, or `empty`
  std::uint32_t mask_ = 0;
};

}  // namespace tradeshard::book

#pragma once
// AccountId -> head of that account's intrusive list of resting orders (and its length), for
// cancel_all, open-order queries and cheap self-trade checks. Open addressing; accounts are
// never erased (an idle account costs 12 bytes), so lookups need no tombstones.
#include <cstdint>
#include <vector>

#include "tradeshard/book/order_pool.hpp"

namespace tradeshard::book {

struct AccountEntry {
  AccountId account = 0;
  Slot head = no_slot;
  std::uint32_t count = 0;  // resting orders; also marks the entry used when head/count set
};

class AccountIndex {
 public:
  AccountIndex() { rehash(16); }

  // Returns the entry, creating it on first use (may allocate only for a new account).
  [[nodiscard]] AccountEntry& get(AccountId account);
  [[nodiscard]] const AccountEntry* find(AccountId account) const noexcept;
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return table_.capacity() * sizeof(Bucket);
  }

 private:
  struct Bucket {
    AccountEntry entry;
    bool used = false;
  };
  void rehash(std::size_t buckets);
  [[nodiscard]] static std::uint32_t home(AccountId a) noexcept { return a * 0x9E3779B1u; }

  std::vector<Bucket> table_;
  std::uint32_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tradeshard::book

#include "tradeshard/book/account_index.hpp"

namespace tradeshard::book {

AccountEntry& AccountIndex::get(AccountId account) {
  std::uint32_t i = home(account) & mask_;
  while (table_[i].used) {
    if (table_[i].entry.account == account) return table_[i].entry;
    i = (i + 1) & mask_;
  }
  // Grow only when inserting, so references to existing entries stay valid on lookups.
  if ((size_ + 1) * 2 > table_.size()) {
    rehash(table_.size() * 2);
    i = home(account) & mask_;
    while (table_[i].used) i = (i + 1) & mask_;
  }
  table_[i].used = true;
  table_[i].entry = AccountEntry{account, no_slot, 0};
  ++size_;
  return table_[i].entry;
}

const AccountEntry* AccountIndex::find(AccountId account) const noexcept {
  for (std::uint32_t i = home(account) & mask_; table_[i].used; i = (i + 1) & mask_) {
    if (table_[i].entry.account == account) return &table_[i].entry;
  }
  return nullptr;
}

void AccountIndex::rehash(std::size_t buckets) {
  std::vector<Bucket> old = std::move(table_);
  table_.assign(buckets, Bucket{});
  mask_ = static_cast<std::uint32_t>(buckets - 1);
  for (const Bucket& b : old) {
    if (!b.used) continue;
    std::uint32_t i = home(b.entry.account) & mask_;
    while (table_[i].used) i = (i + 1) & mask_;
    table_[i] = b;
  }
}

}  // namespace tradeshard::book

#include "tradeshard/book/account_index.hpp"

namespace tradeshard::book {

std::uint32_t AccountIndex::get(AccountId account) {
  std::uint32_t i = home(account) & mask_;
  for (; table_[i] != empty; i = (i + 1) & mask_) {
    if (entries_[table_[i]].account == account) return table_[i];
  }
  // Load <= 0.5.
  if ((entries_.size() + 1) * 2 > table_.size()) {
    rehash(table_.size() * 2);
    i = home(account) & mask_;
    while (table_[i] != empty) i = (i + 1) & mask_;
  }
  const auto ix = static_cast<std::uint32_t>(entries_.size());
  entries_.push_back(AccountEntry{account, no_slot, 0});
  table_[i] = ix;
  return ix;
}

const AccountEntry* AccountIndex::find(AccountId account) const noexcept {
  for (std::uint32_t i = home(account) & mask_; table_[i] != empty; i = (i + 1) & mask_) {
    if (entries_[table_[i]].account == account) return &entries_[table_[i]];
  }
  return nullptr;
}

void AccountIndex::rehash(std::size_t buckets) {
  table_.assign(buckets, empty);
  mask_ = static_cast<std::uint32_t>(buckets - 1);
  for (std::uint32_t ix = 0; ix < entries_.size(); ++ix) {
    std::uint32_t i = home(entries_[ix].account) & mask_;
    while (table_[i] != empty) i = (i + 1) & mask_;
    table_[i] = ix;
  }
}

}  // namespace tradeshard::book

#include "tradeshard/book/order_index.hpp"

#include <bit>
#include <cassert>

namespace tradeshard::book {

void OrderIndex::reserve(std::size_t n) {
  const std::size_t want = std::bit_ceil(n * 2 < 16 ? std::size_t{16} : n * 2);
  if (want > table_.size()) rehash(want);
}

void OrderIndex::rehash(std::size_t buckets) {
  std::vector<Entry> old = std::move(table_);
  table_.assign(buckets, Entry{});
  mask_ = static_cast<std::uint32_t>(buckets - 1);
  for (const Entry& e : old) {
    if (e.slot == no_slot) continue;
    std::uint32_t i = e.hash & mask_;
    while (table_[i].slot != no_slot) i = (i + 1) & mask_;
    table_[i] = e;
  }
}

void OrderIndex::insert(OrderKey key, Slot slot) {
  // Keep load <= 1/2 so probes stay short (expected ~1.5 for a hit).
  if ((size_ + 1) * 2 > table_.size()) rehash(table_.size() * 2);
  const std::uint32_t h = hash(key);
  std::uint32_t i = h & mask_;
  while (table_[i].slot != no_slot) i = (i + 1) & mask_;
  table_[i] = Entry{h, slot};
  ++size_;
}

void OrderIndex::erase(OrderKey key, Slot slot) noexcept {
  const std::uint32_t h = hash(key);
  std::uint32_t i = h & mask_;
  while (table_[i].slot != slot) {
    assert(table_[i].slot != no_slot && "erase of a key that is not indexed");
    i = (i + 1) & mask_;
  }
  // Backward shift: pull later entries of the probe run into the hole when their home allows.
  for (std::uint32_t j = (i + 1) & mask_; table_[j].slot != no_slot; j = (j + 1) & mask_) {
    const std::uint32_t home = table_[j].hash & mask_;
    if (((j - home) & mask_) >= ((j - i) & mask_)) {
      table_[i] = table_[j];
      i = j;
    }
  }
  table_[i] = Entry{};
  --size_;
}

}  // namespace tradeshard::book

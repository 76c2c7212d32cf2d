#include "tradeshard/balance/live_count_table.hpp"

#include <cassert>
#include <utility>

namespace tradeshard::balance {

namespace {

constexpr std::size_t initial_buckets = 64;

// murmur3 fmix64: callers pass stable hashes, but the tag must still scatter the buckets.
constexpr std::uint64_t mix(std::uint64_t x) noexcept {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

}  // namespace

LiveCountTable::LiveCountTable() : buckets_(initial_buckets), mask_(initial_buckets - 1) {}

std::size_t LiveCountTable::ideal(Key key) const noexcept {
  return static_cast<std::size_t>(mix(key.symbol ^ (std::uint64_t{key.tag} * 0x9e3779b97f4a7c15ULL))) &
         mask_;
}

LiveCountTable::Entry* LiveCountTable::find(Key key) noexcept {
  for (std::size_t i = ideal(key);; i = (i + 1) & mask_) {
    Entry& e = buckets_[i];
    if (e.count == 0) return nullptr;
    if (e.key == key) return &e;
  }
}

const LiveCountTable::Entry* LiveCountTable::find(Key key) const noexcept {
  return const_cast<LiveCountTable*>(this)->find(key);
}

LiveCountTable::Entry& LiveCountTable::find_or_insert(Key key) {
  if ((size_ + 1) * 2 > buckets_.size()) grow();
  for (std::size_t i = ideal(key);; i = (i + 1) & mask_) {
    Entry& e = buckets_[i];
    if (e.count == 0) {
      e = Entry{key, 0, 0};
      ++size_;
      return e;
    }
    if (e.key == key) return e;
  }
}

std::uint32_t LiveCountTable::decrement(Entry* entry) noexcept {
  assert(entry != nullptr && entry->count > 0);
  if (--entry->count > 0) return entry->count;
  erase_at(static_cast<std::size_t>(entry - buckets_.data()));
  return 0;
}

// Backward-shift deletion keeps every probe chain unbroken without tombstones.
void LiveCountTable::erase_at(std::size_t hole) noexcept {
  --size_;
  for (std::size_t j = (hole + 1) & mask_;; j = (j + 1) & mask_) {
    Entry& e = buckets_[j];
    if (e.count == 0) break;
    const std::size_t home = ideal(e.key);
    // e may stay only if its ideal bucket lies cyclically in (hole, j].
    const bool stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
    if (stays) continue;
    buckets_[hole] = e;
    hole = j;
  }
  buckets_[hole] = Entry{};
}

void LiveCountTable::grow() {
  std::vector<Entry> old = std::exchange(buckets_, std::vector<Entry>(buckets_.size() * 2));
  mask_ = buckets_.size() - 1;
  for (const Entry& e : old) {
    if (e.count == 0) continue;
    std::size_t i = ideal(e.key);
    while (buckets_[i].count != 0) i = (i + 1) & mask_;
    buckets_[i] = e;
  }
}

}  // namespace tradeshard::balance

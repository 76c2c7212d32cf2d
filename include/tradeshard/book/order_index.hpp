#pragma once
// OrderKey -> Slot, open addressing with linear probing and backward-shift deletion (no
// tombstones, so a churning book never degrades). An entry is 8 bytes: the 32-bit hash of the
// key (which also gives its home bucket, so rehash and deletion never touch the pool) and the
// slot; the key itself is confirmed in the pool. Load factor stays <= 0.6.
#include <cassert>
#include <cstdint>
#include <vector>

#include "tradeshard/book/order_pool.hpp"

namespace tradeshard::book {

class OrderIndex {
 public:
  OrderIndex() { rehash(16); }

  void reserve(std::size_t n);
  [[nodiscard]] Slot find(OrderKey key, const OrderPool& pool) const noexcept {
    return find(key, hash(key), pool);
  }
  // h == hash(key): callers that also insert or erase the key hash it once.
  [[nodiscard]] Slot find(OrderKey key, std::uint32_t h, const OrderPool& pool) const noexcept {
    for (std::uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.slot == no_slot) return no_slot;
      if (e.hash == h && pool[e.slot].key == key) return e.slot;
    }
  }
  // As find, but skips nodes with leaves == 0: a filled maker whose entry the engine has not
  // erased yet (MatchingEngine retires those lazily) may share its key with a live order.
  [[nodiscard]] Slot find_live(OrderKey key, const OrderPool& pool) const noexcept {
    return find_live(key, hash(key), pool);
  }
  [[nodiscard]] Slot find_live(OrderKey key, std::uint32_t h, const OrderPool& pool) const noexcept {
    for (std::uint32_t i = h & mask_;; i = (i + 1) & mask_) {
      const Entry& e = table_[i];
      if (e.slot == no_slot) return no_slot;
      if (e.hash == h && pool[e.slot].key == key && pool[e.slot].leaves != 0) return e.slot;
    }
  }
  // Hint only: starts loading the home bucket of a key that will be looked up soon.
  void prefetch(std::uint32_t h) const noexcept { __builtin_prefetch(table_.data() + (h & mask_)); }
  // Precondition: key is not present.
  void insert(OrderKey key, Slot slot) { insert_hashed(hash(key), slot); }
  void insert_hashed(std::uint32_t h, Slot slot);
  // Precondition: an entry (hash(key), slot) is present; removes one such entry.
  void erase(OrderKey key, Slot slot) noexcept { erase_hashed(hash(key), slot); }
  void erase_hashed(std::uint32_t h, Slot slot) noexcept;  // inline: on the trade path

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t capacity_bytes() const noexcept {
    return table_.capacity() * sizeof(Entry);
  }

  // splitmix64 finalizer folded to 32 bits: keys are often sequential, so mix them well.
  [[nodiscard]] static std::uint32_t hash(OrderKey k) noexcept {
    k ^= k >> 30;
    k *= 0xbf58476d1ce4e5b9ULL;
    k ^= k >> 27;
    k *= 0x94d049bb133111ebULL;
    k ^= k >> 31;
    return static_cast<std::uint32_t>(k ^ (k >> 32));
  }

 private:
  struct Entry {
    std::uint32_t hash = 0;
    Slot slot = no_slot;
  };
  void rehash(std::size_t buckets);
  static constexpr std::size_t max_load_num = 3;
  static constexpr std::size_t max_load_den = 5;

  std::vector<Entry> table_;
  std::uint32_t mask_ = 0;
  std::size_t size_ = 0;
};

inline void OrderIndex::erase_hashed(std::uint32_t h, Slot slot) noexcept {
  std::uint32_t i = h & mask_;
  // Hash and slot both: a stale entry of a reused slot (see MatchingEngine) may precede this one.
  while (table_[i].slot != slot || table_[i].hash != h) {
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

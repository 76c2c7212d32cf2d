#pragma once
// Open-addressing table of live-order counters keyed by (symbol hash, tag). Entries exist only
// while their count is > 0 (erase at zero, backward-shift deletion, no tombstones), so memory is
// bounded by the peak number of live keys, never by how many symbols were ever seen.
// Inserting may allocate when the table doubles; lookups and erases never do.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace tradeshard::balance {

class LiveCountTable {
 public:
  struct Key {
    std::uint64_t symbol = 0;
    std::uint32_t tag = 0;  // worker slot or pool, depending on the table
    friend constexpr bool operator==(Key, Key) = default;
  };
  struct Entry {
    Key key;
    std::uint32_t count = 0;  // 0 marks an empty bucket
    std::uint32_t home = 0;   // free payload for the owner (the symbol's home worker)
  };

  LiveCountTable();

  [[nodiscard]] Entry* find(Key key) noexcept;
  [[nodiscard]] const Entry* find(Key key) const noexcept;
  // Existing entry, or a new one with count 0 that the caller must increment right away.
  [[nodiscard]] Entry& find_or_insert(Key key);
  // Decrements and erases at zero. Returns the remaining count. Entry must come from find().
  std::uint32_t decrement(Entry* entry) noexcept;

  // Visits every live entry; f may change count-free payload (home) but must not insert or erase.
  template <typename F>
  void for_each(F f) {
    for (Entry& e : buckets_) {
      if (e.count != 0) f(e);
    }
  }
  template <typename F>
  void for_each(F f) const {
    for (const Entry& e : buckets_) {
      if (e.count != 0) f(e);
    }
  }

  [[nodiscard]] std::size_t size() const noexcept { return size_; }
  [[nodiscard]] std::size_t bucket_count() const noexcept { return buckets_.size(); }

 private:
  [[nodiscard]] std::size_t ideal(Key key) const noexcept;
  void grow();
  void erase_at(std::size_t index) noexcept;

  std::vector<Entry> buckets_;  // size is a power of two, at most half full
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tradeshard::balance

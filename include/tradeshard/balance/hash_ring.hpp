#pragma once
// Consistent hash ring: each member owns `points` virtual points at core::stable_hash(id, i),
// i = 0..points-1. A point's position depends only on the member's string id, so adding or
// removing a member never moves a key between the other members. Standard library only.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

namespace tradeshard::balance {

class HashRing {
 public:
  struct Member {
    std::string_view id;
    std::uint32_t owner;  // opaque slot number
  };
  // Adds `points` points per member. One sort + merge for the whole batch. Admin path only.
  void add(std::span<const Member> members, std::uint32_t points);
  void add(std::string_view id, std::uint32_t owner, std::uint32_t points) {
    const Member one{id, owner};
    add(std::span<const Member>(&one, 1), points);
  }
  // Drops every point of `owner`; the other points keep their positions.
  void remove(std::uint32_t owner);

  [[nodiscard]] std::size_t size() const noexcept { return hashes_.size(); }
  [[nodiscard]] bool empty() const noexcept { return hashes_.empty(); }
  // Index of the first point clockwise from `key` (at or after it, wrapping). Ring not empty.
  // O(1) expected: a bucket index on the top bits narrows the search to about one point.
  [[nodiscard]] std::size_t first_at_or_after(std::uint64_t key) const noexcept;
  [[nodiscard]] std::size_t next(std::size_t index) const noexcept {
    return index + 1 == hashes_.size() ? 0 : index + 1;
  }
  [[nodiscard]] std::uint32_t owner_at(std::size_t index) const noexcept { return owners_[index]; }

 private:
  void rebuild_index();

  // Parallel arrays: the search touches only the hashes.
  std::vector<std::uint64_t> hashes_;
  std::vector<std::uint32_t> owners_;
  // bucket_start_[b] = first point whose top `bucket_bits_` bits are >= b; one extra sentinel.
  std::vector<std::uint32_t> bucket_start_;
  unsigned bucket_bits_ = 0;
};

}  // namespace tradeshard::balance

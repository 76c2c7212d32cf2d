#include "tradeshard/balance/hash_ring.hpp"

#include <algorithm>
#include <cassert>
#include <utility>

#include "tradeshard/core/hash.hpp"

namespace tradeshard::balance {

void HashRing::add(std::span<const Member> members, std::uint32_t points) {
  using Point = std::pair<std::uint64_t, std::uint32_t>;
  std::vector<Point> fresh;
  fresh.reserve(members.size() * points);
  // The point index is the hash seed, so a point never depends on other members or on order.
  for (const Member& m : members) {
    for (std::uint32_t i = 0; i < points; ++i) fresh.emplace_back(core::stable_hash(m.id, i), m.owner);
  }
  // Ties (64-bit collisions) break by owner so the order is total and reproducible.
  std::sort(fresh.begin(), fresh.end());
  std::vector<Point> merged;
  merged.reserve(hashes_.size() + fresh.size());
  std::size_t i = 0;
  for (const Point& p : fresh) {
    for (; i < hashes_.size() && Point{hashes_[i], owners_[i]} < p; ++i) merged.emplace_back(hashes_[i], owners_[i]);
    merged.push_back(p);
  }
  for (; i < hashes_.size(); ++i) merged.emplace_back(hashes_[i], owners_[i]);
  hashes_.clear();
  owners_.clear();
  hashes_.reserve(merged.size());
  owners_.reserve(merged.size());
  for (const auto& [hash, who] : merged) {
    hashes_.push_back(hash);
    owners_.push_back(who);
  }
  rebuild_index();
}

void HashRing::remove(std::uint32_t owner) {
  std::size_t out = 0;
  for (std::size_t i = 0; i < hashes_.size(); ++i) {
    if (owners_[i] == owner) continue;
    hashes_[out] = hashes_[i];
    owners_[out] = owners_[i];
    ++out;
  }
  hashes_.resize(out);
  owners_.resize(out);
  rebuild_index();
}

void HashRing::rebuild_index() {
  // About one point per bucket; at least one bucket so the shift below stays < 64.
  bucket_bits_ = 1;
  while (bucket_bits_ < 24 && (std::size_t{1} << bucket_bits_) < hashes_.size()) ++bucket_bits_;
  const std::size_t buckets = std::size_t{1} << bucket_bits_;
  bucket_start_.assign(buckets + 1, static_cast<std::uint32_t>(hashes_.size()));
  std::size_t point = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    while (point < hashes_.size() && (hashes_[point] >> (64 - bucket_bits_)) < b) ++point;
    bucket_start_[b] = static_cast<std::uint32_t>(point);
  }
}

std::size_t HashRing::first_at_or_after(std::uint64_t key) const noexcept {
  assert(!hashes_.empty());
  const std::size_t bucket = key >> (64 - bucket_bits_);
  // Points of this bucket are [start, end); every point of a later bucket is > key.
  std::size_t i = bucket_start_[bucket];
  const std::size_t end = bucket_start_[bucket + 1];
  while (i < end && hashes_[i] < key) ++i;
  return i == hashes_.size() ? 0 : i;
}

}  // namespace tradeshard::balance

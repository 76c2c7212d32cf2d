#include "tradeshard/partition/partitioner.hpp"

#include <algorithm>
#include <string>

#include "tradeshard/core/hash.hpp"

namespace tradeshard::partition {

namespace {

// Seeds keep the placement hash and the ring-point hashes independent of each other.
constexpr std::uint64_t ring_seed = 0x7472616465736872ULL;

bool within_to(std::string_view symbol, std::string_view to) noexcept {
  return symbol.substr(0, to.size()) <= to;
}

bool in_range(std::string_view symbol, const RangeRule& r) noexcept {
  return std::string_view(r.from) <= symbol && within_to(symbol, r.to);
}

}  // namespace

std::string_view to_string(Strategy s) noexcept {
  switch (s) {
    case Strategy::hash: return "hash";
    case Strategy::range: return "range";
    case Strategy::list: return "list";
    case Strategy::consistent_hash: return "consistent_hash";
  }
  return "hash";
}

std::optional<Strategy> parse_strategy(std::string_view text) noexcept {
  for (auto s : all_strategies) {
    if (to_string(s) == text) return s;
  }
  return std::nullopt;
}

std::string_view to_string(PartitionerError e) noexcept {
  switch (e) {
    case PartitionerError::ok: return "ok";
    case PartitionerError::zero_partitions: return "zero_partitions";
    case PartitionerError::too_many_partitions: return "too_many_partitions";
    case PartitionerError::partition_out_of_range: return "partition_out_of_range";
    case PartitionerError::empty_range: return "empty_range";
    case PartitionerError::ranges_overlap: return "ranges_overlap";
    case PartitionerError::duplicate_symbol: return "duplicate_symbol";
    case PartitionerError::zero_points: return "zero_points";
  }
  return "ok";
}

std::size_t Partitioner::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(core::stable_hash(s));
}

namespace {

PartitionerError check_config(const PartitionerConfig& c) {
  if (c.partitions == 0) return PartitionerError::zero_partitions;
  if (c.partitions > Partitioner::max_partitions) return PartitionerError::too_many_partitions;
  if (c.fallback && *c.fallback >= c.partitions) return PartitionerError::partition_out_of_range;
  if (c.strategy == Strategy::consistent_hash && c.points_per_partition == 0) {
    return PartitionerError::zero_points;
  }
  if (c.strategy == Strategy::range) {
    for (const auto& r : c.ranges) {
      if (r.partition >= c.partitions) return PartitionerError::partition_out_of_range;
      if (!within_to(r.from, r.to)) return PartitionerError::empty_range;
    }
  }
  if (c.strategy == Strategy::list) {
    for (const auto& [symbol, p] : c.symbols) {
      if (p >= c.partitions) return PartitionerError::partition_out_of_range;
    }
  }
  return PartitionerError::ok;
}

}  // namespace

PartitionerResult Partitioner::create(PartitionerConfig config) {
  PartitionerResult out;
  out.error = check_config(config);
  if (!out.ok()) return out;
  Partitioner& p = out.partitioner;
  p.strategy_ = config.strategy;
  p.partitions_ = config.partitions;
  p.fallback_ = config.fallback;
  if (config.strategy == Strategy::range) {
    p.ranges_ = std::move(config.ranges);
    std::sort(p.ranges_.begin(), p.ranges_.end(),
              [](const RangeRule& a, const RangeRule& b) { return a.from < b.from; });
    // Sorted by `from`, two ranges overlap exactly when a range starts inside its predecessor.
    for (std::size_t i = 1; i < p.ranges_.size(); ++i) {
      if (in_range(p.ranges_[i].from, p.ranges_[i - 1])) {
        out.error = PartitionerError::ranges_overlap;
        return out;
      }
    }
  }
  if (config.strategy == Strategy::list) {
    for (auto& [symbol, id] : config.symbols) {
      if (!p.list_.emplace(std::move(symbol), id).second) {
        out.error = PartitionerError::duplicate_symbol;
        return out;
      }
    }
  }
  if (config.strategy == Strategy::consistent_hash) {
    p.ring_.reserve(std::size_t{config.partitions} * config.points_per_partition);
    for (PartitionId id = 0; id < config.partitions; ++id) {
      for (std::uint32_t v = 0; v < config.points_per_partition; ++v) {
        const std::string key = std::to_string(id) + "#" + std::to_string(v);
        p.ring_.push_back({core::stable_hash(key, ring_seed), id});
      }
    }
    std::sort(p.ring_.begin(), p.ring_.end(), [](const RingPoint& a, const RingPoint& b) {
      return a.hash != b.hash ? a.hash < b.hash : a.partition < b.partition;
    });
    p.build_buckets();
  }
  return out;
}

PartitionId Partitioner::partition_of(std::string_view symbol) const noexcept {
  switch (strategy_) {
    case Strategy::hash: return by_hash(symbol);
    case Strategy::range: return by_range(symbol);
    case Strategy::list: {
      const auto it = list_.find(symbol);
      return it != list_.end() ? it->second : fallback_of(symbol);
    }
    case Strategy::consistent_hash: return by_ring(symbol);
  }
  return 0;
}

PartitionId Partitioner::by_hash(std::string_view symbol) const noexcept {
  return static_cast<PartitionId>(core::stable_hash(symbol) % partitions_);
}

PartitionId Partitioner::fallback_of(std::string_view symbol) const noexcept {
  return fallback_ ? *fallback_ : by_hash(symbol);
}

PartitionId Partitioner::by_range(std::string_view symbol) const noexcept {
  // The only candidate is the last range starting at or before the symbol.
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), symbol,
                             [](std::string_view s, const RangeRule& r) { return s < r.from; });
  if (it == ranges_.begin()) return fallback_of(symbol);
  --it;
  return within_to(symbol, it->to) ? it->partition : fallback_of(symbol);
}

void Partitioner::build_buckets() {
  // About one ring point per bucket, between 2^8 and 2^20 buckets.
  unsigned bits = 8;
  while (bits < 20 && (std::size_t{1} << bits) < ring_.size()) ++bits;
  bucket_shift_ = 64 - bits;
  const std::size_t buckets = std::size_t{1} << bits;
  bucket_.assign(buckets + 1, static_cast<std::uint32_t>(ring_.size()));
  std::size_t i = 0;
  for (std::size_t b = 0; b < buckets; ++b) {
    while (i < ring_.size() && (ring_[i].hash >> bucket_shift_) < b) ++i;
    bucket_[b] = static_cast<std::uint32_t>(i);
  }
}

PartitionId Partitioner::by_ring(std::string_view symbol) const noexcept {
  const std::uint64_t h = core::stable_hash(symbol);
  const std::size_t b = static_cast<std::size_t>(h >> bucket_shift_);
  // The first point >= h lies in h's bucket or is the first point after it.
  auto it = std::lower_bound(ring_.begin() + bucket_[b], ring_.begin() + bucket_[b + 1], h,
                             [](const RingPoint& p, std::uint64_t v) { return p.hash < v; });
  if (it == ring_.end()) it = ring_.begin();  // the ring wraps around
  return it->partition;
}

}  // namespace tradeshard::partition

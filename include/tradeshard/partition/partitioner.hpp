#pragma once
// Level 1 of the symbol map: symbol -> partition id in [0, P). P is fixed for the life of the
// process (from config), so a symbol's partition never changes; only level 2 (Assignment) moves
// partitions between nodes. Immutable after create(): safe to read from any thread, owned by the loop.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace tradeshard::partition {

using PartitionId = std::uint32_t;

enum class Strategy : std::uint8_t { hash, range, list, consistent_hash };
inline constexpr Strategy all_strategies[] = {Strategy::hash, Strategy::range, Strategy::list,
                                              Strategy::consistent_hash};
[[nodiscard]] std::string_view to_string(Strategy s) noexcept;
[[nodiscard]] std::optional<Strategy> parse_strategy(std::string_view text) noexcept;

// Symbols s with from <= s and s[0, to.size()) <= to belong to `partition`; `to` is an inclusive
// prefix bound, so {"A","F"} holds "AAVEUSDT" .. "FTMUSDT". Ranges must not overlap.
struct RangeRule {
  std::string from;
  std::string to;
  PartitionId partition = 0;
};

struct PartitionerConfig {
  Strategy strategy = Strategy::hash;
  std::uint32_t partitions = 256;
  std::vector<RangeRule> ranges{};                             // strategy range
  std::vector<std::pair<std::string, PartitionId>> symbols{};  // strategy list
  // range / list: symbols not covered go here; nullopt = stable hash mod P.
  std::optional<PartitionId> fallback{};
  std::uint32_t points_per_partition = 64;                      // strategy consistent_hash
};

enum class PartitionerError : std::uint8_t {
  ok,
  zero_partitions,
  too_many_partitions,
  partition_out_of_range,
  empty_range,        // from > to
  ranges_overlap,
  duplicate_symbol,
  zero_points,
};
[[nodiscard]] std::string_view to_string(PartitionerError e) noexcept;

class Partitioner;
struct PartitionerResult;

class Partitioner {
 public:
  static constexpr std::uint32_t max_partitions = 1u << 16;

  // Validates the config; never throws on bad config.
  [[nodiscard]] static PartitionerResult create(PartitionerConfig config);

  [[nodiscard]] PartitionId partition_of(std::string_view symbol) const noexcept;
  [[nodiscard]] std::uint32_t partition_count() const noexcept { return partitions_; }
  [[nodiscard]] Strategy strategy() const noexcept { return strategy_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  struct RingPoint {
    std::uint64_t hash;
    PartitionId partition;
  };

  [[nodiscard]] PartitionId by_hash(std::string_view symbol) const noexcept;
  [[nodiscard]] PartitionId fallback_of(std::string_view symbol) const noexcept;
  [[nodiscard]] PartitionId by_range(std::string_view symbol) const noexcept;
  [[nodiscard]] PartitionId by_ring(std::string_view symbol) const noexcept;
  void build_buckets();

  Strategy strategy_ = Strategy::hash;
  std::uint32_t partitions_ = 1;
  std::optional<PartitionId> fallback_;
  std::vector<RangeRule> ranges_;  // sorted by from
  std::unordered_map<std::string, PartitionId, Hash, std::equal_to<>> list_;
  std::vector<RingPoint> ring_;    // sorted by hash
  // bucket_[b] = first ring index whose hash has top bits >= b: narrows each lookup to a few points.
  std::vector<std::uint32_t> bucket_;
  unsigned bucket_shift_ = 64;
};

struct PartitionerResult {
  Partitioner partitioner;
  PartitionerError error = PartitionerError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == PartitionerError::ok; }
};

}  // namespace tradeshard::partition

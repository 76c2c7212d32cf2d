#pragma once
// Distribution statistics with the seed lesson's names, computed over any set of buckets
// (partitions or nodes) and any measure (symbol count or load in ticks/s).
#include <cstddef>
#include <span>
#include <vector>

namespace tradeshard::partition {

struct PartitionStats {
  std::size_t partition_count = 0;        // number of buckets
  double total_items = 0;
  std::vector<double> items_per_partition;
  double min_items = 0;
  double max_items = 0;
  double avg_items = 0;
  // max / min as the seed. Defined as 1.0 when every bucket is empty (perfectly even) and as
  // 0.0 ("undefined", the seed's value) when min is 0 but max is not: see empty_partitions.
  double imbalance_ratio = 0;
  double max_over_avg = 0;                // 1.0 when avg is 0
  double std_deviation = 0;               // population standard deviation
  std::size_t empty_partitions = 0;
};

[[nodiscard]] PartitionStats compute_stats(std::span<const double> items);

}  // namespace tradeshard::partition

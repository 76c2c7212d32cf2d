#include "tradeshard/partition/partition_stats.hpp"

#include <algorithm>
#include <cmath>

namespace tradeshard::partition {

PartitionStats compute_stats(std::span<const double> items) {
  PartitionStats s;
  s.partition_count = items.size();
  s.items_per_partition.assign(items.begin(), items.end());
  if (items.empty()) {
    s.imbalance_ratio = 1.0;
    s.max_over_avg = 1.0;
    return s;
  }
  const auto [lo, hi] = std::minmax_element(items.begin(), items.end());
  s.min_items = *lo;
  s.max_items = *hi;
  for (double v : items) {
    s.total_items += v;
    if (v == 0) ++s.empty_partitions;
  }
  s.avg_items = s.total_items / static_cast<double>(items.size());
  double variance = 0;
  for (double v : items) variance += (v - s.avg_items) * (v - s.avg_items);
  s.std_deviation = std::sqrt(variance / static_cast<double>(items.size()));
  if (s.max_items == 0) {
    s.imbalance_ratio = 1.0;
  } else {
    s.imbalance_ratio = s.min_items > 0 ? s.max_items / s.min_items : 0.0;
  }
  s.max_over_avg = s.avg_items > 0 ? s.max_items / s.avg_items : 1.0;
  return s;
}

}  // namespace tradeshard::partition

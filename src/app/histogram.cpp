#include "tradeshard/app/histogram.hpp"

#include <bit>

namespace tradeshard::app {

int LatencyHistogram::index_of(std::uint64_t ns) noexcept {
  if (ns < kSub) return static_cast<int>(ns);
  const int msb = 63 - std::countl_zero(ns);  // >= 5
  const int range = msb - 4;                  // 1.. : values [2^msb, 2^(msb+1))
  if (range >= kRanges) return kSub * kRanges - 1;
  const int sub = static_cast<int>((ns >> (msb - 5)) & (kSub - 1));
  return range * kSub + sub;
}

std::uint64_t LatencyHistogram::upper_of(int index) noexcept {
  const int range = index / kSub;
  const int sub = index % kSub;
  if (range == 0) return static_cast<std::uint64_t>(sub);
  const int msb = range + 4;
  const std::uint64_t base = std::uint64_t{1} << msb;
  const std::uint64_t step = std::uint64_t{1} << (msb - 5);
  return base + (static_cast<std::uint64_t>(sub) + 1) * step - 1;
}

void LatencyHistogram::record(std::uint64_t ns) noexcept {
  ++buckets_[static_cast<std::size_t>(index_of(ns))];
  ++count_;
  sum_ += ns;
  if (ns > max_) max_ = ns;
}

std::uint64_t LatencyHistogram::percentile_ns(double q) const noexcept {
  if (count_ == 0) return 0;
  auto rank = static_cast<std::uint64_t>(q * static_cast<double>(count_) + 0.5);
  if (rank < 1) rank = 1;
  if (rank > count_) rank = count_;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      const auto up = upper_of(static_cast<int>(i));
      return up < max_ ? up : max_;
    }
  }
  return max_;
}

std::uint64_t LatencyHistogram::count_at_or_below(std::uint64_t ns) const noexcept {
  std::uint64_t n = 0;
  for (std::size_t i = 0; i < buckets_.size(); ++i) {
    if (upper_of(static_cast<int>(i)) > ns) break;
    n += buckets_[i];
  }
  return n;
}

}  // namespace tradeshard::app

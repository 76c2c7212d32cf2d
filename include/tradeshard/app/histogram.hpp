#pragma once
// Log-bucketed latency histogram (HdrHistogram-like, ~3% relative error): constant memory,
// O(1) record, percentiles and Prometheus buckets. Owned by the loop thread.
#include <array>
#include <cstdint>

namespace tradeshard::app {

class LatencyHistogram {
 public:
  // 64 power-of-two ranges x 32 linear sub-buckets over nanoseconds.
  static constexpr int kSub = 32;
  static constexpr int kRanges = 40;

  void record(std::uint64_t ns) noexcept;
  [[nodiscard]] std::uint64_t count() const noexcept { return count_; }
  [[nodiscard]] std::uint64_t sum_ns() const noexcept { return sum_; }
  [[nodiscard]] std::uint64_t max_ns() const noexcept { return max_; }
  // Upper bound of the bucket holding quantile q in [0,1]; 0 when empty.
  [[nodiscard]] std::uint64_t percentile_ns(double q) const noexcept;
  // Number of samples <= ns (bucket-accurate), for Prometheus cumulative buckets.
  [[nodiscard]] std::uint64_t count_at_or_below(std::uint64_t ns) const noexcept;
  void reset() noexcept { *this = LatencyHistogram{}; }

 private:
  static int index_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_of(int index) noexcept;
  std::array<std::uint64_t, kSub * kRanges> buckets_{};
  std::uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace tradeshard::app

#include <doctest/doctest.h>

#include "tradeshard/app/histogram.hpp"

using tradeshard::app::LatencyHistogram;

// Ensure percentiles land within the histogram's ~3% bucket error.
TEST_CASE("LatencyHistogram: percentiles within bucket error") {
  LatencyHistogram h;
  for (std::uint64_t i = 1; i <= 100000; ++i) h.record(i * 10);  // 10 ns .. 1 ms uniform
  CHECK(h.count() == 100000);
  const auto p50 = static_cast<double>(h.percentile_ns(0.5));
  const auto p99 = static_cast<double>(h.percentile_ns(0.99));
  CHECK(p50 == doctest::Approx(500000).epsilon(0.04));
  CHECK(p99 == doctest::Approx(990000).epsilon(0.04));
  CHECK(h.percentile_ns(1.0) == 1000000);
  CHECK(h.max_ns() == 1000000);
  CHECK(h.count_at_or_below(1000) >= 95);
  CHECK(h.count_at_or_below(1000) <= 100);
  CHECK(h.count_at_or_below(2000000) == 100000);
}

// Ensure an empty histogram reports zeros rather than garbage.
TEST_CASE("LatencyHistogram: empty") {
  LatencyHistogram h;
  CHECK(h.percentile_ns(0.99) == 0);
  CHECK(h.count_at_or_below(100) == 0);
}

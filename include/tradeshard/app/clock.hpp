#pragma once
// Time as the domain sees it: read once at the edge per event and passed in.
#include <cstdint>

namespace tradeshard::app {

struct Now {
  std::int64_t wall_ms = 0;  // Unix epoch milliseconds (bars, signal timestamps)
  std::int64_t mono_ns = 0;  // monotonic nanoseconds (latencies, rates)
};

}  // namespace tradeshard::app

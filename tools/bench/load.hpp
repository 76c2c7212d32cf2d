#pragma once
// The client side of every measurement: N connections driven from one thread with ppoll.
// Closed loop keeps `window` requests in flight per connection; open loop sends on a fixed
// schedule (rate) and measures each latency from the request's intended send time, so a stall
// delays the schedule's later requests and shows up in the percentiles (no coordinated omission).
#include <cstdint>
#include <string>

#include "connection.hpp"
#include "flow.hpp"
#include "options.hpp"

namespace tradeshard::bench {

struct LoadSpec {
  Endpoint endpoint;
  Mode mode = Mode::orders;
  int connections = 1;
  double rate = 0;  // messages/s over all connections; 0 = closed loop / as fast as possible
  int window = 1;
  double duration_s = 2;
  double warmup_s = 0.3;
  std::uint64_t seed = 42;
};

struct TickStats {
  std::uint64_t ticks = 0;   // sent and confirmed processed by the ping/pong barrier
  std::uint64_t bytes = 0;
  std::uint64_t errors = 0;  // replies other than the barrier pongs
  double seconds = 0;        // first tick sent -> last barrier pong received
  [[nodiscard]] double per_second() const { return seconds > 0 ? static_cast<double>(ticks) / seconds : 0; }
};

// Order / ping round trips; stats accumulate into `stats` (warm-up excluded). False + error on failure.
bool run_round_trips(const LoadSpec& spec, RoundTripStats& stats, std::string& error);
// Tick firehose; stats accumulate into `stats`. False + error on failure.
bool run_ticks(const LoadSpec& spec, TickStats& stats, std::string& error);

// steady_clock in ns: the one clock every measurement uses.
[[nodiscard]] std::int64_t now_ns() noexcept;

}  // namespace tradeshard::bench

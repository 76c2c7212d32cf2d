#pragma once
// JSON and console rendering of measurements, environment facts and the targets.
#include <nlohmann/json.hpp>
#include <string>

#include "flow.hpp"
#include "load.hpp"

namespace tradeshard::bench {

using nlohmann::json;

// {"p50","p90","p99","p999","max","mean","count"} in microseconds (one decimal).
[[nodiscard]] json latency_json(const app::LatencyHistogram& h);
// Counters of a round-trip run: sent, acks, rejects by reason, fills, errors, timeouts, rate.
[[nodiscard]] json round_trip_json(const RoundTripStats& s);
[[nodiscard]] json tick_json(const TickStats& s);
// commit, date (UTC), nproc, cpu_model.
[[nodiscard]] json environment_json(const std::string& source_dir);
// The targets as {"ok", "value", "limit"} objects; `report` must hold the headline keys.
[[nodiscard]] json targets_json(const json& report);
// One console line per measurement.
[[nodiscard]] std::string summary_line(const std::string& label, const RoundTripStats& s);
[[nodiscard]] std::string summary_line(const std::string& label, const TickStats& s);

}  // namespace tradeshard::bench

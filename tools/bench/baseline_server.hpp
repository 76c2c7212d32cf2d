#pragma once
// Same-run baselines: the simplest possible servers on the same Asio the daemon uses, so the
// daemon's numbers can be read as ratios on a noisy machine.
//   echo:    writes back every byte it reads (each line comes back as it went), one write in flight.
//   discard: reads and counts lines; answers {"type":"ping"} lines with a pong so the same client
//            barrier measures it exactly like the daemon.
//   ws-discard: plain Beast WebSocket at /ws: reads each message with websocket::stream::async_read,
//            counts and drops it; answers {"type":"ping"} messages with a pong frame.
//   parse-floor: discard plus one simdjson On-Demand pass over every complete line (ParseFloor).
// Single-threaded (one io_context), like the daemon. Runs until SIGTERM / SIGINT.
#include <cstdint>
#include <string>

namespace tradeshard::bench {

// Returns the process exit code.
int run_baseline_server(const std::string& kind, std::uint16_t port, const std::string& ports_file);

}  // namespace tradeshard::bench

#pragma once
// Same-run baselines: the simplest possible servers on the same Asio the daemon uses, so the
// daemon's numbers can be read as ratios on a noisy machine.
//   echo:    writes back every byte it reads (each line comes back as it went), one write in flight.
//   echo-wal: echo that first appends each read as one record to the daemon's own write-ahead log
//            (storage::Wal: write() on the loop, fdatasync on its thread at the ledger's interval):
//            what the log's disk flushes cost the loop, with no matching or ledger logic.
//   discard: reads and counts lines; answers {"type":"ping"} lines with a pong so the same client
//            barrier measures it exactly like the daemon.
//   ws-discard: plain Beast WebSocket at /ws: reads each message with websocket::stream::async_read,
//            counts and drops it; answers {"type":"ping"} messages with a pong frame.
//   parse-floor: discard plus one simdjson On-Demand pass over every complete line (ParseFloor).
// Single-threaded (one io_context), like the daemon. Runs until SIGTERM / SIGINT.
#include <cstdint>
#include <string>

#include "options.hpp"

namespace tradeshard::bench {

// Runs the baseline named by o.serve on o.port; returns the process exit code.
int run_baseline_server(const Options& o);

}  // namespace tradeshard::bench

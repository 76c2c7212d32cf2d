#pragma once
// Command-line options of tradeshard-bench: suites, manual load modes and baseline servers.
#include <cstdint>
#include <optional>
#include <string>

namespace tradeshard::bench {

enum class Mode { ticks, orders, echo };

struct Options {
  std::string suite;            // quick | full | smoke; empty = manual mode or --serve
  std::string only;             // suites: "ticks" = only the tick ingest steps; empty = everything
  std::string json_path;        // where the suite/manual run writes its JSON report
  std::string serve;            // echo | echo-wal | discard | ws-discard | parse-floor: a baseline server
  std::uint16_t port = 0;       // --serve: port to bind (0 = any free port)
  std::string ports_file;       // --serve: write {"tcp":N} here once listening
  std::string wal_dir;          // --serve echo-wal: the log's directory (created; emptied first)
  std::uint32_t fsync_interval_ms = 5;  // --serve echo-wal: as ledger.fsync_interval_ms; 0 = every commit
  std::string tcp;              // manual: HOST:PORT of a running daemon (TCP JSON lines)
  std::string ws;               // manual: ws://HOST:PORT/PATH of a running daemon
  Mode mode = Mode::orders;
  int connections = 1;
  double rate = 0;              // messages/s over all connections; 0 = closed loop / as fast as possible
  int window = 1;               // closed loop: requests in flight per connection
  double duration_s = 3;
  double warmup_s = 0.5;
  std::uint64_t seed = 42;
  int client_cpu = -1;          // pin this process (-1 = leave alone)
  int server_cpu = -1;          // suites: pin the daemon and baselines here (-1 = automatic)
  std::string daemon_path;      // tradeshardd started by the suites
  std::string config_base;      // config the suites derive their temp config from
  std::string source_dir;       // for `git rev-parse`
};

// Parses argv; on error or --help prints to stderr/stdout and returns nullopt with exit_code set.
[[nodiscard]] std::optional<Options> parse_options(int argc, char** argv, int& exit_code);

[[nodiscard]] const char* to_string(Mode m) noexcept;

}  // namespace tradeshard::bench

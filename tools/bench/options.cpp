#include "options.hpp"

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace tradeshard::bench {
namespace {

constexpr const char* kUsage =
    "usage: tradeshard-bench --suite quick|full|smoke [--only ticks] [--json FILE] [--daemon PATH]\n"
    "                        [--client-cpu N] [--server-cpu N]\n"
    "       tradeshard-bench (--tcp HOST:PORT | --ws ws://HOST:PORT/ws) [--mode ticks|orders|echo]\n"
    "                        [--connections N] [--rate R] [--window W] [--duration S] [--warmup S]\n"
    "                        [--seed N] [--client-cpu N] [--json FILE]\n"
    "       tradeshard-bench --serve echo|echo-wal|discard|ws-discard|parse-floor [--port P]\n"
    "                        [--ports-file FILE] [--wal-dir DIR] [--fsync-interval-ms N]\n"
    "  --suite      quick (<30 s) / full (<5 min) / smoke (<5 s): starts its own daemon and baselines\n"
    "  --only ticks suites: only the tick ingest steps (TCP and WebSocket, each beside its baseline)\n"
    "  --rate R     open loop: R messages/s in total on a fixed schedule, latency from the intended\n"
    "               send time; 0 (default) = closed loop (orders/echo) or as fast as possible (ticks)\n"
    "  --window W   closed loop: requests in flight per connection (default 1)\n"
    "  --mode       ticks: tick firehose, throughput via ping/pong barrier; orders: seeded\n"
    "               limit/market/cancel mix, submit->ack and submit->fill; echo: ping round trips\n"
    "  --serve      baseline server: echo (echoes each line), discard (counts lines, answers pings),\n"
    "               ws-discard (plain Beast WebSocket at /ws: counts messages, answers pings) or\n"
    "               parse-floor (discard plus one simdjson pass over every line, no processing) or\n"
    "               echo-wal (echo that first appends each read to the daemon's write-ahead log in\n"
    "               --wal-dir, fdatasync'ed every --fsync-interval-ms as the ledger is; 0 = every\n"
    "               append): the cost of the log's disk flushes alone, with no domain logic\n";

bool parse_number(std::string_view text, double& out) {
  const std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

}  // namespace

const char* to_string(Mode m) noexcept {
  switch (m) {
    case Mode::ticks: return "ticks";
    case Mode::orders: return "orders";
    case Mode::echo: return "echo";
  }
  return "?";
}

std::optional<Options> parse_options(int argc, char** argv, int& exit_code) {
  Options o;
#ifdef TRADESHARDD_DEFAULT_PATH
  o.daemon_path = TRADESHARDD_DEFAULT_PATH;
#endif
#ifdef TRADESHARD_SOURCE_DIR
  o.source_dir = TRADESHARD_SOURCE_DIR;
#endif
  exit_code = 2;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      exit_code = 0;
      return std::nullopt;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "tradeshard-bench: %s needs a value (or is unknown; see --help)\n", argv[i]);
      return std::nullopt;
    }
    const std::string_view v = argv[++i];
    double num = 0;
    const bool is_num = parse_number(v, num);
    auto need_num = [&](double lo, double hi) {
      if (is_num && num >= lo && num <= hi) return true;
      std::fprintf(stderr, "tradeshard-bench: %s wants a number in [%g, %g], got \"%s\"\n", argv[i - 1], lo, hi,
                   argv[i]);
      return false;
    };
    if (a == "--suite") {
      if (v != "quick" && v != "full" && v != "smoke") {
        std::fprintf(stderr, "tradeshard-bench: --suite wants quick, full or smoke\n");
        return std::nullopt;
      }
      o.suite = v;
    } else if (a == "--only") {
      if (v != "ticks") {
        std::fprintf(stderr, "tradeshard-bench: --only wants ticks\n");
        return std::nullopt;
      }
      o.only = v;
    } else if (a == "--json") {
      o.json_path = v;
    } else if (a == "--serve") {
      if (v != "echo" && v != "echo-wal" && v != "discard" && v != "ws-discard" && v != "parse-floor") {
        std::fprintf(stderr, "tradeshard-bench: --serve wants echo, echo-wal, discard, ws-discard or parse-floor\n");
        return std::nullopt;
      }
      o.serve = v;
    } else if (a == "--port") {
      if (!need_num(0, 65535)) return std::nullopt;
      o.port = static_cast<std::uint16_t>(num);
    } else if (a == "--ports-file") {
      o.ports_file = v;
    } else if (a == "--wal-dir") {
      o.wal_dir = v;
    } else if (a == "--fsync-interval-ms") {
      if (!need_num(0, 60000)) return std::nullopt;
      o.fsync_interval_ms = static_cast<std::uint32_t>(num);
    } else if (a == "--tcp") {
      o.tcp = v;
    } else if (a == "--ws") {
      o.ws = v;
    } else if (a == "--mode") {
      if (v == "ticks") o.mode = Mode::ticks;
      else if (v == "orders") o.mode = Mode::orders;
      else if (v == "echo") o.mode = Mode::echo;
      else {
        std::fprintf(stderr, "tradeshard-bench: --mode wants ticks, orders or echo\n");
        return std::nullopt;
      }
    } else if (a == "--connections") {
      if (!need_num(1, 4096)) return std::nullopt;
      o.connections = static_cast<int>(num);
    } else if (a == "--rate") {
      if (!need_num(0, 1e9)) return std::nullopt;
      o.rate = num;
    } else if (a == "--window") {
      if (!need_num(1, 100000)) return std::nullopt;
      o.window = static_cast<int>(num);
    } else if (a == "--duration") {
      if (!need_num(0.01, 3600)) return std::nullopt;
      o.duration_s = num;
    } else if (a == "--warmup") {
      if (!need_num(0, 600)) return std::nullopt;
      o.warmup_s = num;
    } else if (a == "--seed") {
      if (!need_num(0, 1e18)) return std::nullopt;
      o.seed = static_cast<std::uint64_t>(num);
    } else if (a == "--client-cpu") {
      if (!need_num(-1, 4095)) return std::nullopt;
      o.client_cpu = static_cast<int>(num);
    } else if (a == "--server-cpu") {
      if (!need_num(-1, 4095)) return std::nullopt;
      o.server_cpu = static_cast<int>(num);
    } else if (a == "--daemon") {
      o.daemon_path = v;
    } else if (a == "--config-base") {
      o.config_base = v;
    } else if (a == "--source-dir") {
      o.source_dir = v;
    } else {
      std::fprintf(stderr, "tradeshard-bench: unknown argument \"%s\" (see --help)\n", argv[i - 1]);
      return std::nullopt;
    }
  }
  if (o.config_base.empty() && !o.source_dir.empty()) o.config_base = o.source_dir + "/config/tradeshard.json";
  const int picked = (o.suite.empty() ? 0 : 1) + (o.serve.empty() ? 0 : 1) + (o.tcp.empty() && o.ws.empty() ? 0 : 1);
  if (picked != 1) {
    std::fprintf(stderr, "tradeshard-bench: pick exactly one of --suite, --serve, --tcp/--ws (see --help)\n");
    return std::nullopt;
  }
  if ((o.serve == "echo-wal") != !o.wal_dir.empty()) {
    std::fprintf(stderr, "tradeshard-bench: --serve echo-wal needs --wal-dir (and only it takes one)\n");
    return std::nullopt;
  }
  if (!o.only.empty() && o.suite.empty()) {
    std::fprintf(stderr, "tradeshard-bench: --only goes with --suite\n");
    return std::nullopt;
  }
  if (!o.tcp.empty() && !o.ws.empty()) {
    std::fprintf(stderr, "tradeshard-bench: --tcp and --ws are exclusive\n");
    return std::nullopt;
  }
  exit_code = 0;
  return o;
}

}  // namespace tradeshard::bench

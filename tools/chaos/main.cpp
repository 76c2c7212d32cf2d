// tradeshard-chaos: hostile-client soak and many-connection hold against a running tradeshardd.
// See docs/operations.md ("Chaos soak and connection hold") and docs/benchmarks.md.
#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string_view>

#include "chaos.hpp"

namespace tc = tradeshard::chaos;

namespace {

constexpr const char* kUsage =
    "usage: tradeshard-chaos (--soak SECONDS [--connections N] [--rounds K] [--warmup S] | --hold N [--hold-seconds S])\n"
    "                        (--ports-file FILE | --tcp PORT --http PORT) [--host 127.0.0.1] [--pid PID]\n"
    "                        [--daemon-log FILE] [--tick-rate R] [--order-rate R] [--burst-rate R]\n"
    "                        [--canary-p99-ms MS]\n"
    "                        [--canary-max-ms MS] [--rss-slack-mib M] [--rss-slack-pct P] [--settle S]\n"
    "                        [--source-ips K] [--max-line-bytes B] [--outbound-queue-bytes B] [--seed N]\n"
    "                        [--skip BEHAVIOUR,...] [--json FILE]\n"
    "  --soak S       S seconds of N (default 1000) misbehaving TCP/WebSocket connections (subscribe, stall\n"
    "                 with a 4 KiB SO_RCVBUF, resume, reconnect, half-close, garbage, bad JSON, oversize,\n"
    "                 RST) while orders and ticks stream; checks the canary, resting orders, fds and RSS\n"
    "  --rounds K     soak: K rounds of SECONDS each on the same daemon (default 2); the RSS after the last\n"
    "                 must be within the slack of the RSS after the first (with K = 1: after the warm-up)\n"
    "  --warmup S     soak: S seconds of the same chaos first (default min(10, SECONDS / 4)); fds and\n"
    "                 connections are compared with the very start\n"
    "  --hold N       N concurrent connections (canary included; mixed TCP/WebSocket, idle and subscribed)\n"
    "                 for --hold-seconds (default 5); reports RSS per connection; checks they all close\n"
    "  --skip         soak behaviours to leave out: subscribe_read, stall_to_limit, stall_resume, reconnect,\n"
    "                 half_close, garbage, invalid_json, oversize, abrupt_rst\n"
    "  --ports-file   the JSON tradeshardd --ports-file wrote ({\"tcp\":N,\"http\":M})\n"
    "  --pid          the daemon (default: the process listening on the TCP port)\n"
    "  --source-ips K spread client sockets over 127.0.0.2..127.0.0.(1+K) (default 8; 0 = kernel's choice)\n"
    "  --max-line-bytes, --outbound-queue-bytes  the daemon's limits (defaults: the shipped config's)\n"
    "Exit 0 when every check passed, 1 on a violation (named on stderr), 2 on a usage error.\n";

bool number(std::string_view v, double& out) {
  const std::string s(v);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size();
}

}  // namespace

int main(int argc, char** argv) {
  tc::Options o;
  std::string ports_file;
  for (int i = 1; i < argc; ++i) {
    const std::string_view a = argv[i];
    if (a == "--help" || a == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (i + 1 >= argc) {
      std::fprintf(stderr, "tradeshard-chaos: %s needs a value (or is unknown; see --help)\n", argv[i]);
      return 2;
    }
    const std::string_view v = argv[++i];
    double n = 0;
    const bool is_num = number(v, n);
    auto num = [&](double lo, double hi) {
      if (is_num && n >= lo && n <= hi) return true;
      std::fprintf(stderr, "tradeshard-chaos: %s wants a number in [%g, %g], got \"%s\"\n", argv[i - 1], lo, hi,
                   argv[i]);
      return false;
    };
    if (a == "--soak") {
      if (!num(0.5, 3600)) return 2;
      o.soak_s = n;
    } else if (a == "--rounds") {
      if (!num(1, 100)) return 2;
      o.rounds = static_cast<int>(n);
    } else if (a == "--warmup") {
      if (!num(0, 3600)) return 2;
      o.warmup_s = n;
    } else if (a == "--hold") {
      if (!num(1, 1000000)) return 2;
      o.hold = static_cast<int>(n);
    } else if (a == "--connections") {
      if (!num(1, 100000)) return 2;
      o.connections = static_cast<int>(n);
    } else if (a == "--hold-seconds") {
      if (!num(0, 3600)) return 2;
      o.hold_s = n;
    } else if (a == "--ports-file") {
      ports_file = v;
    } else if (a == "--tcp") {
      if (!num(1, 65535)) return 2;
      o.target.tcp_port = static_cast<std::uint16_t>(n);
    } else if (a == "--http") {
      if (!num(1, 65535)) return 2;
      o.target.http_port = static_cast<std::uint16_t>(n);
    } else if (a == "--host") {
      boost::system::error_code ec;
      const auto addr = boost::asio::ip::make_address(std::string(v), ec);
      if (ec || !addr.is_v4() || (addr.to_v4().to_uint() >> 24) != 127) {
        std::fprintf(stderr, "tradeshard-chaos: --host must be a 127.x.y.z loopback address (got \"%s\")\n", argv[i]);
        return 2;
      }
      o.target.host = addr;
    } else if (a == "--pid") {
      if (!num(1, 1e9)) return 2;
      o.pid = static_cast<pid_t>(n);
    } else if (a == "--daemon-log") {
      o.daemon_log = v;
    } else if (a == "--tick-rate") {
      if (!num(0, 1e6)) return 2;
      o.tick_rate = n;
    } else if (a == "--burst-rate") {
      if (!num(0, 1e7)) return 2;
      o.burst_rate = n;
    } else if (a == "--order-rate") {
      if (!num(0, 1e6)) return 2;
      o.order_rate = n;
    } else if (a == "--canary-p99-ms") {
      if (!num(0.01, 1e6)) return 2;
      o.canary_p99_ms = n;
    } else if (a == "--canary-max-ms") {
      if (!num(0.01, 1e6)) return 2;
      o.canary_max_ms = n;
    } else if (a == "--rss-slack-mib") {
      if (!num(0, 1e6)) return 2;
      o.rss_slack_mib = n;
    } else if (a == "--rss-slack-pct") {
      if (!num(0, 1e6)) return 2;
      o.rss_slack_pct = n;
    } else if (a == "--settle") {
      if (!num(0, 600)) return 2;
      o.settle_s = n;
    } else if (a == "--source-ips") {
      if (!num(0, 250)) return 2;
      o.source_ips = static_cast<int>(n);
    } else if (a == "--max-line-bytes") {
      if (!num(256, 64 << 20)) return 2;
      o.max_line_bytes = static_cast<std::size_t>(n);
    } else if (a == "--outbound-queue-bytes") {
      if (!num(4096, 1LL << 34)) return 2;
      o.outbound_queue_bytes = static_cast<std::size_t>(n);
    } else if (a == "--seed") {
      if (!num(0, 1e18)) return 2;
      o.seed = static_cast<std::uint64_t>(n);
    } else if (a == "--json") {
      o.json_path = v;
    } else if (a == "--skip") {
      std::string list(v);
      for (std::size_t start = 0; start <= list.size();) {
        const auto comma = std::min(list.find(',', start), list.size());
        if (comma > start) o.skip.push_back(list.substr(start, comma - start));
        start = comma + 1;
      }
    } else {
      std::fprintf(stderr, "tradeshard-chaos: unknown argument \"%s\" (see --help)\n", argv[i - 1]);
      return 2;
    }
  }
  if ((o.soak_s > 0) == (o.hold > 0)) {
    std::fprintf(stderr, "tradeshard-chaos: pick exactly one of --soak SECONDS, --hold N (see --help)\n");
    return 2;
  }
  if (o.warmup_s < 0) o.warmup_s = std::min(10.0, o.soak_s / 4);
  if (!ports_file.empty()) {
    std::ifstream in(ports_file);
    std::stringstream ss;
    ss << in.rdbuf();
    const auto p = tc::json::parse(ss.str(), nullptr, false);
    if (p.is_discarded() || !p.is_object() || !p.contains("tcp") || !p.contains("http")) {
      std::fprintf(stderr, "tradeshard-chaos: %s does not hold {\"tcp\":N,\"http\":M}\n", ports_file.c_str());
      return 2;
    }
    o.target.tcp_port = p["tcp"].get<std::uint16_t>();
    o.target.http_port = p["http"].get<std::uint16_t>();
  }
  if (o.target.tcp_port == 0 || o.target.http_port == 0) {
    std::fprintf(stderr, "tradeshard-chaos: give the daemon's ports: --ports-file FILE or --tcp PORT --http PORT\n");
    return 2;
  }
  if (o.pid <= 0) {
    o.pid = tc::pid_listening_on(o.target.tcp_port);
    if (o.pid <= 0) {
      std::fprintf(stderr, "tradeshard-chaos: no accessible process listens on TCP port %u; pass --pid\n",
                   static_cast<unsigned>(o.target.tcp_port));
      return 2;
    }
  }
  try {
    return o.soak_s > 0 ? tc::run_soak(o) : tc::run_hold(o);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tradeshard-chaos: FAIL: %s\n", e.what());
    return 1;
  }
}

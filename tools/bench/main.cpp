// tradeshard-bench: end-to-end load generator for tradeshardd with same-run baselines (issue 7).
// Suites start their own daemon and baselines; manual mode drives a running daemon; --serve runs
// one baseline server (the suites start this same binary that way).
#include <cstdio>
#include <fstream>

#include "baseline_server.hpp"
#include "load.hpp"
#include "options.hpp"
#include "process.hpp"
#include "report.hpp"
#include "suite.hpp"

namespace tb = tradeshard::bench;

namespace {

int run_manual(const tb::Options& o) {
  tb::LoadSpec spec;
  const bool ws = !o.ws.empty();
  if (!tb::parse_endpoint(ws ? o.ws : o.tcp, ws, spec.endpoint)) {
    std::fprintf(stderr, "tradeshard-bench: bad endpoint \"%s\" (want HOST:PORT or ws://HOST:PORT/ws)\n",
                 (ws ? o.ws : o.tcp).c_str());
    return 2;
  }
  if (o.client_cpu >= 0 && !tb::pin_to_cpu(0, o.client_cpu)) {
    std::fprintf(stderr, "tradeshard-bench: cannot pin to CPU %d\n", o.client_cpu);
    return 2;
  }
  spec.mode = o.mode;
  spec.connections = o.connections;
  spec.rate = o.rate;
  spec.window = o.window;
  spec.duration_s = o.duration_s;
  spec.warmup_s = o.warmup_s;
  spec.seed = o.seed;
  tb::json report = tb::environment_json(o.source_dir);
  report["target"] = ws ? o.ws : o.tcp;
  report["mode"] = tb::to_string(o.mode);
  report["connections"] = o.connections;
  report["rate"] = o.rate;
  report["loop"] = o.rate > 0 ? "open" : "closed";
  report["client_affinity"] = tb::affinity_of(0);
  std::string error;
  const std::string label = std::string(tb::to_string(o.mode)) + (o.rate > 0 ? " open loop" : " closed loop");
  if (o.mode == tb::Mode::ticks) {
    tb::TickStats s;
    if (!tb::run_ticks(spec, s, error)) {
      std::fprintf(stderr, "tradeshard-bench: %s\n", error.c_str());
      return 1;
    }
    std::printf("%s\n", tb::summary_line(label, s).c_str());
    report["ticks"] = tb::tick_json(s);
  } else {
    tb::RoundTripStats s;
    if (!tb::run_round_trips(spec, s, error)) {
      std::fprintf(stderr, "tradeshard-bench: %s\n", error.c_str());
      return 1;
    }
    std::printf("%s\n", tb::summary_line(label, s).c_str());
    if (o.mode == tb::Mode::orders) {
      const tb::json fill = tb::latency_json(s.fill);
      std::printf("%-34s n=%-7llu p50 %7.1f  p99 %7.1f  p99.9 %7.1f us\n", "submit -> fill (taker)",
                  static_cast<unsigned long long>(s.fill.count()), fill["p50"].get<double>(),
                  fill["p99"].get<double>(), fill["p999"].get<double>());
    }
    report["round_trips"] = tb::round_trip_json(s);
  }
  const std::string text = report.dump(2) + "\n";
  if (!o.json_path.empty()) std::ofstream(o.json_path) << text;
  else std::fputs(text.c_str(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  int code = 0;
  const auto opts = tb::parse_options(argc, argv, code);
  if (!opts) return code;
  if (!opts->serve.empty()) return tb::run_baseline_server(*opts);
  if (!opts->suite.empty()) return tb::run_suite(*opts);
  return run_manual(*opts);
}

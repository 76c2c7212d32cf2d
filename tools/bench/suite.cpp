#include "suite.hpp"

#include <array>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <utility>

#include "process.hpp"
#include "report.hpp"

namespace tradeshard::bench {
namespace {

struct Plan {
  double warmup, rt, ticks, open_s, open_rate;
  bool extras;  // full: same-CPU placement, 4 connections, a second rate, WebSocket orders
};

Plan plan_for(const std::string& suite) {
  if (suite == "smoke") return {0.05, 0.2, 0.2, 0.2, 2000, false};
  if (suite == "quick") return {0.3, 3.0, 2.0, 2.0, 10000, false};
  return {0.5, 4.0, 3.0, 4.0, 10000, true};
}

class Suite {
 public:
  explicit Suite(const Options& o) : opts_(o), plan_(plan_for(o.suite)), ticks_only_(o.only == "ticks") {}
  ~Suite() {
    daemon_.reset();
    echo_.reset();
    echo_wal_.reset();
    discard_.reset();
    ws_discard_.reset();
    parse_floor_.reset();
    std::error_code ec;
    if (!dir_.empty() && !keep_dir_) std::filesystem::remove_all(dir_, ec);
  }
  Suite(const Suite&) = delete;
  Suite& operator=(const Suite&) = delete;
  // On failure the temp dir (config, logs) stays for a look; returns its path.
  const std::string& keep_dir() {
    keep_dir_ = true;
    return dir_;
  }

  void run() {
    const std::int64_t started = now_ns();
    place();
    start_processes();
    report_ = environment_json(opts_.source_dir);
    report_["tool"] = "tradeshard-bench";
    report_["suite"] = opts_.suite;
    if (ticks_only_) report_["only"] = "ticks";
    report_["placement"] = placement_json();
    main_steps();
    if (plan_.extras) extra_steps();
    report_["daemon_cpu_s"] = {{"total", daemon_->cpu_seconds() - daemon_cpu0_}};
    report_["targets"] = targets_json(report_);
    report_["notes"] = notes();
    report_["duration_s"] = static_cast<double>(now_ns() - started) / 1e9;
  }
  [[nodiscard]] const json& report() const { return report_; }

 private:
  void place() {
    const int n = online_cpus();
    client_cpu_ = opts_.client_cpu >= 0 ? opts_.client_cpu : 0;
    server_cpu_ = opts_.server_cpu >= 0 ? opts_.server_cpu : (n >= 2 ? 1 : 0);
    if (!pin_to_cpu(0, client_cpu_)) throw std::runtime_error("cannot pin the client to CPU " + std::to_string(client_cpu_));
  }

  void start_processes() {
    dir_ = make_temp_dir();
    json config = json::parse(std::ifstream(opts_.config_base), nullptr, false);
    if (config.is_discarded()) throw std::runtime_error("cannot read base config " + opts_.config_base);
    config["listen"] = {{"tcp", "127.0.0.1:0"}, {"http", "127.0.0.1:0"}};
    config["ledger"]["data_dir"] = dir_ + "/ledger";
    if (config.contains("history")) {
      config["history"]["dir"] = dir_ + "/history";
      config["history"]["archive_dir"] = dir_ + "/history-archive";
    }
    config["log"]["level"] = "warn";  // connection lines only; nothing is logged per message anyway
    std::ofstream(dir_ + "/config.json") << config.dump(2);
    daemon_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{opts_.daemon_path, "--config", dir_ + "/config.json", "--ports-file", dir_ + "/daemon.ports"},
        dir_ + "/daemon.ports", dir_ + "/daemon.log", server_cpu_);
    const std::string self = self_exe();
    using Slot = std::pair<const char*, std::unique_ptr<ChildProcess>*>;
    for (const auto& [kind, slot] : {Slot{"echo", &echo_}, Slot{"discard", &discard_}, Slot{"ws-discard", &ws_discard_},
                                     Slot{"parse-floor", &parse_floor_}}) {
      const std::string ports = dir_ + "/" + kind + ".ports";
      *slot = std::make_unique<ChildProcess>(
          std::vector<std::string>{self, "--serve", kind, "--port", "0", "--ports-file", ports}, ports,
          dir_ + "/" + kind + ".log", server_cpu_);
    }
    // The daemon's log and flush cadence with no domain logic (open-loop steps): the same
    // ledger settings as the daemon's config.
    const json& ledger = config["ledger"];
    const bool every = ledger.value("fsync", std::string("interval")) == "every_commit";
    const auto interval = every ? 0 : ledger.value("fsync_interval_ms", 5);
    const std::string ports = dir_ + "/echo-wal.ports";
    echo_wal_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{self, "--serve", "echo-wal", "--port", "0", "--ports-file", ports, "--wal-dir",
                                 dir_ + "/echo-wal", "--fsync-interval-ms", std::to_string(interval)},
        ports, dir_ + "/echo-wal.log", server_cpu_);
    fsync_interval_ms_ = interval;
    daemon_cpu0_ = daemon_->cpu_seconds();
  }

  json placement_json() const {
    return {{"client_cpu", client_cpu_}, {"server_cpu", server_cpu_}, {"same_cpu", client_cpu_ == server_cpu_},
            {"client_affinity", affinity_of(0)}, {"daemon_affinity", affinity_of(daemon_->pid())},
            {"echo_affinity", affinity_of(echo_->pid())}, {"echo_wal_affinity", affinity_of(echo_wal_->pid())},
            {"discard_affinity", affinity_of(discard_->pid())},
            {"ws_discard_affinity", affinity_of(ws_discard_->pid())},
            {"parse_floor_affinity", affinity_of(parse_floor_->pid())},
            {"how", "sched_setaffinity: client process; daemon and baselines spawned with the server CPU mask "
                    "and re-pinned (all threads) once listening"}};
  }

  LoadSpec spec(const ChildProcess& p, Mode mode, double duration, int conns = 1, double rate = 0) const {
    LoadSpec s;
    s.endpoint.port = p.tcp_port();
    s.mode = mode;
    s.connections = conns;
    s.rate = rate;
    s.duration_s = duration;
    s.warmup_s = plan_.warmup;
    s.seed = opts_.seed;
    return s;
  }

  // The daemon's /ws (on its HTTP port) or the Beast baseline's (on its only port).
  LoadSpec ws_spec(const ChildProcess& p, Mode mode, double duration) const {
    LoadSpec s = spec(p, mode, duration);
    s.endpoint.websocket = true;
    if (&p == daemon_.get()) s.endpoint.port = p.http_port();
    return s;
  }

  void step_line(const std::string& text) {
    std::printf("bench: [%s %d] %s\n", opts_.suite.c_str(), ++step_, text.c_str());
    std::fflush(stdout);
  }

  void round_trips(const std::string& label, const LoadSpec& s, RoundTripStats& stats) {
    std::string error;
    if (!run_round_trips(s, stats, error)) throw std::runtime_error(label + ": " + error);
    step_line(summary_line(label, stats));
  }

  void ticks(const std::string& label, const LoadSpec& s, TickStats& stats) {
    std::string error;
    if (!run_ticks(s, stats, error)) throw std::runtime_error(label + ": " + error);
    step_line(summary_line(label, stats));
  }

  std::uint64_t daemon_tick_count() const {
    const json s = json::parse(http_get(daemon_->http_port(), "/stats"), nullptr, false);
    if (s.is_discarded() || !s.contains("messages_in")) return 0;
    return s["messages_in"].value("tick", std::uint64_t{0});
  }

  // The headline set: orders vs echo, ticks vs discard (TCP and WebSocket), pings, open loop.
  void main_steps() { report_.update(placement_set(plan_.rt, plan_.ticks, true)); }

  json placement_set(double rt, double tk, bool full_set) {
    json out;
    if (!ticks_only_) order_steps(out, rt, full_set);
    tick_steps(out, tk);
    ws_tick_steps(out, tk);
    if (full_set && !ticks_only_) out["open_loop"] = open_loop(plan_.open_rate, plan_.open_s);
    return out;
  }

  void order_steps(json& out, double rt, bool full_set) {
    RoundTripStats echo, order, ping;
    round_trips("echo orders (before)", spec(*echo_, Mode::orders, rt / 2), echo);
    const json echo_before = latency_json(echo.ack);
    double cpu = daemon_->cpu_seconds();
    round_trips("daemon orders", spec(*daemon_, Mode::orders, rt), order);
    const double order_cpu = daemon_->cpu_seconds() - cpu;
    round_trips("echo orders (after)", spec(*echo_, Mode::orders, rt / 2), echo);
    out["order_rtt_us"] = latency_json(order.ack);
    out["order_fill_us"] = latency_json(order.fill);
    out["echo_rtt_us"] = latency_json(echo.ack);
    out["echo_rtt_before_us"] = echo_before;
    out["orders"] = round_trip_json(order);
    out["orders"]["daemon_cpu_s"] = order_cpu;
    out["echo"] = round_trip_json(echo);
    if (full_set) {
      round_trips("daemon pings", spec(*daemon_, Mode::echo, rt / 2), ping);
      out["ping_rtt_us"] = latency_json(ping.ack);
    }
  }

  // One ingest measurement: the daemon's firehose between two runs of a read-and-discard
  // baseline in the same placement. Keys: <daemon>_per_s, <baseline>_ticks_per_s(_before), and
  // the full stats under <daemon> and <baseline>.
  void ingest_steps(json& out, const std::string& daemon_key, const std::string& baseline_key,
                    const std::string& daemon_label, const std::string& baseline_label,
                    const LoadSpec& daemon, const LoadSpec& baseline) {
    TickStats base, tick;
    ticks(baseline_label + " (before)", baseline, base);
    const double base_before = base.per_second();
    const std::uint64_t counted0 = daemon_tick_count();
    const double cpu = daemon_->cpu_seconds();
    ticks(daemon_label, daemon, tick);
    const double tick_cpu = daemon_->cpu_seconds() - cpu;
    const std::uint64_t counted = daemon_tick_count() - counted0;
    ticks(baseline_label + " (after)", baseline, base);
    out[daemon_key + "_per_s"] = std::round(tick.per_second());
    out[baseline_key + "_ticks_per_s"] = std::round(base.per_second());
    out[baseline_key + "_ticks_per_s_before"] = std::round(base_before);
    out[daemon_key] = tick_json(tick);
    // The daemon's own count includes the warm-up phase's ticks; it must be at least ours.
    out[daemon_key]["daemon_counted_incl_warmup"] = counted;
    out[daemon_key]["daemon_cpu_s"] = tick_cpu;
    out[daemon_key]["daemon_cpu_ns_per_tick"] =
        tick.ticks ? std::round(tick_cpu * 1e9 / static_cast<double>(counted ? counted : tick.ticks)) : 0.0;
    out[baseline_key] = tick_json(base);
  }

  // JSON lines over TCP, beside the plain Asio read-and-discard server, then the parse-only
  // floor (the discard server plus one simdjson pass over every line) in the same placement.
  void tick_steps(json& out, double tk) {
    ingest_steps(out, "ticks", "discard", "daemon ticks", "discard ticks", spec(*daemon_, Mode::ticks, tk),
                 spec(*discard_, Mode::ticks, tk / 2));
    TickStats floor;
    ticks("parse-only floor ticks", spec(*parse_floor_, Mode::ticks, tk / 2), floor);
    out["parse_floor_ticks_per_s"] = std::round(floor.per_second());
    out["parse_floor"] = tick_json(floor);
  }

  // The same firehose over WebSocket text frames (one tick per frame), beside the plain Beast
  // read-and-discard baseline.
  void ws_tick_steps(json& out, double tk) {
    ingest_steps(out, "ws_ticks", "ws_beast_discard", "daemon ticks over WebSocket", "Beast ws discard ticks",
                 ws_spec(*daemon_, Mode::ticks, tk), ws_spec(*ws_discard_, Mode::ticks, tk / 2));
  }

  // Open loop beside two baselines: plain echo, and echo-wal (echo behind the daemon's own log,
  // flushed at the ledger's interval): on a VM the log's flushes alone move the tail.
  json open_loop(double rate, double seconds) {
    RoundTripStats echo, echo_wal, order;
    const std::string r = std::to_string(static_cast<long>(rate));
    round_trips("echo orders open loop " + r + "/s", spec(*echo_, Mode::orders, seconds, 1, rate), echo);
    round_trips("echo-wal orders open loop " + r + "/s", spec(*echo_wal_, Mode::orders, seconds, 1, rate), echo_wal);
    round_trips("daemon orders open loop " + r + "/s", spec(*daemon_, Mode::orders, seconds, 1, rate), order);
    return {{"rate_per_s", rate}, {"connections", 1}, {"fsync_interval_ms", fsync_interval_ms_},
            {"order_rtt_us", latency_json(order.ack)}, {"echo_rtt_us", latency_json(echo.ack)},
            {"echo_wal_rtt_us", latency_json(echo_wal.ack)}, {"orders", round_trip_json(order)},
            {"echo_send_lag_us", latency_json(echo.send_lag)}, {"echo_wal_send_lag_us", latency_json(echo_wal.send_lag)}};
  }

  void extra_steps() {
    if (client_cpu_ != server_cpu_) {
      for (auto* p : all_processes()) pin_to_cpu(p->pid(), client_cpu_);
      json same = placement_set(plan_.rt / 2, plan_.ticks / 2, false);
      same["placement"] = {{"client_cpu", client_cpu_}, {"server_cpu", client_cpu_}, {"same_cpu", true}};
      report_["same_cpu"] = same;
      for (auto* p : all_processes()) pin_to_cpu(p->pid(), server_cpu_);
    }
    RoundTripStats echo4, order4;
    if (!ticks_only_) {
      round_trips("echo orders 4 conns", spec(*echo_, Mode::orders, plan_.rt / 2, 4), echo4);
      round_trips("daemon orders 4 conns", spec(*daemon_, Mode::orders, plan_.rt / 2, 4), order4);
    }
    TickStats discard4, tick4;
    ticks("discard ticks 4 conns", spec(*discard_, Mode::ticks, plan_.ticks / 2, 4), discard4);
    ticks("daemon ticks 4 conns", spec(*daemon_, Mode::ticks, plan_.ticks / 2, 4), tick4);
    report_["connections_4"] = {{"ticks_per_s", std::round(tick4.per_second())},
                                {"discard_ticks_per_s", std::round(discard4.per_second())}};
    if (ticks_only_) return;
    report_["connections_4"].update({{"order_rtt_us", latency_json(order4.ack)}, {"echo_rtt_us", latency_json(echo4.ack)},
                                     {"orders", round_trip_json(order4)}, {"echo", round_trip_json(echo4)}});
    report_["open_loop_high"] = open_loop(plan_.open_rate * 5, plan_.open_s / 2);
    RoundTripStats ws_orders;
    round_trips("daemon orders over WebSocket", ws_spec(*daemon_, Mode::orders, plan_.rt / 2), ws_orders);
    report_["websocket"] = {{"order_rtt_us", latency_json(ws_orders.ack)}, {"orders", round_trip_json(ws_orders)}};
  }

  json notes() const {
    json n = json::array();
    if (ticks_only_) {
      n.push_back("--only ticks: the order, ping and open-loop steps were not run");
    } else if (report_["orders"]["reject_reasons"].contains("unavailable")) {
      n.push_back("daemon rejects orders with reason \"unavailable\" (routing not wired yet): order_rtt_us is "
                  "submit -> reject, and there are no fills or cancels yet");
    }
    const double before = report_.value("/echo_rtt_before_us/p999"_json_pointer, 0.0),
                 both = report_.value("/echo_rtt_us/p999"_json_pointer, 0.0);
    if (before > 0 && both > 0 && (both > 2 * before || before > 2 * both)) {
      n.push_back("echo baseline p99.9 moved more than 2x between before and after the daemon (machine noise): "
                  "the p99.9 ratio is unreliable in this run");
    }
    n.push_back("open loop latencies include the client's own lateness against the schedule (send_lag_us); "
                "on a loaded VM that wake-up lag dominates at low rates");
    n.push_back("open loop echo_wal_rtt_us: echo behind the daemon's write-ahead log (storage::Wal, write() on the "
                "loop, fdatasync at the config's ledger interval), no domain logic. On a VM each flush of the "
                "virtual disk delays other work on the machine (docs/benchmarks.md): the daemon's open-loop tail is "
                "compared with it (open_loop_p99_vs_echo_wal) as well as with plain echo");
    n.push_back("order_rtt_us / echo_rtt_us: closed loop, 1 connection, 1 request in flight; echo runs before and "
                "after the daemon and is reported combined");
    n.push_back("ticks_per_s: one connection, as fast as possible, counted up to a ping/pong barrier");
    n.push_back("parse_floor_ticks_per_s: the discard server plus one simdjson On-Demand pass (iterate_many per "
                "read, decoder's kernel flags) visiting every key and raw value of every line; no conversion, "
                "routing or processing: an upper bound for any simdjson-based ingest in this placement");
    n.push_back("ws_ticks_per_s: the same ticks as WebSocket text frames (one tick per masked frame) to /ws; "
                "ws_beast_discard_ticks_per_s: plain Beast (websocket::stream<tcp_stream>, async_read per "
                "message, default options) reading and dropping them, before and after the daemon, combined");
    return n;
  }

  Options opts_;
  Plan plan_;
  json report_;
  int step_ = 0, client_cpu_ = 0, server_cpu_ = 0;
  std::string dir_;
  bool keep_dir_ = false;
  bool ticks_only_ = false;
  std::unique_ptr<ChildProcess> daemon_, echo_, echo_wal_, discard_, ws_discard_, parse_floor_;
  std::array<ChildProcess*, 6> all_processes() const {
    return {daemon_.get(), echo_.get(), echo_wal_.get(), discard_.get(), ws_discard_.get(), parse_floor_.get()};
  }
  int fsync_interval_ms_ = 5;
  double daemon_cpu0_ = 0;
};

}  // namespace

int run_suite(const Options& opts) {
  json report;
  {
    Suite suite(opts);
    try {
      suite.run();
    } catch (const std::exception& e) {
      std::fprintf(stderr, "tradeshard-bench: %s\n(daemon and baseline logs kept in %s)\n", e.what(),
                   suite.keep_dir().c_str());
      return 1;
    }
    report = suite.report();
  }
  const std::string text = report.dump(2) + "\n";
  if (opts.json_path.empty()) {
    std::fputs(text.c_str(), stdout);
  } else {
    std::ofstream(opts.json_path) << text;
    std::printf("bench: wrote %s\n", opts.json_path.c_str());
  }
  const auto& t = report["targets"];
  for (const auto& [name, v] : t.items()) {
    if (name == "all_ok") continue;
    std::printf("target %-28s %s  value %s  (%s, limit %s)\n", name.c_str(), v["ok"].get<bool>() ? "MET   " : "NOT MET",
                v["value"].dump().c_str(), v["rule"].get<std::string>().c_str(), v["limit"].dump().c_str());
  }
  return 0;
}

}  // namespace tradeshard::bench

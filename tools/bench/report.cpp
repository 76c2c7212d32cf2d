#include "report.hpp"

#include <cmath>
#include <cstdio>
#include <ctime>

#include "process.hpp"

namespace tradeshard::bench {
namespace {

double us(std::uint64_t ns) { return std::round(static_cast<double>(ns) / 100.0) / 10.0; }

json ratio_check(double value, double limit, bool at_most) {
  const bool ok = std::isfinite(value) && (at_most ? value <= limit : value >= limit);
  return {{"ok", ok}, {"value", std::isfinite(value) ? json(std::round(value * 1000) / 1000) : json(nullptr)},
          {"limit", limit}, {"rule", at_most ? "value <= limit" : "value >= limit"}};
}

double div(double a, double b) { return b > 0 ? a / b : NAN; }

}  // namespace

json latency_json(const app::LatencyHistogram& h) {
  const double mean = h.count() ? static_cast<double>(h.sum_ns()) / static_cast<double>(h.count()) : 0;
  return {{"p50", us(h.percentile_ns(0.50))},   {"p90", us(h.percentile_ns(0.90))},
          {"p99", us(h.percentile_ns(0.99))},   {"p999", us(h.percentile_ns(0.999))},
          {"max", us(h.max_ns())},              {"mean", std::round(mean / 100.0) / 10.0},
          {"count", h.count()}};
}

json round_trip_json(const RoundTripStats& s) {
  const double sent = static_cast<double>(s.orders_sent + s.cancels_sent + s.pings_sent);
  return {{"seconds", std::round(s.seconds * 1000) / 1000},
          {"sent_per_s", std::round(div(sent, s.seconds))},
          {"orders_sent", s.orders_sent}, {"cancels_sent", s.cancels_sent}, {"pings_sent", s.pings_sent},
          {"acks", s.acks}, {"rejects", s.rejects}, {"reject_reasons", s.reject_reasons},
          {"fills", s.fills}, {"done", s.done}, {"pongs", s.pongs}, {"echoes", s.echoes},
          {"errors", s.errors}, {"error_codes", s.error_codes}, {"timeouts", s.timeouts},
          {"unmatched", s.unmatched},
          {"submit_to_ack_us", latency_json(s.ack)}, {"submit_to_fill_us", latency_json(s.fill)},
          {"cancel_us", latency_json(s.cancel)}, {"send_lag_us", latency_json(s.send_lag)}};
}

json tick_json(const TickStats& s) {
  return {{"ticks", s.ticks}, {"bytes", s.bytes}, {"seconds", std::round(s.seconds * 1000) / 1000},
          {"ticks_per_s", std::round(s.per_second())},
          {"mb_per_s", std::round(div(static_cast<double>(s.bytes), s.seconds) / 1e5) / 10}, {"errors", s.errors}};
}

json environment_json(const std::string& source_dir) {
  std::string commit;
  if (!source_dir.empty()) {
    commit = command_line_output("git -C '" + source_dir + "' rev-parse --short HEAD 2>/dev/null");
    if (!commit.empty() && !command_line_output("git -C '" + source_dir + "' status --porcelain --untracked-files=no 2>/dev/null").empty()) {
      commit += "-dirty";
    }
  }
  char date[64];
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return {{"commit", commit.empty() ? "unknown" : commit}, {"date", date}, {"nproc", online_cpus()},
          {"cpu_model", cpu_model()}};
}

json targets_json(const json& r) {
  // Each target needs its measurements; a partial suite (--only ticks) reports those it has.
  const auto num = [&r](const char* pointer) {
    const json::json_pointer p(pointer);
    return r.contains(p) ? r[p].get<double>() : NAN;
  };
  json t = json::object();
  if (r.contains("order_rtt_us")) {
    t["order_rtt_p50_vs_echo"] = ratio_check(div(num("/order_rtt_us/p50"), num("/echo_rtt_us/p50")), 1.2, true);
    t["order_rtt_p999_vs_echo"] = ratio_check(div(num("/order_rtt_us/p999"), num("/echo_rtt_us/p999")), 3.0, true);
  }
  if (r.contains("open_loop")) {
    // Issue 14 item 7: order -> ack p99 within 2x of the baseline's, open loop at 10k/s.
    t["open_loop_p99_vs_echo"] =
        ratio_check(div(num("/open_loop/order_rtt_us/p99"), num("/open_loop/echo_rtt_us/p99")), 2.0, true);
    t["open_loop_p99_vs_echo_wal"] =
        ratio_check(div(num("/open_loop/order_rtt_us/p99"), num("/open_loop/echo_wal_rtt_us/p99")), 2.0, true);
  }
  if (r.contains("ticks_per_s")) {
    t["ticks_per_s_one_connection"] = ratio_check(num("/ticks_per_s"), 4e6, false);
    t["ticks_vs_discard"] = ratio_check(div(num("/ticks_per_s"), num("/discard_ticks_per_s")), 0.25, false);
  }
  if (r.contains("ws_ticks_per_s")) {
    t["ws_ticks_vs_beast_discard"] =
        ratio_check(div(num("/ws_ticks_per_s"), num("/ws_beast_discard_ticks_per_s")), 0.6, false);
  }
  bool all = true;
  for (const auto& [k, v] : t.items()) all = all && v["ok"].get<bool>();
  t["all_ok"] = all;
  return t;
}

std::string summary_line(const std::string& label, const RoundTripStats& s) {
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "%-34s n=%-7llu p50 %7.1f  p90 %7.1f  p99 %7.1f  p99.9 %7.1f  max %8.1f us  rejects %llu errors %llu "
                "timeouts %llu fills %llu",
                label.c_str(), static_cast<unsigned long long>(s.ack.count()), us(s.ack.percentile_ns(0.5)),
                us(s.ack.percentile_ns(0.9)), us(s.ack.percentile_ns(0.99)), us(s.ack.percentile_ns(0.999)),
                us(s.ack.max_ns()), static_cast<unsigned long long>(s.rejects),
                static_cast<unsigned long long>(s.errors), static_cast<unsigned long long>(s.timeouts),
                static_cast<unsigned long long>(s.fills));
  return buf;
}

std::string summary_line(const std::string& label, const TickStats& s) {
  char buf[300];
  std::snprintf(buf, sizeof buf, "%-34s %12.0f ticks/s  (%llu ticks in %.3f s, %.1f MB/s, %llu errors)", label.c_str(),
                s.per_second(), static_cast<unsigned long long>(s.ticks), s.seconds,
                div(static_cast<double>(s.bytes), s.seconds) / 1e6, static_cast<unsigned long long>(s.errors));
  return buf;
}

}  // namespace tradeshard::bench

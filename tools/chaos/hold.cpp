// --hold N: N concurrent connections (the canary included), half TCP half WebSocket, half of them
// subscribed, held open while the canary pings (and sends a BTCUSDT tick every 100 ms, which fans
// out to the quotes:BTCUSDT subscribers); then all closed, and the daemon must be back to its
// baseline connections and fds.
#include <unistd.h>

#include <array>
#include <algorithm>
#include <cstdio>
#include <functional>
#include <fstream>
#include <thread>

#include "chaos.hpp"

namespace tradeshard::chaos {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

int connections_open(const Options& o, std::string* error = nullptr) {
  const auto r = http_get(o.target.host, o.target.http_port, "/stats", 3000);
  const auto j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded()) {
    if (error) *error = r.status ? "HTTP " + std::to_string(r.status) : r.error;
    return -1;
  }
  return j["connections"]["open"].get<int>();
}

}  // namespace

int run_hold(const Options& o) {
  const pid_t pid = o.pid;
  const int n = o.hold;
  const int holders = n - 1;  // plus the canary
  asio::io_context io;
  std::printf("tradeshard-chaos hold: %d connections (%d held + canary), %.0f s, tcp %u http %u, daemon pid %d\n", n,
              holders, o.hold_s, o.target.tcp_port, o.target.http_port, static_cast<int>(pid));
  std::printf("  nproc %ld, CPU %s; client and daemon share the machine\n", ::sysconf(_SC_NPROCESSORS_ONLN),
              cpu_model().c_str());
  std::vector<std::string> violations;
  const auto dn = nofile_limit(pid);
  const long long own = raise_own_nofile();
  std::printf("  daemon RLIMIT_NOFILE soft %lld hard %lld; client soft limit raised to %lld\n", dn.soft, dn.hard, own);
  if (dn.soft >= 0 && dn.soft < n + 64) {
    violations.push_back("the daemon's RLIMIT_NOFILE soft limit " + std::to_string(dn.soft) + " cannot hold " +
                         std::to_string(n) + " connections");
  }
  if (own >= 0 && own < n + 64) {
    std::fprintf(stderr, "tradeshard-chaos: this process may open only %lld files; raise ulimit -Hn\n", own);
    return 1;
  }
  if (!process_alive(pid)) throw std::runtime_error("daemon pid " + std::to_string(pid) + " is not running");
  const int fd0 = stable_fd_count(pid);
  const std::uint64_t rss0 = rss_kib(pid);
  const int open0 = connections_open(o);
  const std::string load_before = load_average();
  std::printf("  baseline: RSS %s, open fds %d, connections.open %d\n", mib(rss0).c_str(), fd0, open0);

  Canary canary(o);
  std::string error;
  if (!canary.open(error)) throw std::runtime_error(error);
  canary.set_tick_every(100);  // one BTCUSDT tick a second: fan-out, not a load test
  canary.start();

  std::vector<std::shared_ptr<Conn>> conns(static_cast<std::size_t>(std::max(0, holders)));
  int opened = 0, failed = 0, in_flight = 0, next = 0, subscribed_want = 0, subscribed_got = 0, closed_early = 0;
  std::uint64_t fanout = 0;
  std::vector<std::string> errors;
  bool holding = true;
  static const std::array<const char*, 4> kSubs = {
      R"({"type":"subscribe","channels":["quotes:BTCUSDT"]})", R"({"type":"subscribe","channels":["signals"]})",
      R"({"type":"subscribe","channels":["bars:ETHUSDT:1s","trades:BTCUSDT"]})",
      R"({"type":"subscribe","channels":["quotes:BTCUSDT","signals"]})"};
  // The first half TCP, then the second half WebSocket, with the RSS read in between: memory per
  // connection for each transport.
  const int tcp_count = holders / 2;
  int launch_limit = tcp_count;
  std::function<void()> launch = [&] {
    while (in_flight < 256 && next < launch_limit) {
      const int i = next++;
      ConnOptions co;
      co.websocket = i >= tcp_count;
      co.source = source_address(o, static_cast<std::uint64_t>(i) + 1);
      auto c = std::make_shared<Conn>(io, co);
      conns[static_cast<std::size_t>(i)] = c;
      const bool subscribe = i % 4 >= 2;
      c->on_message = [&, subscribe](std::string_view m) {
        const std::string t = type_of(m);
        if (t == "subscribed" && subscribe) ++subscribed_got;
        else if (t == "quote") ++fanout;
      };
      c->on_close = [&, raw = c.get()](const std::string&) {
        if (holding && raw->closed_by_peer()) ++closed_early;
      };
      ++in_flight;
      c->connect(o.target, [&, i, subscribe, raw = c.get()](bool ok, const std::string& e) {
        --in_flight;
        if (!ok) {
          ++failed;
          if (errors.size() < 5) errors.push_back(e);
        } else {
          ++opened;
          if (subscribe) {
            ++subscribed_want;
            raw->send(kSubs[static_cast<std::size_t>(i / 4) % kSubs.size()]);
          }
        }
        launch();
      });
    }
  };
  const auto t0 = Clock::now();
  launch();
  run_until(io, [&] { return opened + failed == tcp_count || !process_alive(pid); }, milliseconds(180000));
  run_until(io, [] { return false; }, milliseconds(300));
  const std::uint64_t rss_tcp = rss_kib(pid);
  const int opened_tcp = opened;
  launch_limit = holders;
  launch();
  run_until(io, [&] { return opened + failed == holders || !process_alive(pid); }, milliseconds(180000));
  run_until(io, [&] { return subscribed_got >= subscribed_want; }, milliseconds(10000));
  const double open_s = std::chrono::duration<double>(Clock::now() - t0).count();
  std::printf("  opened %d of %d in %.1f s (%d failed), %d of %d subscriptions confirmed\n", opened, holders, open_s,
              failed, subscribed_got, subscribed_want);
  if (!errors.empty()) std::printf("  first connect errors: %s\n", errors[0].c_str());
  if (failed > 0) violations.push_back(std::to_string(failed) + " of " + std::to_string(holders) + " connections failed, first: " + errors[0]);
  if (subscribed_got < subscribed_want) violations.push_back("only " + std::to_string(subscribed_got) + " of " + std::to_string(subscribed_want) + " subscriptions confirmed");

  // Held: measure, then keep them for hold_s with the canary running.
  run_until(io, [] { return false; }, milliseconds(500));
  const int fd1 = fd_count(pid);
  const std::uint64_t rss1 = rss_kib(pid);
  std::string stats_error;
  const int open_held = connections_open(o, &stats_error);
  const std::size_t canary_from = canary.pongs();
  const auto hold_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.hold_s));
  run_until(io, [&] { return Clock::now() >= hold_end || !process_alive(pid); }, milliseconds(static_cast<long>(o.hold_s * 1000) + 1000));
  const std::uint64_t rss_held_end = rss_kib(pid);
  const bool alive = process_alive(pid);
  const std::size_t canary_to = canary.pongs();

  holding = false;
  const auto tc = Clock::now();
  for (auto& c : conns) {
    if (c) c->close();
  }
  run_until(io, [&] {
    for (auto& c : conns) {
      if (c && !c->closed()) return false;
    }
    return true;
  }, milliseconds(20000));
  const double close_s = std::chrono::duration<double>(Clock::now() - tc).count();
  canary.finish();
  const Samples& all = canary.samples();
  const double stuck_us = canary.stuck_us();
  Samples held;
  held.us.assign(all.us.begin() + static_cast<std::ptrdiff_t>(std::min(canary_from, all.us.size())),
                 all.us.begin() + static_cast<std::ptrdiff_t>(std::min(canary_to, all.us.size())));
  if (canary.closed_early()) violations.push_back("canary connection closed: " + canary.close_reason());
  conns.clear();
  if (!alive || !process_alive(pid)) {
    std::fprintf(stderr, "tradeshard-chaos: FAIL: the daemon (pid %d) died during the hold\n", static_cast<int>(pid));
    if (!o.daemon_log.empty()) {
      std::fprintf(stderr, "---- last lines of %s ----\n%s", o.daemon_log.c_str(), tail_of_file(o.daemon_log, 40).c_str());
    }
    return 1;
  }
  int fd2 = -1, open2 = -1;
  const auto settle_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.settle_s));
  for (;;) {
    fd2 = fd_count(pid);
    open2 = connections_open(o);
    if ((fd2 <= fd0 && open2 == open0) || Clock::now() >= settle_end) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  const std::uint64_t rss2 = rss_kib(pid);
  const double per_conn = opened > 0 ? (static_cast<double>(rss1) - static_cast<double>(rss0)) * 1024.0 / (opened + 1) : 0;
  const double hp50 = held.percentile(0.5) / 1000, hp99 = held.percentile(0.99) / 1000;
  const double hmax = std::max(held.max(), stuck_us) / 1000, amax = std::max(all.max(), stuck_us) / 1000;
  if (held.us.empty() && o.hold_s > 0) violations.push_back("the canary got no pong while the connections were held");
  if (hp99 > o.canary_p99_ms) violations.push_back("canary p99 " + std::to_string(hp99) + " ms while held, over the bound " + std::to_string(o.canary_p99_ms) + " ms");
  if (hmax > o.canary_max_ms) violations.push_back("canary max " + std::to_string(hmax) + " ms while held, over the bound " + std::to_string(o.canary_max_ms) + " ms");
  if (closed_early > 0) violations.push_back(std::to_string(closed_early) + " held connections were closed by the daemon");
  if (open2 != open0) violations.push_back("/stats connections.open " + std::to_string(open2) + " != baseline " + std::to_string(open0) + " after closing");
  if (fd2 > fd0) violations.push_back("open fds " + std::to_string(fd2) + " > baseline " + std::to_string(fd0) + " after closing");
  if (fd2 < fd0) std::printf("note: open fds %d < baseline %d (a transient fd at the baseline)\n", fd2, fd0);

  std::printf("  held: daemon open fds %d (baseline %d), /stats connections.open %s\n", fd1, fd0,
              open_held >= 0 ? std::to_string(open_held).c_str() : ("unavailable: " + stats_error + " (the HTTP request itself needs a connection slot; limits.max_connections counts it)").c_str());
  std::printf("  quotes fanned out to held subscribers: %llu\n", static_cast<unsigned long long>(fanout));
  std::printf("\n| hold figure | value |\n|---|---|\n");
  std::printf("| connections held (TCP / WebSocket, subscribed) | %d (%d / %d, %d) + canary |\n", opened, opened_tcp, opened - opened_tcp, subscribed_want);
  std::printf("| time to open them all / to close them all | %.1f s / %.1f s |\n", open_s, close_s);
  std::printf("| daemon RSS before / held / after close | %s / %s / %s |\n", mib(rss0).c_str(), mib(rss1).c_str(), mib(rss2).c_str());
  const double per_tcp = opened_tcp > 0 ? (static_cast<double>(rss_tcp) - static_cast<double>(rss0)) / opened_tcp : 0;
  const double per_ws = opened > opened_tcp ? (static_cast<double>(rss1) - static_cast<double>(rss_tcp)) / (opened - opened_tcp) : 0;
  std::printf("| daemon memory per held connection: all / TCP / WebSocket | %.1f / %.1f / %.1f KiB |\n", per_conn / 1024, per_tcp, per_ws);
  std::printf("| daemon open fds before / held / after | %d / %d / %d |\n", fd0, fd1, fd2);
  std::printf("| /stats connections.open before / after | %d / %d |\n", open0, open2);
  std::printf("| machine load average (1 min) before / after | %s / %s |\n", load_before.c_str(), load_average().c_str());
  std::printf("| canary ping → pong while held p50 / p99 / max | %.2f / %.2f / %.2f ms (%zu pings; max over the whole run %.2f ms) |\n",
              hp50, hp99, hmax, held.us.size(), amax);
  const json report = {{"mode", "hold"}, {"connections", n}, {"opened", opened}, {"failed", failed},
                       {"subscribed", subscribed_want}, {"open_s", open_s}, {"close_s", close_s},
                       {"rss_kib", {{"before", rss0}, {"held", rss1}, {"held_end", rss_held_end}, {"after", rss2}}},
                       {"bytes_per_connection", per_conn}, {"kib_per_tcp_connection", per_tcp},
                       {"kib_per_ws_connection", per_ws}, {"rss_kib_after_tcp_half", rss_tcp}, {"fds", {{"before", fd0}, {"held", fd1}, {"after", fd2}}},
                       {"connections_open", {{"before", open0}, {"held", open_held}, {"after", open2}}},
                       {"canary_held", held.to_json()}, {"canary_all", all.to_json()}, {"quotes_fanned_out", fanout},
                       {"daemon_nofile", {{"soft", dn.soft}, {"hard", dn.hard}}},
                       {"nproc", ::sysconf(_SC_NPROCESSORS_ONLN)}, {"cpu", cpu_model()}, {"violations", violations}};
  if (!o.json_path.empty()) std::ofstream(o.json_path) << report.dump(2) << "\n";
  for (const auto& v : violations) std::fprintf(stderr, "tradeshard-chaos: FAIL: %s\n", v.c_str());
  if (!violations.empty()) return 1;
  std::printf("ok: %d connections held and closed; canary within bounds; connections and fds back to baseline\n", n);
  return 0;
}

}  // namespace tradeshard::chaos

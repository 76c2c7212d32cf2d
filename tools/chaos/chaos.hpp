#pragma once
// tradeshard-chaos: a hostile-client soak (--soak) and a many-connection hold (--hold) against a
// running tradeshardd on loopback (issue 14 items 4 and 6). One io_context thread drives every
// connection; /proc and HTTP probes watch the daemon from outside.
#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "conn.hpp"
#include "probe.hpp"

namespace tradeshard::chaos {

using nlohmann::json;

struct Options {
  double soak_s = 0;             // --soak SECONDS
  int rounds = 2;                // soak rounds on the same daemon; RSS after the last vs after the first
  double warmup_s = -1;          // chaos before the RSS reference is read (-1: min(10, soak / 4))
  int hold = 0;                  // --hold N
  int connections = 1000;        // soak: chaos connections
  Target target;
  pid_t pid = -1;                // daemon pid (-1: the process listening on the TCP port)
  std::string daemon_log;        // its stderr, for the tail printed when it dies
  double tick_rate = 2000;       // ticks/s on the tick stream
  double order_rate = 200;       // orders/s over the order streams
  double burst_rate = 20000;     // ticks/s of the burst symbol while a stalled connection subscribes to it
  double canary_p99_ms = 250;    // bounds on the canary's ping -> pong (see docs/operations.md)
  double canary_max_ms = 1000;
  double rss_slack_mib = 16;     // RSS after must be within max(slack MiB, pct % of start) of start
  double rss_slack_pct = 25;
  double settle_s = 10;          // max wait for fds / connections to come back after the run
  double hold_s = 5;             // --hold: how long the connections stay open
  int source_ips = 8;            // 127.0.0.2 .. 127.0.0.(1+K) as source addresses; 0 = kernel's choice
  std::size_t max_line_bytes = 65536;         // the daemon's limits.max_line_bytes
  std::size_t outbound_queue_bytes = 4194304;  // the daemon's limits.outbound_queue_bytes
  std::uint64_t seed = 14;
  std::string json_path;
  std::vector<std::string> skip;  // --soak: behaviours left out (e.g. to run against a daemon with a known crash)
};

// Latency samples in microseconds; exact percentiles (nearest rank).
struct Samples {
  std::vector<double> us;
  [[nodiscard]] double percentile(double q) const;
  [[nodiscard]] double max() const;
  [[nodiscard]] json to_json() const;
};

// The canary, shared by both modes: a TCP connection that sends a ping every 10 ms (and, with
// tick_every > 0, a BTCUSDT tick every tick_every pings) and records ping -> pong. It runs on its own
// thread and io_context, so the chaos connections' work on the main thread does not delay it: its
// latency is the daemon's (plus the kernel's), not the client's.
class Canary {
 public:
  explicit Canary(const Options& o);
  ~Canary();
  bool open(std::string& error);  // connects (blocking, up to 5 s)
  void start();                   // starts the thread
  // Stops pinging, waits up to 2 s for the last pongs, closes, joins. Samples are readable after it.
  void finish();
  void set_tick_every(int n) { tick_every_ = n; }
  [[nodiscard]] std::size_t pongs() const noexcept { return pongs_.load(); }
  // After finish():
  [[nodiscard]] const Samples& samples() const noexcept { return samples_; }
  [[nodiscard]] double stuck_us() const noexcept { return stuck_us_; }  // oldest unanswered ping's age at finish
  [[nodiscard]] bool closed_early() const noexcept { return closed_early_; }
  [[nodiscard]] const std::string& close_reason() const noexcept { return close_reason_; }

 private:
  void tick();
  const Options& o_;
  asio::io_context io_;
  std::shared_ptr<Conn> conn_;
  asio::steady_timer timer_;
  std::thread thread_;
  std::deque<std::chrono::steady_clock::time_point> sent_;
  Samples samples_;
  std::atomic<std::size_t> pongs_{0};
  std::atomic<bool> running_{false}, done_{false};
  std::atomic<std::size_t> outstanding_{0};
  int tick_every_ = 0;
  std::uint64_t n_ = 0;
  double stuck_us_ = 0;
  bool closed_early_ = false;
  std::string close_reason_;
};

// Runs io until pred() holds or timeout; true when pred() held.
template <class Pred>
bool run_until(asio::io_context& io, Pred pred, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!pred()) {
    if (std::chrono::steady_clock::now() >= deadline || io.stopped()) return pred();
    io.run_one_for(std::chrono::milliseconds(20));
  }
  return true;
}

// Starts c's connect and runs io until it is up or refused (or 5 s passed); error says why not.
// Set c's handlers first: the daemon may answer before this returns.
bool connect_blocking(asio::io_context& io, Conn& c, const Target& target, std::string& error);

// 127.0.0.(2 + i % K), or unspecified with K == 0.
[[nodiscard]] asio::ip::address source_address(const Options& o, std::uint64_t i);
[[nodiscard]] std::string mib(std::uint64_t kib);
[[nodiscard]] std::string type_of(std::string_view message);  // the "type" value of a daemon message, cheaply

int run_soak(const Options& o);
int run_hold(const Options& o);

}  // namespace tradeshard::chaos

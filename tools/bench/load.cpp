#include "load.hpp"

#include <poll.h>
#include <sys/prctl.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <random>
#include <vector>

namespace tradeshard::bench {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::int64_t kDrainNs = 2 * kSecond;  // how long replies may lag the last request

using Conns = std::vector<std::unique_ptr<Connection>>;

bool open_all(const LoadSpec& spec, Conns& conns, std::string& error) {
  // Wake-ups from ppoll land within 1 ns of the deadline instead of the default 50 us slack.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
  for (int i = 0; i < spec.connections; ++i) {
    auto c = Connection::open(spec.endpoint, error);
    if (!c) return false;
    conns.push_back(std::move(c));
  }
  return true;
}

// Waits for readiness until deadline_ns (or forever when < 0); fills revents.
void wait_ready(std::vector<pollfd>& fds, const Conns& conns, std::int64_t deadline_ns) {
  for (std::size_t i = 0; i < conns.size(); ++i) {
    fds[i].fd = conns[i]->fd();
    fds[i].events = static_cast<short>(POLLIN | (conns[i]->has_output() ? POLLOUT : 0));
    fds[i].revents = 0;
  }
  timespec ts{};
  timespec* tsp = nullptr;
  if (deadline_ns >= 0) {
    const std::int64_t left = std::max<std::int64_t>(0, deadline_ns - now_ns());
    ts.tv_sec = static_cast<time_t>(left / kSecond);
    ts.tv_nsec = static_cast<long>(left % kSecond);
    tsp = &ts;
  }
  ::ppoll(fds.data(), fds.size(), tsp, nullptr);
}

struct RoundTripLoop {
  const LoadSpec& spec;
  Conns& conns;
  std::vector<RequestFlow>& flows;
  std::vector<pollfd> fds;
  std::string line;

  void send(std::size_t c, std::int64_t intended, RoundTripStats& stats) {
    line.clear();
    flows[c].next(line, intended, stats);
    conns[c]->queue(line);
    if (spec.rate > 0) stats.send_lag.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns() - intended)));
  }

  // One phase: sends for duration_ns, then waits for the replies still in flight.
  bool phase(std::int64_t duration_ns, RoundTripStats& stats, std::string& error) {
    const std::int64_t t0 = now_ns();
    const std::int64_t end = t0 + duration_ns;
    const bool open_loop = spec.rate > 0;
    const double interval = open_loop ? static_cast<double>(kSecond) / spec.rate : 0;
    std::uint64_t k = 0;
    for (;;) {
      const std::int64_t now = now_ns();
      std::int64_t deadline = -1;
      if (now < end) {
        if (open_loop) {
          deadline = now;  // still behind after a full burst: poll without waiting, then send more
          // The schedule: request k is due at t0 + k * interval, whether or not earlier ones returned.
          for (int burst = 0; burst < 10000; ++burst) {
            const auto due = t0 + static_cast<std::int64_t>(static_cast<double>(k) * interval);
            if (due > now || due >= end) {
              deadline = std::min(due, end);
              break;
            }
            send(k % conns.size(), due, stats);
            ++k;
          }
        } else {
          for (std::size_t c = 0; c < conns.size(); ++c) {
            while (flows[c].in_flight() < static_cast<std::size_t>(spec.window)) send(c, now, stats);
          }
          deadline = end;
        }
      } else {
        std::size_t pending = 0;
        for (const auto& f : flows) pending += f.in_flight();
        if (pending == 0 || now > end + kDrainNs) break;
        deadline = end + kDrainNs;
      }
      for (auto& c : conns) {
        if (c->has_output() && !c->flush()) {
          error = "write failed (connection closed by the server?)";
          return false;
        }
      }
      wait_ready(fds, conns, deadline);
      for (std::size_t c = 0; c < conns.size(); ++c) {
        if (!(fds[c].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const std::int64_t at = now_ns();
        const bool open = conns[c]->read_available([&](std::string_view m) { flows[c].on_reply(m, at, stats); });
        if (!open) {
          error = "connection closed by the server";
          return false;
        }
      }
    }
    stats.seconds += static_cast<double>(std::min(now_ns(), end) - t0) / kSecond;
    for (auto& f : flows) f.expire(stats);
    return true;
  }
};

}  // namespace

std::int64_t now_ns() noexcept {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

bool run_round_trips(const LoadSpec& spec, RoundTripStats& stats, std::string& error) {
  Conns conns;
  if (!open_all(spec, conns, error)) return false;
  std::vector<RequestFlow> flows;
  for (int i = 0; i < spec.connections; ++i) flows.emplace_back(spec.mode == Mode::echo, i, spec.seed);
  RoundTripLoop loop{spec, conns, flows, std::vector<pollfd>(conns.size()), {}};
  if (spec.warmup_s > 0) {
    RoundTripStats warm;
    if (!loop.phase(static_cast<std::int64_t>(spec.warmup_s * kSecond), warm, error)) return false;
  }
  return loop.phase(static_cast<std::int64_t>(spec.duration_s * kSecond), stats, error);
}

}  // namespace tradeshard::bench

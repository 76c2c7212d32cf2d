// The tick firehose: each connection replays a pre-encoded pool of ticks, as fast as the socket
// takes them or on a fixed schedule, then sends a ping. The daemon handles a connection's lines
// in order, so the pong proves every tick before it was processed.
#include <poll.h>

#include <chrono>
#include <random>

#include "load.hpp"

namespace tradeshard::bench {
namespace {

constexpr std::int64_t kSecond = 1'000'000'000;
constexpr std::size_t kPoolTicks = 4096;

struct TickSymbol {
  const char* name;
  std::int64_t mid;  // in units of 10^-decimals
  int decimals;
};
// The default config's instruments at their tick sizes.
constexpr TickSymbol kTickSymbols[] = {
    {"BTCUSDT", 5'000'000, 2}, {"ETHUSDT", 300'000, 2},   {"BNBUSDT", 60'000, 2},   {"SOLUSDT", 15'000, 2},
    {"EURUSD", 108'000, 5},    {"GBPUSD", 127'000, 5},    {"AUDUSD", 66'000, 5},    {"USDJPY", 150'000, 3}};

struct TickConn {
  std::unique_ptr<Connection> conn;
  std::string pool;                  // kPoolTicks framed ticks
  std::vector<std::size_t> offsets;  // start of each tick in pool, plus pool.size()
  std::size_t off = 0;               // bytes of the current pass already written
  std::uint64_t passes = 0;
  std::uint64_t scheduled_sent = 0;  // open loop: ticks queued so far
  bool barrier_sent = false, barrier_done = false;
};

void build_pool(TickConn& t, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string line;
  // Recent times, as a live feed's: the history (on in the default config) stores them; times
  // from long ago would be dropped as past its archive age and measure nothing.
  std::int64_t ts = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::system_clock::now().time_since_epoch()).count() - 60'000;
  for (std::size_t i = 0; i < kPoolTicks; ++i) {
    const TickSymbol& s = kTickSymbols[rng() % std::size(kTickSymbols)];
    const std::int64_t bid = s.mid + static_cast<std::int64_t>(rng() % 200) - 100;
    const std::int64_t ask = bid + 1 + static_cast<std::int64_t>(rng() % 20);
    ts += static_cast<std::int64_t>(rng() % 3);
    line.assign(R"({"type":"tick","symbol":")").append(s.name);
    line.append(R"(","bid":")").append(format_fixed(bid, s.decimals));
    line.append(R"(","ask":")").append(format_fixed(ask, s.decimals));
    line.append(R"(","bid_size":")").append(format_fixed(1 + static_cast<std::int64_t>(rng() % 5000), 3));
    line.append(R"(","ask_size":")").append(format_fixed(1 + static_cast<std::int64_t>(rng() % 5000), 3));
    line.append(R"(","ts":)").append(std::to_string(ts)).append("}");
    t.offsets.push_back(t.pool.size());
    t.conn->frame(t.pool, line);
  }
  t.offsets.push_back(t.pool.size());
}

// As fast as possible: write straight from the pool; false on a write error.
bool pump(TickConn& t, bool finish_pass_only) {
  for (;;) {
    if (finish_pass_only && t.off == 0) return true;
    const long n = t.conn->write_direct(t.pool.data() + t.off, t.pool.size() - t.off);
    if (n < 0) return false;
    if (n == 0) return true;
    t.off += static_cast<std::size_t>(n);
    if (t.off == t.pool.size()) {
      t.off = 0;
      ++t.passes;
    }
  }
}

// Open loop: queue whole ticks up to the schedule's count.
void schedule(TickConn& t, std::uint64_t due) {
  while (t.scheduled_sent < due) {
    const std::size_t i = t.scheduled_sent % kPoolTicks;
    t.conn->queue_framed(std::string_view(t.pool).substr(t.offsets[i], t.offsets[i + 1] - t.offsets[i]));
    ++t.scheduled_sent;
  }
}

// One phase: send for duration_ns, then the ping barrier on every connection. Every phase
// starts with empty pipes, so the count is exactly the ticks sent between t0 and the last pong.
bool tick_phase(std::vector<TickConn>& conns, const LoadSpec& spec, std::int64_t duration_ns, TickStats& stats,
                std::string& error) {
  std::vector<pollfd> fds(conns.size());
  const bool open_loop = spec.rate > 0;
  const double per_conn_rate = spec.rate / static_cast<double>(conns.size());
  for (auto& t : conns) {
    t.passes = t.scheduled_sent = 0;
    t.barrier_sent = t.barrier_done = false;
  }
  const std::int64_t t0 = now_ns();
  const std::int64_t end = t0 + duration_ns;
  std::int64_t last_pong = t0;
  for (;;) {
    std::int64_t now = now_ns();
    bool all_done = true;
    for (auto& t : conns) {
      const bool sending = now < end;
      if (!t.barrier_sent) {
        if (open_loop) {
          if (sending) schedule(t, static_cast<std::uint64_t>(static_cast<double>(now - t0) * per_conn_rate / kSecond));
        } else if (!pump(t, !sending)) {
          error = "write failed (connection closed by the server?)";
          return false;
        }
        // As fast as possible ends on a pass boundary, so the count is whole passes.
        if (!sending && (open_loop || t.off == 0)) {
          t.conn->queue(R"({"type":"ping"})");
          t.barrier_sent = true;
        }
      }
      if (t.conn->has_output() && !t.conn->flush()) {
        error = "write failed";
        return false;
      }
      all_done = all_done && t.barrier_done;
    }
    if (all_done) break;
    if (now > end + 30 * kSecond) {
      error = "no barrier pong within 30 s after the last tick";
      return false;
    }
    for (std::size_t i = 0; i < conns.size(); ++i) {
      fds[i].fd = conns[i].conn->fd();
      const bool wants_out = conns[i].conn->has_output() || (!open_loop && !conns[i].barrier_sent);
      fds[i].events = static_cast<short>(POLLIN | (wants_out ? POLLOUT : 0));
      fds[i].revents = 0;
    }
    ::poll(fds.data(), fds.size(), open_loop && now < end ? 1 : 100);
    now = now_ns();
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      auto& t = conns[i];
      const bool ok = t.conn->read_available([&](std::string_view m) {
        if (t.barrier_sent && !t.barrier_done && json_string_field(m, "type") == "pong") {
          t.barrier_done = true;
          last_pong = now;
        } else {
          ++stats.errors;
        }
      });
      if (!ok) {
        error = "connection closed by the server";
        return false;
      }
    }
  }
  for (const auto& t : conns) {
    const std::uint64_t n = open_loop ? t.scheduled_sent : t.passes * kPoolTicks;
    stats.ticks += n;
    stats.bytes += open_loop ? n * (t.pool.size() / kPoolTicks) : t.passes * t.pool.size();
  }
  stats.seconds += static_cast<double>(last_pong - t0) / kSecond;
  return true;
}

}  // namespace

bool run_ticks(const LoadSpec& spec, TickStats& stats, std::string& error) {
  std::vector<TickConn> conns(static_cast<std::size_t>(spec.connections));
  for (std::size_t i = 0; i < conns.size(); ++i) {
    conns[i].conn = Connection::open(spec.endpoint, error);
    if (!conns[i].conn) return false;
    build_pool(conns[i], spec.seed * 7919 + i);
  }
  if (spec.warmup_s > 0) {
    TickStats warm;
    if (!tick_phase(conns, spec, static_cast<std::int64_t>(spec.warmup_s * kSecond), warm, error)) return false;
  }
  return tick_phase(conns, spec, static_cast<std::int64_t>(spec.duration_s * kSecond), stats, error);
}

}  // namespace tradeshard::bench

// Ledger benchmark: committed change sets/s with three in-memory replicas (baseline: the same
// fills applied to one LedgerState directly), and with durable group commit to a WAL in a temp
// dir (commit latency = append() -> on_durable callback covering it). `--quick` runs <= 5 s.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tradeshard/core/instrument.hpp"
#include "tradeshard/ledger/cash_rules.hpp"
#include "tradeshard/ledger/codec.hpp"
#include "tradeshard/ledger/coordinator.hpp"
#include "tradeshard/storage/wal.hpp"

using namespace tradeshard;
using namespace tradeshard::ledger;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t accounts = 1000;
constexpr std::size_t fill_pool = 1 << 16;

struct Fill {
  AccountId buyer, seller;
  core::InstrumentId instrument;
  core::Ticks price;
  core::Lots qty;
};

CashRules make_rules() {
  std::vector<core::Instrument> v(4);
  const char* names[] = {"BTCUSDT", "ETHUSDT", "SOLUSDT", "EURUSD"};
  for (std::size_t i = 0; i < v.size(); ++i) {
    v[i].symbol = names[i];
    v[i].quote = i == 3 ? "USD" : "USDT";
    v[i].tick_size = {1, 2};
    v[i].lot_size = {1, i == 3 ? std::uint8_t{0} : std::uint8_t{5}};
  }
  auto b = CashRules::build(core::InstrumentTable(std::move(v)));
  if (!b.ok()) std::abort();
  return b.rules;
}

std::vector<Fill> make_fills() {
  std::mt19937_64 rng(12345);
  std::vector<Fill> f(fill_pool);
  for (auto& x : f) {
    x.buyer = static_cast<AccountId>(rng() % accounts);
    x.seller = static_cast<AccountId>(rng() % accounts);
    x.instrument = static_cast<core::InstrumentId>(rng() % 4);
    x.price = static_cast<core::Ticks>(1'000'000 + rng() % 100'000);
    x.qty = static_cast<core::Lots>(1 + rng() % 10'000);
  }
  return f;
}

// Opens the accounts two per change set, so the hot loop only trades.
void open_accounts(Coordinator& c) {
  for (std::size_t i = 0; i < accounts; i += 2) {
    ChangeSet cs;
    (void)c.resolve_account(cs, "acct-" + std::to_string(i));
    (void)c.resolve_account(cs, "acct-" + std::to_string(i + 1));
    if (!c.propose(cs).committed) std::abort();
  }
}

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Rate {
  std::uint64_t ops = 0;
  double secs = 0;
  [[nodiscard]] double per_sec() const { return secs > 0 ? static_cast<double>(ops) / secs : 0; }
};

// One LedgerState, no coordinator: what the replicated path is measured against.
Rate run_baseline(const CashRules& rules, const std::vector<Fill>& fills, double budget) {
  LedgerState s(&rules);
  for (std::size_t i = 0; i < accounts; ++i) {
    ChangeSet one;
    one.version = s.version() + 1;
    (void)one.open(static_cast<AccountId>(i), "acct-" + std::to_string(i));
    if (s.apply(one) != LedgerError::ok) std::abort();
  }
  Rate r;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < budget) {
    for (std::size_t i = 0; i < 16384; ++i) {
      const Fill& f = fills[r.ops++ & (fill_pool - 1)];
      ChangeSet cs;
      (void)add_fill(cs, rules, f.buyer, f.seller, f.instrument, f.price, f.qty);
      cs.version = s.version() + 1;
      if (s.apply(cs) != LedgerError::ok) std::abort();
    }
  }
  r.secs = seconds_since(t0);
  return r;
}

Rate run_memory(const CashRules& rules, const std::vector<Fill>& fills, double budget) {
  Coordinator c(&rules, CoordinatorConfig{});
  open_accounts(c);
  Rate r;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < budget) {
    for (std::size_t i = 0; i < 16384; ++i) {
      const Fill& f = fills[r.ops++ & (fill_pool - 1)];
      ChangeSet cs;
      (void)add_fill(cs, rules, f.buyer, f.seller, f.instrument, f.price, f.qty);
      if (!c.propose(cs).committed) std::abort();
    }
  }
  r.secs = seconds_since(t0);
  if (!c.consistency().is_consistent) std::abort();
  return r;
}

struct Durable {
  Rate rate;
  double p50_us = 0, p99_us = 0, max_us = 0;
  std::uint64_t rounds = 0;
};

Durable run_durable(const CashRules& rules, const std::vector<Fill>& fills, double budget,
                    storage::FsyncPolicy policy, std::size_t batch, double offered_per_s = 0) {
  char tmpl[] = "/tmp/tradeshard-ledger-bench-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) std::abort();
  const std::string dir = tmpl;
  constexpr std::size_t max_ops = 8'000'000;
  // Append times by version modulo the ring: durability never lags by anywhere near 1 M versions.
  constexpr std::size_t ring = 1 << 20;
  std::vector<Clock::time_point> start(ring);
  std::vector<float> latency_us;
  latency_us.reserve(1 << 22);
  std::uint64_t first_measured = 0;
  std::uint64_t last_seen = 0;
  Durable out;
  {
    storage::WalOptions o;
    o.dir = dir;
    o.policy = policy;
    o.interval_ms = 1;
    // Runs on the fsync thread; start[] entries <= v were written before append() published v.
    auto on_durable = [&](std::uint64_t v) {
      const auto now = Clock::now();
      for (std::uint64_t x = last_seen + 1; x <= v; ++x) {
        if (x >= first_measured && first_measured != 0) {
          latency_us.push_back(
              std::chrono::duration<float, std::micro>(now - start[x & (ring - 1)]).count());
        }
      }
      last_seen = v;
    };
    auto w = storage::Wal::open(o, on_durable);
    if (!w.ok()) { std::fprintf(stderr, "%s\n", w.error.c_str()); std::abort(); }
    Coordinator c(&rules, CoordinatorConfig{});
    open_accounts(c);
    first_measured = c.committed_version() + 1;
    std::string buf;
    buf.reserve(max_encoded_change_set);
    for (std::uint64_t v = 1; v < first_measured; ++v) {  // the account opens
      buf.clear();
      encode(*c.log_entry(v), buf);
      if (w.wal->append(v, buf) != storage::AppendError::ok) std::abort();
    }
    // One event-loop turn = `batch` fills staged, then one write() before replies go out.
    const auto t0 = Clock::now();
    while (seconds_since(t0) < budget && out.rate.ops + batch < max_ops) {
      for (std::size_t i = 0; i < batch; ++i) {
        const Fill& f = fills[out.rate.ops++ & (fill_pool - 1)];
        ChangeSet cs;
        (void)add_fill(cs, rules, f.buyer, f.seller, f.instrument, f.price, f.qty);
        if (!c.propose(cs).committed) std::abort();
        buf.clear();
        encode(cs, buf);
        start[cs.version & (ring - 1)] = Clock::now();
        if (w.wal->stage(cs.version, buf) != storage::AppendError::ok) std::abort();
      }
      if (w.wal->flush() != storage::AppendError::ok) std::abort();
      if (offered_per_s > 0) {  // paced: latency at a given load, not at saturation
        std::this_thread::sleep_until(
            t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(
                     static_cast<double>(out.rate.ops) / offered_per_s)));
      }
    }
    out.rate.secs = seconds_since(t0);
    out.rounds = w.wal->fsync_rounds();
  }  // destructor: final fsync, joins the thread
  std::filesystem::remove_all(dir);
  std::sort(latency_us.begin(), latency_us.end());
  if (!latency_us.empty()) {
    out.p50_us = latency_us[latency_us.size() / 2];
    out.p99_us = latency_us[latency_us.size() * 99 / 100];
    out.max_us = latency_us.back();
  }
  return out;
}

// Same-run floor: latency of write(64 B) + fdatasync on the same disk, no WAL involved.
Durable run_disk_floor(double budget) {
  char tmpl[] = "/tmp/tradeshard-ledger-floor-XXXXXX";
  const int fd = ::mkstemp(tmpl);
  if (fd < 0) std::abort();
  std::vector<float> lat;
  const char block[64] = {};
  Durable out;
  const auto t0 = Clock::now();
  while (seconds_since(t0) < budget) {
    const auto t = Clock::now();
    if (::write(fd, block, sizeof block) != sizeof block || ::fdatasync(fd) != 0) std::abort();
    lat.push_back(std::chrono::duration<float, std::micro>(Clock::now() - t).count());
  }
  out.rate = Rate{lat.size(), seconds_since(t0)};
  ::close(fd);
  ::unlink(tmpl);
  std::sort(lat.begin(), lat.end());
  out.p50_us = lat[lat.size() / 2];
  out.p99_us = lat[lat.size() * 99 / 100];
  out.max_us = lat.back();
  out.rounds = lat.size();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const double budget = quick ? 0.6 : 5.0;
  const CashRules rules = make_rules();
  const auto fills = make_fills();

  const Rate base = run_baseline(rules, fills, budget);
  const Rate mem = run_memory(rules, fills, budget);
  const Durable floor = run_disk_floor(budget / 2);
  const Durable one = run_durable(rules, fills, budget / 2, storage::FsyncPolicy::every_commit, 1);
  const Durable dur = run_durable(rules, fills, budget, storage::FsyncPolicy::every_commit, 64);
  const Durable ivl = run_durable(rules, fills, budget, storage::FsyncPolicy::interval, 64);
  const Durable paced =
      run_durable(rules, fills, budget, storage::FsyncPolicy::every_commit, 64, 200'000);

  std::printf("%-44s %14s %10s %10s %10s %8s\n", "case", "commits/s", "p50 us", "p99 us",
              "max us", "fsyncs");
  std::printf("%-44s %14.0f %10s %10s %10s %8s\n", "baseline: one LedgerState, no replication",
              base.per_sec(), "-", "-", "-", "-");
  std::printf("%-44s %14.0f %10s %10s %10s %8s\n", "coordinator, 3 in-memory replicas",
              mem.per_sec(), "-", "-", "-", "-");
  std::printf("%-44s %14.0f %10.1f %10.1f %10.1f %8llu\n", "disk floor: write 64 B + fdatasync",
              floor.rate.per_sec(), floor.p50_us, floor.p99_us, floor.max_us,
              static_cast<unsigned long long>(floor.rounds));
  std::printf("%-44s %14.0f %10.1f %10.1f %10.1f %8llu\n", "+ WAL every_commit, write() per commit",
              one.rate.per_sec(), one.p50_us, one.p99_us, one.max_us,
              static_cast<unsigned long long>(one.rounds));
  std::printf("%-44s %14.0f %10.1f %10.1f %10.1f %8llu\n", "+ WAL every_commit, write() per 64 commits",
              dur.rate.per_sec(), dur.p50_us, dur.p99_us, dur.max_us,
              static_cast<unsigned long long>(dur.rounds));
  std::printf("%-44s %14.0f %10.1f %10.1f %10.1f %8llu\n", "+ WAL interval 1 ms, write() per 64 commits",
              ivl.rate.per_sec(), ivl.p50_us, ivl.p99_us, ivl.max_us,
              static_cast<unsigned long long>(ivl.rounds));
  std::printf("%-44s %14.0f %10.1f %10.1f %10.1f %8llu\n", "+ WAL every_commit, paced 200k/s, batch 64",
              paced.rate.per_sec(), paced.p50_us, paced.p99_us, paced.max_us,
              static_cast<unsigned long long>(paced.rounds));
  std::printf(
      "{\"bench\":\"ledger\",\"quick\":%s,\"baseline_per_s\":%.0f,\"memory_3_replicas_per_s\":%.0f,"
      "\"replication_overhead_x\":%.2f,\"durable_every_commit_per_s\":%.0f,"
      "\"durable_p50_us\":%.1f,\"durable_p99_us\":%.1f,\"durable_fsyncs\":%llu,"
      "\"durable_unbatched_per_s\":%.0f,\"unbatched_p99_us\":%.1f,"
      "\"durable_interval_per_s\":%.0f,\"interval_p50_us\":%.1f,\"interval_p99_us\":%.1f,"
      "\"paced_200k_p50_us\":%.1f,\"paced_200k_p99_us\":%.1f,"
      "\"disk_fdatasync_p50_us\":%.1f,\"disk_fdatasync_p99_us\":%.1f}\n",
      quick ? "true" : "false", base.per_sec(), mem.per_sec(),
      mem.per_sec() > 0 ? base.per_sec() / mem.per_sec() : 0.0, dur.rate.per_sec(), dur.p50_us,
      dur.p99_us, static_cast<unsigned long long>(dur.rounds), one.rate.per_sec(), one.p99_us, ivl.rate.per_sec(), ivl.p50_us,
      ivl.p99_us, paced.p50_us, paced.p99_us, floor.p50_us, floor.p99_us);
  return 0;
}

// Load balancer benchmark: route() and release() cost per strategy at 3, 16 and 128 workers in a
// steady state (background live orders, route a batch then release it), the 3 -> 4 worker
// movement of the hash ring and the bounded-load imbalance on a Zipf(1.0) mix.
// Usage: tradeshard-bench-balance [--quick]. Prints a table and one final JSON line.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "tradeshard/balance/load_balancer.hpp"
#include "tradeshard/core/hash.hpp"

using namespace tradeshard;
using namespace tradeshard::balance;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t batch = 256;
constexpr std::size_t symbol_count = 1000;

struct Case {
  const char* name;
  Strategy strategy;
  double factor;
};
constexpr Case cases[] = {{"round_robin", Strategy::round_robin, 0.0},
                          {"least_connections", Strategy::least_connections, 0.0},
                          {"weighted_capacity", Strategy::weighted_capacity, 0.0},
                          {"lowest_latency", Strategy::lowest_latency, 0.0},
                          {"hash", Strategy::hash, 0.0},
                          {"hash_bounded_1.25", Strategy::hash, 1.25}};

struct Timing {
  double route_ns = 0.0;    // median per route() over batches
  double release_ns = 0.0;  // median per release()
};

double median(std::vector<double> v) {
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(v.size() / 2), v.end());
  return v[v.size() / 2];
}

double ns_per_op(Clock::time_point a, Clock::time_point b, std::size_t ops) {
  return std::chrono::duration<double, std::nano>(b - a).count() / static_cast<double>(ops);
}

std::vector<std::uint64_t> symbol_hashes(std::size_t k, const char* prefix) {
  std::vector<std::uint64_t> out;
  for (std::size_t i = 0; i < k; ++i) out.push_back(core::stable_hash(prefix + std::to_string(i)));
  return out;
}

// Zipf(1.0) ranks, precomputed so the timed loop does no RNG work.
std::vector<std::uint32_t> zipf_sequence(std::size_t k, std::size_t n, std::uint64_t seed) {
  std::vector<double> cdf;
  double sum = 0.0;
  for (std::size_t i = 1; i <= k; ++i) cdf.push_back(sum += 1.0 / static_cast<double>(i));
  std::mt19937_64 rng(seed);
  std::vector<std::uint32_t> out;
  for (std::size_t i = 0; i < n; ++i) {
    const double u = static_cast<double>(rng() >> 11) * 0x1.0p-53 * sum;
    out.push_back(static_cast<std::uint32_t>(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin()));
  }
  return out;
}

LoadBalancer make_balancer(const Case& c, int workers) {
  LoadBalancer lb(Config{.strategy = c.strategy, .hash_balance_factor = c.factor});
  std::vector<WorkerSpec> specs;
  for (int i = 1; i <= workers; ++i) {
    specs.push_back({"worker-" + std::to_string(i), "inproc://worker-" + std::to_string(i), 1'000'000, {}, 100.0 + i});
  }
  (void)lb.add_workers(std::move(specs));
  return lb;
}

Timing time_case(const Case& c, const LoadBalancer& prototype, std::size_t rounds,
                 const std::vector<std::uint64_t>& hashes, const std::vector<std::uint32_t>& ranks) {
  // Copy a prebuilt balancer: building 128 x 2048 ring points per case would dominate the run.
  LoadBalancer lb = prototype;
  lb.set_strategy(c.strategy);
  (void)lb.set_hash_balance_factor(c.factor);
  const int workers = static_cast<int>(lb.workers().size());
  // Background: 20 live orders per worker on the same symbol mix, kept for the whole run.
  for (std::size_t i = 0; i < 20 * static_cast<std::size_t>(workers); ++i) {
    (void)lb.route({"", hashes[ranks[i % ranks.size()]], "crypto", core::Priority::normal});
  }
  std::vector<RouteResult> results(batch);
  std::vector<std::uint64_t> batch_hashes(batch);
  std::vector<double> route_ns;
  std::vector<double> release_ns;
  std::size_t cursor = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    for (std::size_t i = 0; i < batch; ++i) batch_hashes[i] = hashes[ranks[(cursor + i) % ranks.size()]];
    cursor += batch;
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) {
      results[i] = lb.route({"", batch_hashes[i], "crypto", core::Priority::normal});
    }
    const auto t1 = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) (void)lb.release(results[i].worker, batch_hashes[i]);
    const auto t2 = Clock::now();
    route_ns.push_back(ns_per_op(t0, t1, batch));
    release_ns.push_back(ns_per_op(t1, t2, batch));
  }
  return {median(route_ns), median(release_ns)};
}

// Same-run baseline for machine noise: one std::unordered_map increment and decrement per op.
Timing time_baseline(std::size_t rounds, const std::vector<std::uint64_t>& hashes, const std::vector<std::uint32_t>& ranks) {
  std::unordered_map<std::uint64_t, std::uint32_t> counts;
  std::vector<double> inc_ns;
  std::vector<double> dec_ns;
  std::size_t cursor = 0;
  for (std::size_t r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) ++counts[hashes[ranks[(cursor + i) % ranks.size()]]];
    const auto t1 = Clock::now();
    for (std::size_t i = 0; i < batch; ++i) {
      auto it = counts.find(hashes[ranks[(cursor + i) % ranks.size()]]);
      if (--it->second == 0) counts.erase(it);
    }
    const auto t2 = Clock::now();
    cursor += batch;
    inc_ns.push_back(ns_per_op(t0, t1, batch));
    dec_ns.push_back(ns_per_op(t1, t2, batch));
  }
  return {median(inc_ns), median(dec_ns)};
}

struct Movement {
  std::size_t moved = 0;
  std::size_t between_stayed = 0;
};

Movement movement_3_to_4(std::uint32_t points, const std::vector<std::uint64_t>& hashes) {
  LoadBalancer lb(Config{.strategy = Strategy::hash, .points_per_worker = points});
  auto place = [&lb](std::uint64_t h) {
    const RouteResult r = lb.route({"", h, "crypto", core::Priority::normal});
    (void)lb.release(r.worker, h);
    return r.worker.value;
  };
  for (int i = 1; i <= 3; ++i) (void)lb.add_worker({"worker-" + std::to_string(i), "", 1'000'000, {}, 0.0});
  std::vector<std::uint32_t> before;
  for (std::uint64_t h : hashes) before.push_back(place(h));
  const std::uint32_t fourth = lb.add_worker({"worker-4", "", 1'000'000, {}, 0.0}).worker.value;
  Movement m;
  for (std::size_t i = 0; i < hashes.size(); ++i) {
    const std::uint32_t now = place(hashes[i]);
    if (now == before[i]) continue;
    ++m.moved;
    if (now != fourth) ++m.between_stayed;
  }
  return m;
}

// Steady state with `live` outstanding orders over 8 workers; mean and worst max/avg load.
std::pair<double, double> zipf_imbalance(double factor, std::size_t live) {
  LoadBalancer lb = make_balancer({"hash", Strategy::hash, factor}, 8);
  const std::vector<std::uint64_t> hashes = symbol_hashes(10'000, "Z-");
  const std::vector<std::uint32_t> ranks = zipf_sequence(10'000, 30 * live, 42);
  std::vector<std::pair<WorkerId, std::uint64_t>> orders;
  std::mt19937_64 rng(7);
  double sum = 0.0;
  double worst = 0.0;
  std::size_t samples = 0;
  for (std::size_t step = 0; step < ranks.size(); ++step) {
    const std::uint64_t h = hashes[ranks[step]];
    orders.emplace_back(lb.route({"", h, "crypto", core::Priority::normal}).worker, h);
    if (orders.size() > live) {
      const std::size_t victim = rng() % orders.size();
      (void)lb.release(orders[victim].first, orders[victim].second);
      orders[victim] = orders.back();
      orders.pop_back();
    }
    if (step >= 5 * live && step % 100 == 0) {
      const double im = lb.stats().imbalance;
      sum += im;
      worst = std::max(worst, im);
      ++samples;
    }
  }
  return {sum / static_cast<double>(samples), worst};
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const std::size_t rounds = quick ? 100 : 2000;
  const std::vector<std::uint64_t> hashes = symbol_hashes(symbol_count, "SYM-");
  const std::vector<std::uint32_t> ranks = zipf_sequence(symbol_count, 1 << 16, 1);
  const auto start = Clock::now();

  std::printf("balance bench (%s): %zu batches x %zu route+release, Zipf(1.0) over %zu symbols, median per op\n",
              quick ? "quick" : "full", rounds, batch, symbol_count);
  const Timing base = time_baseline(rounds, hashes, ranks);
  std::printf("%-20s %8s %12s %12s %14s\n", "strategy", "workers", "route_ns", "release_ns", "routes/s");
  std::printf("%-20s %8s %12.1f %12.1f %14s\n", "baseline_umap", "-", base.route_ns, base.release_ns, "-");
  std::string json = "{\"bench\":\"balance\",\"quick\":" + std::string(quick ? "true" : "false") +
                     ",\"baseline_umap_inc_ns\":" + std::to_string(base.route_ns) + ",\"route\":[";
  bool first = true;
  for (int workers : {3, 16, 128}) {
    const auto build_start = Clock::now();
    const LoadBalancer prototype = make_balancer(cases[0], workers);
    const double build_ms = std::chrono::duration<double, std::milli>(Clock::now() - build_start).count();
    std::printf("%-20s %8d   (adding the workers took %.1f ms)\n", "setup", workers, build_ms);
    for (const Case& c : cases) {
      const Timing t = time_case(c, prototype, rounds, hashes, ranks);
      std::printf("%-20s %8d %12.1f %12.1f %14.0f\n", c.name, workers, t.route_ns, t.release_ns, 1e9 / t.route_ns);
      json += std::string(first ? "" : ",") + "{\"strategy\":\"" + c.name + "\",\"workers\":" + std::to_string(workers) +
              ",\"route_ns\":" + std::to_string(t.route_ns) + ",\"release_ns\":" + std::to_string(t.release_ns) + "}";
      first = false;
    }
  }
  json += "]";

  const std::size_t k = quick ? 10'000 : 100'000;
  const std::vector<std::uint64_t> move_hashes = symbol_hashes(k, "SYM-");
  std::printf("\nhash ring 3 -> 4 workers, K = %zu symbols (ideal K/4 = %zu, target <= %zu)\n", k, k / 4,
              static_cast<std::size_t>(1.05 * k / 4));
  for (std::uint32_t points : {160u, 2048u}) {
    const Movement m = movement_3_to_4(points, move_hashes);
    std::printf("  points_per_worker %4u: moved %zu (%.3f x K/4), moved between the three that stayed %zu\n", points,
                m.moved, static_cast<double>(m.moved) / (k / 4.0), m.between_stayed);
    json += ",\"move_points_" + std::to_string(points) + "\":{\"k\":" + std::to_string(k) +
            ",\"moved\":" + std::to_string(m.moved) + ",\"between_stayed\":" + std::to_string(m.between_stayed) + "}";
  }

  const std::size_t live = quick ? 1'000 : 4'000;
  std::printf("\nZipf(1.0), 10k symbols, 8 workers, %zu live orders (max/avg load, steady state)\n", live);
  for (double factor : {0.0, 1.25}) {
    const auto [mean, worst] = zipf_imbalance(factor, live);
    std::printf("  hash_balance_factor %.2f: mean %.3f worst %.3f\n", factor, mean, worst);
    json += ",\"zipf_factor_" + std::to_string(static_cast<int>(factor * 100)) + "\":{\"mean\":" +
            std::to_string(mean) + ",\"worst\":" + std::to_string(worst) + "}";
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  json += ",\"seconds\":" + std::to_string(seconds) + "}";
  std::printf("\ntotal %.1f s\n%s\n", seconds, json.c_str());
  return 0;
}

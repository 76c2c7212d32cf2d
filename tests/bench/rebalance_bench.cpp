// Load-aware rebalancing benchmark, end to end through the Gateway (no sockets): 500 symbols,
// 4 workers. Each strategy first places every symbol while all are cold (one resting order each,
// in random order: placement cannot know which will be hot); then orders drawn from a Zipf(1.1)
// symbol mix arrive and rest. One load sample measures per-symbol load (orders/s) from those
// orders; then one rebalance run (POST /admin/balancer/rebalance's code path) moves whole books,
// live.
//   tradeshard-bench-rebalance [--symbols N] [--workers W] [--orders K] [--zipf S]
// Prints, per strategy: the busiest worker's book load / mean before and after, the books moved
// (and their live orders), and the time of the run against a baseline from the same run: the
// time the same orders took to submit and match. The last line is JSON.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "tradeshard/app/gateway.hpp"

using namespace tradeshard;
using Clock = std::chrono::steady_clock;

namespace {

struct NullPort final : app::ClientPort {
  void send(const app::Outbound&) override {}
};

double ms_since(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

struct Result {
  std::string strategy;
  double before = 0, after = 0, mean = 0;
  std::size_t moved = 0, orders_moved = 0;
  double rebalance_ms = 0, submit_ms = 0;
};

Result run(balance::Strategy strategy, int symbols, int workers, int orders, double zipf) {
  app::Config c;
  for (int i = 0; i < symbols; ++i) {
    core::Instrument in;
    char name[16];
    std::snprintf(name, sizeof name, "S%03d", i);
    in.symbol = name;
    in.cls = "crypto";
    in.base = name;
    in.quote = "USDT";
    c.instruments.push_back(in);
  }
  for (int w = 1; w <= workers; ++w) c.workers.push_back({"worker-" + std::to_string(w), 10'000'000, "", {}, 50.0, 0});
  c.partitioning.nodes.push_back({"node-1", {market::StrategyKind::spread}});
  c.replication.log_keep = 64;
  c.balancer.strategy = strategy;
  c.balancer.batch_size = 4096;
  c.balancer.rebalance.enabled = false;  // the bench runs it once, by hand
  app::Gateway g(c);
  NullPort port;
  const auto conn = g.open(port);

  // Zipf(s) over the symbols, rank order shuffled so the hot ones are not the first placed.
  std::vector<double> cdf(symbols);
  double total = 0;
  for (int k = 0; k < symbols; ++k) cdf[k] = total += 1.0 / std::pow(k + 1, zipf);
  std::vector<int> rank_to_symbol(symbols);
  for (int k = 0; k < symbols; ++k) rank_to_symbol[k] = k;
  std::mt19937_64 rng(7);
  std::shuffle(rank_to_symbol.begin(), rank_to_symbol.end(), rng);
  std::uniform_real_distribution<double> u(0.0, total);

  // Resting orders that never cross (bids under 100.00, asks over), so the books keep them.
  std::vector<std::string> ids(orders + symbols);
  std::vector<int> cold(symbols);
  for (int k = 0; k < symbols; ++k) cold[k] = k;
  std::shuffle(cold.begin(), cold.end(), rng);
  const auto t0 = Clock::now();
  for (int n = 0; n < orders + symbols; ++n) {
    app::OrderCmd o;
    ids[n] = "o" + std::to_string(n);
    o.id = ids[n];
    o.account = "acct";
    if (n < symbols) {
      o.symbol = c.instruments[cold[n]].symbol;
    } else {
      const auto k = static_cast<int>(std::lower_bound(cdf.begin(), cdf.end(), u(rng)) - cdf.begin());
      o.symbol = c.instruments[rank_to_symbol[std::min(k, symbols - 1)]].symbol;
    }
    const bool buy = (rng() & 1) != 0;
    o.side = buy ? core::Side::buy : core::Side::sell;
    o.has_price = true;
    o.price = core::Decimal{buy ? 9'900 - static_cast<std::int64_t>(rng() % 100) : 10'100 + static_cast<std::int64_t>(rng() % 100), 2};
    o.qty = core::Decimal{1, 0};
    g.handle(conn, o, {});
    if (n % 2048 == 2047 || n == symbols - 1) {
      while (g.pump({})) {
      }
    }
    if (n == symbols - 1) (void)g.sample_orders(0, 1'000'000);  // the cold phase: next to no load
  }
  while (g.pump({})) {
  }
  Result r;
  r.submit_ms = ms_since(t0);
  r.strategy = std::string(balance::to_string(strategy));
  (void)g.sample_orders(1'000, 1'000);  // the orders above are one second's load
  const auto t1 = Clock::now();
  const auto report = g.manage_orders([](app::OrderFlow& f) { return f.rebalance(2'000); });
  r.rebalance_ms = ms_since(t1);
  r.before = report.before;
  r.after = report.after;
  r.mean = report.mean;
  r.moved = report.moves.size();
  for (const auto& m : report.moves) r.orders_moved += m.orders;
  if (g.orders().live_orders() != static_cast<std::size_t>(orders + symbols)) {
    std::fprintf(stderr, "lost orders: %zu live of %d\n", g.orders().live_orders(), orders);
    std::exit(1);
  }
  return r;
}

}  // namespace

int main(int argc, char** argv) {
  int symbols = 500, workers = 4, orders = 200'000;
  double zipf = 1.1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--symbols")) symbols = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--workers")) workers = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--orders")) orders = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--zipf")) zipf = std::atof(argv[i + 1]);
  }
  std::printf("rebalance: %d symbols, Zipf(%.2f), %d workers, %d resting orders\n", symbols, zipf, workers, orders);
  std::printf("%-18s %8s %8s %6s %9s %12s %12s %8s\n", "strategy", "before", "after", "moved", "orders", "rebalance ms",
              "submit ms", "ratio");
  std::string json = "{\"bench\":\"rebalance\",\"symbols\":" + std::to_string(symbols) +
                     ",\"workers\":" + std::to_string(workers) + ",\"orders\":" + std::to_string(orders) + ",\"runs\":[";
  bool first = true;
  for (const auto s : balance::all_strategies) {
    const Result r = run(s, symbols, workers, orders, zipf);
    std::printf("%-18s %8.3f %8.3f %6zu %9zu %12.2f %12.1f %8.4f\n", r.strategy.c_str(), r.before, r.after, r.moved,
                r.orders_moved, r.rebalance_ms, r.submit_ms, r.rebalance_ms / r.submit_ms);
    char buf[320];
    std::snprintf(buf, sizeof buf,
                  "%s{\"strategy\":\"%s\",\"before\":%.4f,\"after\":%.4f,\"moved\":%zu,\"orders_moved\":%zu,"
                  "\"rebalance_ms\":%.3f,\"submit_ms\":%.3f}",
                  first ? "" : ",", r.strategy.c_str(), r.before, r.after, r.moved, r.orders_moved, r.rebalance_ms,
                  r.submit_ms);
    json += buf;
    first = false;
  }
  std::printf("%s]}\n", json.c_str());
  return 0;
}

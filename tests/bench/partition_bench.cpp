// Symbol map and tick processor micro-benchmarks, each beside a same-run baseline.
// Usage: tradeshard-bench-partition [--quick]. Prints a table, then one JSON line.
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "tradeshard/market/processor_node.hpp"
#include "tradeshard/partition/symbol_map.hpp"

using namespace tradeshard;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> make_symbols(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "SYM%04dUSDT", i);
    out.emplace_back(buf);
  }
  return out;
}

std::vector<std::string> make_nodes(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("node-" + std::to_string(i));
  return out;
}

// Fixed-seed access order so lookups are not a predictable stride.
std::vector<std::uint32_t> make_order(std::size_t n, std::uint32_t range) {
  std::vector<std::uint32_t> out(n);
  std::uint64_t x = 0x9E3779B97F4A7C15ULL;
  for (auto& v : out) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    v = static_cast<std::uint32_t>((x >> 33) % range);
  }
  return out;
}

volatile std::uint64_t sink;

// Best of `rounds` runs of fn(order), in ns per element: the minimum filters out a noisy neighbour.
template <class Fn>
double best_ns(int rounds, const std::vector<std::uint32_t>& order, Fn fn) {
  double best = 1e18;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    std::uint64_t acc = 0;
    for (std::uint32_t i : order) acc += fn(i);
    const auto t1 = Clock::now();
    sink = acc;
    const double ns = std::chrono::duration<double, std::nano>(t1 - t0).count();
    best = std::min(best, ns / static_cast<double>(order.size()));
  }
  return best;
}

partition::SymbolMap make_map(partition::PartitionerConfig pc, int nodes,
                              const std::vector<std::string>& symbols) {
  auto r = partition::SymbolMap::create(
      {.partitioner = std::move(pc), .nodes = make_nodes(nodes), .initial_symbols = symbols});
  if (!r.ok()) {
    std::fprintf(stderr, "bench: symbol map config refused\n");
    std::exit(1);
  }
  return std::move(r.map);
}

struct Row {
  const char* name;
  double ns;
};

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  const int rounds = quick ? 3 : 15;
  const std::size_t ops = quick ? 200'000 : 1'000'000;
  const auto symbols = make_symbols(1000);
  const auto order = make_order(ops, 1000);
  std::vector<Row> rows;

  partition::SymbolMap map = make_map({.partitions = 1024}, 8, symbols);
  std::unordered_map<std::string, int> baseline;
  for (std::size_t i = 0; i < symbols.size(); ++i) baseline.emplace(symbols[i], static_cast<int>(i % 8));
  rows.push_back({"baseline unordered_map<string,int>::find", best_ns(rounds, order, [&](std::uint32_t i) {
                    return static_cast<std::uint64_t>(baseline.find(symbols[i])->second);
                  })});
  rows.push_back({"symbol->node by id (node_of)", best_ns(rounds, order, [&](std::uint32_t i) {
                    return static_cast<std::uint64_t>(map.node_of(i));
                  })});
  rows.push_back({"symbol->node by string (find+node_of)", best_ns(rounds, order, [&](std::uint32_t i) {
                    return static_cast<std::uint64_t>(map.node_of(*map.find(symbols[i])));
                  })});
  rows.push_back({"route(string) incl. tick count", best_ns(rounds, order, [&](std::uint32_t i) {
                    return static_cast<std::uint64_t>(map.route(symbols[i]).node);
                  })});

  partition::PartitionerConfig range{.strategy = partition::Strategy::range, .partitions = 1024};
  for (int i = 0; i < 1000; i += 10) {
    range.ranges.push_back({symbols[i], symbols[i + 9], static_cast<partition::PartitionId>(i / 10)});
  }
  partition::PartitionerConfig list{.strategy = partition::Strategy::list, .partitions = 1024};
  for (int i = 0; i < 1000; ++i) list.symbols.emplace_back(symbols[i], static_cast<partition::PartitionId>(i));
  const partition::PartitionerConfig configs[] = {
      {.strategy = partition::Strategy::hash, .partitions = 1024},
      range,
      list,
      {.strategy = partition::Strategy::consistent_hash, .partitions = 1024, .points_per_partition = 64}};
  const char* names[] = {"partition_of hash", "partition_of range (100 ranges)",
                         "partition_of list (1000 entries)", "partition_of consistent_hash (64 pts)"};
  for (int k = 0; k < 4; ++k) {
    auto p = partition::Partitioner::create(configs[k]);
    if (!p.ok()) return 1;
    rows.push_back({names[k], best_ns(rounds, order, [&](std::uint32_t i) {
                      return static_cast<std::uint64_t>(p.partitioner.partition_of(symbols[i]));
                    })});
  }

  // One node, default strategies, 1000 symbols; prices wander so signals and bars do happen.
  market::ProcessorNode node(0, "node-1", market::NodeConfig{});
  std::vector<market::Quote> quotes(4096);
  const auto qorder = make_order(quotes.size(), 1000);
  for (std::size_t i = 0; i < quotes.size(); ++i) {
    const std::int64_t bid = 5'000'000'000'000 + static_cast<std::int64_t>(qorder[i]) * 1'000'000;
    const std::int64_t spread = (i % 3 == 0) ? 10'000'000 : 900'000'000;
    const std::int64_t bsz = 100'000'000 + static_cast<std::int64_t>(qorder[(i + 1) % quotes.size()]) * 300'000;
    quotes[i] = {bid, bid + spread, bsz, 200'000'000, 0};
  }
  market::TickOutput out;
  out.signals.reserve(4096);
  out.bars.reserve(4096);
  std::int64_t now = 1'700'000'000'000;
  std::uint64_t signals = 0;
  std::uint64_t bars = 0;
  rows.push_back({"ProcessorNode::process per tick", best_ns(rounds, order, [&](std::uint32_t i) {
                    now += 1;  // 1 ms per tick: 1 s bars close every 1000 ticks of a symbol's window
                    (void)node.process(i, quotes[i & 4095], now, out);
                    const std::uint64_t n = out.signals.size();
                    signals += n;
                    bars += out.bars.size();
                    out.clear();
                    return n;
                  })});

  // Same work with every tick inside one open window: isolates the cost of closing bars.
  const std::int64_t frozen = now + 10'000'000;
  rows.push_back({"process per tick, no bar closes", best_ns(rounds, order, [&](std::uint32_t i) {
                    (void)node.process(i, quotes[i & 4095], frozen, out);
                    const std::uint64_t n = out.signals.size();
                    out.clear();
                    return n;
                  })});

  // Movement and balance: 1000 symbols, 1024 partitions, 8 -> 9 nodes.
  partition::SymbolMap m8 = make_map({.partitions = 1024}, 8, symbols);
  const double count8 = m8.node_count_stats().max_over_avg;
  const auto t0 = Clock::now();
  const partition::PlanResult plan = m8.plan_add_node("node-9");
  const double plan_us = std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
  if (!plan.ok() || m8.apply(plan.plan) != partition::AssignmentError::ok) return 1;
  const double count9 = m8.node_count_stats().max_over_avg;
  const std::size_t moved = plan.plan.moves.size();
  std::size_t moved_symbols = 0;
  for (const auto& mv : plan.plan.moves) moved_symbols += m8.symbols_in(mv.partition).size();

  std::printf("%-44s %10s\n", "operation", "ns/op");
  for (const Row& r : rows) std::printf("%-44s %10.1f\n", r.name, r.ns);
  std::printf("\nprocess(): %llu signals, %llu closed bars over the timed rounds\n",
              static_cast<unsigned long long>(signals), static_cast<unsigned long long>(bars));
  std::printf("1000 symbols / 1024 partitions: 8 nodes count max/avg %.3f; add node-9: %zu partitions "
              "(%zu symbols) moved, limit %.1f; 9 nodes max/avg %.3f; plan %.0f us\n",
              count8, moved, moved_symbols, 1.1 * 1024 / 9, count9, plan_us);
  std::printf("{\"bench\":\"partition\",\"quick\":%s,\"baseline_umap_ns\":%.1f,\"node_by_id_ns\":%.1f,"
              "\"node_by_string_ns\":%.1f,\"route_ns\":%.1f,\"hash_ns\":%.1f,\"range_ns\":%.1f,"
              "\"list_ns\":%.1f,\"consistent_hash_ns\":%.1f,\"process_ns\":%.1f,\"process_no_close_ns\":%.1f,"
              "\"count_max_over_avg_8\":%.3f,\"moved_partitions_8_to_9\":%zu,\"moved_symbols_8_to_9\":%zu,"
              "\"count_max_over_avg_9\":%.3f,\"plan_add_us\":%.0f}\n",
              quick ? "true" : "false", rows[0].ns, rows[1].ns, rows[2].ns, rows[3].ns, rows[4].ns,
              rows[5].ns, rows[6].ns, rows[7].ns, rows[8].ns, rows[9].ns, count8, moved, moved_symbols, count9,
              plan_us);
  return 0;
}

#include <doctest/doctest.h>

#include <cstdio>
#include <string>
#include <vector>

#include "tradeshard/partition/symbol_map.hpp"

using namespace tradeshard::partition;

namespace {

std::vector<std::string> symbols(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "SYM%04dUSDT", i);
    out.emplace_back(buf);
  }
  return out;
}

std::vector<std::string> nodes(int n) {
  std::vector<std::string> out;
  for (int i = 1; i <= n; ++i) out.push_back("node-" + std::to_string(i));
  return out;
}

SymbolMap make(SymbolMapConfig c) {
  auto r = SymbolMap::create(std::move(c));
  REQUIRE(r.ok());
  return std::move(r.map);
}

}  // namespace

// Ensure interning is dense and stable, lookups agree, and the table bound is enforced.
TEST_CASE("SymbolMap: interning, lookup and bounds") {
  SymbolMap m = make({.nodes = nodes(2), .max_symbols = 3, .max_symbol_length = 8});
  const Route a = m.route("BTCUSDT");
  REQUIRE(a.ok());
  CHECK(a.created);
  CHECK(a.symbol == 0);
  const Route again = m.route("BTCUSDT");
  CHECK_FALSE(again.created);
  CHECK(again.symbol == 0);
  CHECK(m.route("ETHUSDT").symbol == 1);
  CHECK(m.find("ETHUSDT") == SymbolId{1});
  CHECK_FALSE(m.find("SOLUSDT").has_value());
  CHECK(m.name(1) == "ETHUSDT");
  CHECK(m.node_of(0) == m.assignment().owner(m.partition_of(0)));
  CHECK(m.route("").error == RouteError::empty_symbol);
  CHECK(m.route("TOOLONGSYMBOL").error == RouteError::symbol_too_long);
  CHECK(m.route("SOLUSDT").ok());
  CHECK(m.route("XRPUSDT").error == RouteError::symbol_table_full);
  CHECK(m.route("BTCUSDT").ok());  // known symbols still route when full
  CHECK(m.symbol_count() == 3);
}

// Ensure the short-symbol memo never confuses two symbols: every length around its word
// boundaries (1..20 bytes), names that differ in one byte anywhere, prefixes of each other, and far
// more symbols than memo entries (collisions replace entries). Each name must keep its first id
// through repeated routing, and after a rebalance the memo must answer the new node.
TEST_CASE("SymbolMap: short-symbol memo keeps every symbol distinct") {
  SymbolMap m = make({.nodes = nodes(3), .max_symbols = 100'000, .max_symbol_length = 32});
  std::vector<std::string> names;
  const std::string base = "ABCDEFGHIJKLMNOPQRST";
  for (std::size_t len = 1; len <= 20; ++len) {
    const std::string s = base.substr(0, len);
    names.push_back(s);
    for (std::size_t i = 0; i < len; ++i) {  // one byte different at each position
      std::string t = s;
      t[i] = 'z';
      names.push_back(t);
    }
  }
  for (const auto& s : symbols(3000)) names.push_back(s);
  std::vector<SymbolId> ids;
  for (const auto& n : names) {
    const Route r = m.route(n);
    REQUIRE(r.ok());
    ids.push_back(r.symbol);
  }
  CHECK(m.symbol_count() == names.size());  // all distinct names got distinct ids
  for (int round = 0; round < 2; ++round) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      const Route r = m.route(names[i]);
      REQUIRE(r.symbol == ids[i]);
      CHECK_FALSE(r.created);
      CHECK(m.name(r.symbol) == names[i]);
      CHECK(r.node == m.node_of(r.symbol));
    }
  }
  // A moved partition's symbols route to their new node through the memo too.
  const auto plan = m.plan_add_node("node-4");
  REQUIRE(plan.ok());
  REQUIRE(m.apply(plan.plan) == AssignmentError::ok);
  bool moved = false;
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Route r = m.route(names[i]);
    CHECK(r.node == m.assignment().owner(m.partition_of(r.symbol)));
    moved = moved || r.node == m.assignment().find_node("node-4");
  }
  CHECK(moved);
}

// Ensure bad configs are named, including the nested reasons.
TEST_CASE("SymbolMap: config errors") {
  CHECK(SymbolMap::create({.load_weight = 1.5}).error == SymbolMapError::bad_load_weight);
  CHECK(SymbolMap::create({.max_symbols = 0}).error == SymbolMapError::zero_max_symbols);
  auto r = SymbolMap::create({.partitioner = {.partitions = 0}});
  CHECK(r.error == SymbolMapError::partitioner);
  CHECK(r.partitioner_error == PartitionerError::zero_partitions);
  r = SymbolMap::create({.nodes = {}});
  CHECK(r.assignment_error == AssignmentError::no_nodes);
  r = SymbolMap::create({.max_symbols = 1, .initial_symbols = {"A", "A"}});
  CHECK(r.ok());  // a repeated start-up symbol is interned once
  r = SymbolMap::create({.max_symbols = 1, .initial_symbols = {"A", "B"}});
  CHECK(r.error == SymbolMapError::initial_symbol);
  CHECK(r.route_error == RouteError::symbol_table_full);
}

// Ensure the targets: 1,000 symbols over 8 nodes within 10% of the average, and a 9th
// node takes at most 1.1/9 of the partitions, all to itself, with the cache following the plan.
TEST_CASE("SymbolMap: 1000 symbols, 8 -> 9 nodes meets the balance and movement targets") {
  SymbolMap m = make({.partitioner = {.partitions = 1024}, .nodes = nodes(8),
                      .initial_symbols = symbols(1000)});
  const PartitionStats before = m.node_count_stats();
  CHECK(before.partition_count == 8);
  CHECK(before.total_items == 1000);
  CHECK(before.max_over_avg <= 1.10);
  std::vector<NodeIndex> owner_before = m.assignment().owners();

  const PlanResult r = m.plan_add_node("node-9");
  REQUIRE(r.ok());
  CHECK(static_cast<double>(r.plan.moves.size()) <= 1.1 * 1024.0 / 9.0);
  for (const Move& m9 : r.plan.moves) CHECK(m9.to == 8);
  REQUIRE(m.apply(r.plan) == AssignmentError::ok);
  for (PartitionId p = 0; p < 1024; ++p) {
    if (m.assignment().owner(p) != 8) CHECK(m.assignment().owner(p) == owner_before[p]);
  }
  for (SymbolId s = 0; s < 1000; ++s) CHECK(m.node_of(s) == m.assignment().owner(m.partition_of(s)));
  const PartitionStats after = m.node_count_stats();
  CHECK(after.partition_count == 9);
  CHECK(after.max_over_avg <= 1.10);
  MESSAGE("8 nodes max/avg " << before.max_over_avg << ", moved " << r.plan.moves.size()
                             << " of 1024, 9 nodes max/avg " << after.max_over_avg);
}

// Ensure measured load is sampled from tick counts and a hot symbol drives a rebalance.
TEST_CASE("SymbolMap: load sampling and load-driven rebalance") {
  SymbolMap m = make({.partitioner = {.partitions = 16}, .nodes = nodes(2), .load_weight = 1.0,
                      .initial_symbols = symbols(32)});
  const SymbolId hot = 0;
  for (int i = 0; i < 900; ++i) REQUIRE(m.route("SYM0000USDT").ok());
  for (SymbolId s = 1; s < 32; ++s) {
    for (int i = 0; i < 10; ++i) REQUIRE(m.route(m.name(s)).ok());
  }
  m.sample_load(2000);  // 1210 ticks over 2 s
  const PartitionStats load = m.load_stats();
  CHECK(load.total_items == doctest::Approx(605.0));
  CHECK(m.partition_loads()[m.partition_of(hot)] >= 450.0);
  const NodeIndex hot_node = m.node_of(hot);
  const PlanResult r = m.plan_rebalance(0.01);
  REQUIRE(r.ok());
  REQUIRE_FALSE(r.plan.moves.empty());
  for (const Move& mv : r.plan.moves) CHECK(mv.partition != m.partition_of(hot));  // too big to help
  for (const Move& mv : r.plan.moves) CHECK(mv.from == hot_node);
  REQUIRE(m.apply(r.plan) == AssignmentError::ok);
  CHECK(m.node_load_stats().max_over_avg < 1.7);
  m.sample_load(1000);  // no ticks since: every partition cools to 0
  CHECK(m.load_stats().total_items == 0.0);
  CHECK_FALSE(m.set_partition_loads(std::vector<double>(3, 1.0)));
}

// Ensure symbols learnt at run time (no start-up list) reach the count target after one rebalance.
TEST_CASE("SymbolMap: run-time symbols balanced by plan_rebalance") {
  SymbolMap m = make({.partitioner = {.partitions = 1024}, .nodes = nodes(8)});
  for (const auto& s : symbols(1000)) REQUIRE(m.route(s).ok());
  const double before = m.node_count_stats().max_over_avg;
  const PlanResult r = m.plan_rebalance(0.0);
  REQUIRE(r.ok());
  REQUIRE(m.apply(r.plan) == AssignmentError::ok);
  const double after = m.node_count_stats().max_over_avg;
  CHECK(after <= 1.10);
  CHECK(after <= before);
  MESSAGE("run-time symbols: max/avg " << before << " -> " << after << " with "
                                       << r.plan.moves.size() << " moves");
}

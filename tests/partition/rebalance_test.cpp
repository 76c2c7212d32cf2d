// Reference wiring for the gateway: SymbolMap routes, ProcessorNodes own state, a MovePlan moves
// whole partitions and their symbols' state between two ticks.
#include <doctest/doctest.h>

#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "tradeshard/market/processor_node.hpp"
#include "tradeshard/partition/symbol_map.hpp"

using namespace tradeshard;
using partition::AssignmentError;
using partition::MovePlan;

namespace {

struct Cluster {
  partition::SymbolMap map;
  std::vector<market::ProcessorNode> nodes;  // indexed by NodeIndex (slots are append-only)
  market::TickOutput out;

  void tick(const std::string& symbol, std::int64_t ts) {
    const partition::Route r = map.route(symbol);
    REQUIRE(r.ok());
    const std::int64_t bid = 100'000'000 + ts;  // rising price: order shows in the bars' close
    REQUIRE(nodes[r.node].process(r.symbol, {bid, bid + 1'000'000, 100, 100, ts}, ts, out) ==
            market::QuoteError::ok);
    out.clear();
  }

  // Apply first (it may refuse a stale plan), then move each moved partition's symbol states.
  AssignmentError apply(const MovePlan& plan) {
    const AssignmentError e = map.apply(plan);
    if (e != AssignmentError::ok) return e;
    if (plan.kind == partition::PlanKind::add_node) {
      REQUIRE(plan.node == nodes.size());
      nodes.emplace_back(plan.node, plan.node_id, market::NodeConfig{});
    }
    for (const partition::Move& m : plan.moves) {
      for (partition::SymbolId s : map.symbols_in(m.partition)) {
        if (auto st = nodes[m.from].export_symbol(s)) nodes[m.to].import_symbol(s, std::move(*st));
      }
    }
    return e;
  }
};

std::vector<std::string> symbols(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "S%03d", i);
    out.emplace_back(buf);
  }
  return out;
}

}  // namespace

// Ensure no tick is lost and none is applied out of order for its symbol across an add and a
// remove: every symbol's state lives on its owner and holds every tick, latest last.
TEST_CASE("Rebalance: symbol state follows its partition, ticks neither lost nor reordered") {
  const auto syms = symbols(300);
  auto created = partition::SymbolMap::create(
      {.partitioner = {.partitions = 64}, .nodes = {"n1", "n2", "n3"}, .initial_symbols = syms});
  REQUIRE(created.ok());
  Cluster c{std::move(created.map), {}, {}};
  for (partition::NodeIndex n = 0; n < 3; ++n) {
    c.nodes.emplace_back(n, c.map.assignment().node_id(n), market::NodeConfig{});
  }
  std::int64_t ts = 1'000;
  auto round = [&] {
    for (const auto& s : syms) c.tick(s, ++ts);
  };
  round();
  const auto add = c.map.plan_add_node("n4");
  REQUIRE(add.ok());
  REQUIRE_FALSE(add.plan.moves.empty());
  REQUIRE(c.apply(add.plan) == AssignmentError::ok);
  round();
  const auto remove = c.map.plan_remove_node("n2");
  REQUIRE(remove.ok());
  REQUIRE(c.apply(add.plan) == AssignmentError::stale_plan);  // an old plan is refused
  REQUIRE(c.apply(remove.plan) == AssignmentError::ok);
  round();

  CHECK(c.nodes[1].symbol_count() == 0);  // n2 is gone and holds nothing
  std::size_t total = 0;
  for (std::size_t i = 0; i < syms.size(); ++i) {
    const auto id = static_cast<partition::SymbolId>(i);
    const partition::NodeIndex owner = c.map.node_of(id);
    const market::SymbolState* st = c.nodes[owner].state(id);
    REQUIRE(st != nullptr);
    CHECK(st->ticks == 3);
    // The last quote is the symbol's latest tick of round 3: nothing older overwrote it.
    CHECK(st->last.ts_ms == 1'000 + 2 * 300 + static_cast<std::int64_t>(i) + 1);
    CHECK(st->bars[0].late_ticks() == 0);
  }
  for (const auto& n : c.nodes) total += n.symbol_count();
  CHECK(total == syms.size());
}

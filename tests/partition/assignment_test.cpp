#include <doctest/doctest.h>

#include <set>
#include <string>
#include <vector>

#include "tradeshard/partition/assignment.hpp"

using namespace tradeshard::partition;

namespace {

Assignment make(std::uint32_t parts, std::vector<std::string> nodes, const std::vector<double>& w) {
  auto r = Assignment::create(parts, std::move(nodes), w);
  REQUIRE(r.ok());
  return std::move(r.assignment);
}

}  // namespace

// Ensure the initial assignment puts the heaviest partitions first on the lightest node.
TEST_CASE("Assignment: greedy heaviest-first initial placement") {
  const std::vector<double> w{5, 1, 1, 1, 1, 1};
  const Assignment a = make(6, {"a", "b"}, w);
  CHECK(a.owners() == std::vector<NodeIndex>{0, 1, 1, 1, 1, 1});
  CHECK(a.node_loads(w) == std::vector<double>{5, 5});
}

// Ensure zero weights (no symbols yet) still spread partitions evenly by number.
TEST_CASE("Assignment: zero weights spread by partition count") {
  const std::vector<double> w(9, 0.0);
  const Assignment a = make(9, {"a", "b", "c"}, w);
  for (NodeIndex n = 0; n < 3; ++n) CHECK(a.partitions_of(n).size() == 3);
}

// Ensure a node added before any weight exists still gets its share of partitions by number.
TEST_CASE("Assignment: add node with zero weights spreads by count") {
  const std::vector<double> w(10, 0.0);
  Assignment a = make(10, {"a", "b"}, w);  // 5 and 5
  const PlanResult r = a.plan_add_node("c", w);
  REQUIRE(r.ok());
  REQUIRE(r.plan.moves.size() == 3);  // floor(10 / 3)
  for (const Move& m : r.plan.moves) CHECK(m.to == 2);
  REQUIRE(a.apply(r.plan) == AssignmentError::ok);
  CHECK(a.partitions_of(0).size() + a.partitions_of(1).size() == 7);
  CHECK(a.partitions_of(0).size() >= 3);
  CHECK(a.partitions_of(1).size() >= 3);
}

// Ensure bad inputs are named.
TEST_CASE("Assignment: create errors") {
  const std::vector<double> w(4, 1.0);
  CHECK(Assignment::create(4, {}, w).error == AssignmentError::no_nodes);
  CHECK(Assignment::create(4, {"a", "a"}, w).error == AssignmentError::duplicate_node);
  CHECK(Assignment::create(4, {"a", ""}, w).error == AssignmentError::empty_node_id);
  CHECK(Assignment::create(3, {"a"}, w).error == AssignmentError::weights_size_mismatch);
  CHECK(Assignment::create(0, {"a"}, {}).error == AssignmentError::zero_partitions);
}

// Ensure adding a node takes whole partitions from over-target nodes only, to the new node only,
// and that the plan changes nothing until applied.
TEST_CASE("Assignment: add node moves only to the new node") {
  std::vector<double> w(12, 1.0);
  w[0] = 3;  // node a is the heaviest
  Assignment a = make(12, {"a", "b"}, w);
  const std::vector<NodeIndex> before = a.owners();
  const auto loads_before = a.node_loads(w);
  const PlanResult r = a.plan_add_node("c", w);
  REQUIRE(r.ok());
  CHECK(r.plan.kind == PlanKind::add_node);
  CHECK(r.plan.node == 2);
  CHECK(a.owners() == before);  // planning is side-effect free
  REQUIRE_FALSE(r.plan.moves.empty());
  const double target = (loads_before[0] + loads_before[1]) / 3.0;
  for (const Move& m : r.plan.moves) {
    CHECK(m.to == 2);
    CHECK(before[m.partition] == m.from);
    CHECK(loads_before[m.from] > target);
  }
  REQUIRE(a.apply(r.plan) == AssignmentError::ok);
  CHECK(a.node_id(2) == "c");
  const auto loads = a.node_loads(w);
  CHECK(loads[2] == doctest::Approx(target).epsilon(0.25));
  for (PartitionId p = 0; p < 12; ++p) {
    if (a.owner(p) != 2) CHECK(a.owner(p) == before[p]);  // nothing between staying nodes
  }
  CHECK(a.apply(r.plan) == AssignmentError::stale_plan);
  CHECK(a.plan_add_node("c", w).error == AssignmentError::duplicate_node);
}

// Ensure removing a node moves exactly its partitions, heaviest to the lightest staying node.
TEST_CASE("Assignment: remove node moves only its partitions") {
  const std::vector<double> w{4, 3, 2, 1, 1, 1};
  Assignment a = make(6, {"a", "b", "c"}, w);
  const std::vector<NodeIndex> before = a.owners();
  const PlanResult r = a.plan_remove_node("b", w);
  REQUIRE(r.ok());
  const auto mine = a.partitions_of(1);
  REQUIRE(r.plan.moves.size() == mine.size());
  for (const Move& m : r.plan.moves) {
    CHECK(m.from == 1);
    CHECK(m.to != 1);
  }
  REQUIRE(a.apply(r.plan) == AssignmentError::ok);
  CHECK_FALSE(a.alive(1));
  CHECK(a.partitions_of(1).empty());
  CHECK(a.alive_count() == 2);
  for (PartitionId p = 0; p < 6; ++p) {
    if (before[p] != 1) CHECK(a.owner(p) == before[p]);
  }
  CHECK(a.plan_remove_node("b", w).error == AssignmentError::unknown_node);
  const PlanResult r2 = a.plan_remove_node("a", w);
  REQUIRE(a.apply(r2.plan) == AssignmentError::ok);
  CHECK(a.plan_remove_node("c", w).error == AssignmentError::last_node);
  // A fresh node gets a new slot; slots are never reused.
  const PlanResult r3 = a.plan_add_node("b", w);
  REQUIRE(r3.ok());
  CHECK(r3.plan.node == 3);
}

// Ensure a load-driven rebalance evens node load with whole partitions and then stops.
TEST_CASE("Assignment: rebalance evens measured load") {
  std::vector<double> w(8, 0.0);
  Assignment a = make(8, {"a", "b"}, w);  // a: 0,2,4,6  b: 1,3,5,7
  REQUIRE(a.owner(0) == 0);
  w = {10, 1, 10, 1, 0, 1, 0, 1};  // node a carries 20, b 4
  const PlanResult r = a.plan_rebalance(w, 0.5);
  REQUIRE(r.ok());
  // One hot partition crosses to b (20/4 -> 10/14), then two cold ones come back (12/12).
  REQUIRE(r.plan.moves.size() == 3);
  CHECK(r.plan.moves[0] == Move{0, 0, 1});
  CHECK(w[r.plan.moves[1].partition] == 1);
  CHECK(r.plan.moves[1].from == 1);
  REQUIRE(a.apply(r.plan) == AssignmentError::ok);
  CHECK(a.node_loads(w) == std::vector<double>{12, 12});
  // Already as even as whole partitions allow: no further plan.
  CHECK(a.plan_rebalance(w, 0.5).plan.moves.empty());
}

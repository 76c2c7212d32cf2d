#pragma once
// Level 2 of the symbol map: which processing node owns each partition. Node slots are
// append-only: a node keeps its NodeIndex for the life of the process, a removed node leaves a dead
// slot, so callers may index their own per-node arrays by NodeIndex. Changes happen only through a
// MovePlan, computed first (visible to the caller) and then applied; a plan computed against an
// older version is refused. Owned by the event-loop thread; not thread-safe.
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/partition/partitioner.hpp"

namespace tradeshard::partition {

using NodeIndex = std::uint32_t;

struct Move {
  PartitionId partition = 0;
  NodeIndex from = 0;
  NodeIndex to = 0;
  friend bool operator==(const Move&, const Move&) = default;
};

enum class PlanKind : std::uint8_t { add_node, remove_node, rebalance };
[[nodiscard]] std::string_view to_string(PlanKind k) noexcept;

struct MovePlan {
  PlanKind kind = PlanKind::rebalance;
  NodeIndex node = 0;          // the added or removed node (unused for rebalance)
  std::string node_id{};
  std::uint64_t base_version = 0;
  std::vector<Move> moves{};   // whole partitions only
};

enum class AssignmentError : std::uint8_t {
  ok,
  no_nodes,
  zero_partitions,
  empty_node_id,
  duplicate_node,
  unknown_node,
  last_node,
  weights_size_mismatch,
  stale_plan,
};
[[nodiscard]] std::string_view to_string(AssignmentError e) noexcept;

class Assignment;
struct AssignmentResult;
struct PlanResult {
  MovePlan plan;
  AssignmentError error = AssignmentError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == AssignmentError::ok; }
};

// Weights are per partition (size == partition count), non-negative, in any unit: the caller
// mixes symbol count and measured load (see SymbolMap::partition_weights).
class Assignment {
 public:
  // Greedy largest-weight-first onto the lightest node; ties spread partitions evenly by count.
  [[nodiscard]] static AssignmentResult create(std::uint32_t partitions,
                                               std::vector<std::string> node_ids,
                                               std::span<const double> weights);

  [[nodiscard]] NodeIndex owner(PartitionId p) const noexcept { return owner_[p]; }
  [[nodiscard]] const std::vector<NodeIndex>& owners() const noexcept { return owner_; }
  [[nodiscard]] std::uint32_t partition_count() const noexcept {
    return static_cast<std::uint32_t>(owner_.size());
  }
  [[nodiscard]] std::optional<NodeIndex> find_node(std::string_view id) const noexcept;
  [[nodiscard]] const std::string& node_id(NodeIndex n) const noexcept { return nodes_[n].id; }
  [[nodiscard]] bool alive(NodeIndex n) const noexcept { return n < nodes_.size() && nodes_[n].alive; }
  [[nodiscard]] std::size_t node_slots() const noexcept { return nodes_.size(); }
  [[nodiscard]] std::size_t alive_count() const noexcept;
  [[nodiscard]] std::vector<NodeIndex> alive_nodes() const;
  [[nodiscard]] std::vector<PartitionId> partitions_of(NodeIndex n) const;
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }
  // Sum of partition weights per node slot (dead slots 0).
  [[nodiscard]] std::vector<double> node_loads(std::span<const double> weights) const;

  // New node takes partitions only from nodes above the new average, largest fitting first.
  [[nodiscard]] PlanResult plan_add_node(std::string id, std::span<const double> weights) const;
  // The node's partitions go, heaviest first, to the lightest staying node; nothing else moves.
  [[nodiscard]] PlanResult plan_remove_node(std::string_view id, std::span<const double> weights) const;
  // Moves partitions from the heaviest to the lightest node while that lowers the maximum by
  // more than `min_gain` (same unit as weights). Used when measured load drifts.
  [[nodiscard]] PlanResult plan_rebalance(std::span<const double> weights, double min_gain) const;
  [[nodiscard]] AssignmentError apply(const MovePlan& plan);

 private:
  struct Node {
    std::string id;
    bool alive = true;
  };
  std::vector<Node> nodes_;
  std::vector<NodeIndex> owner_;
  std::uint64_t version_ = 0;
};

struct AssignmentResult {
  Assignment assignment;
  AssignmentError error = AssignmentError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == AssignmentError::ok; }
};

}  // namespace tradeshard::partition

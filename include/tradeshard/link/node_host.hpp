#pragma once
// A node process's end of the link (cluster mode, docs/cluster.md "Processing nodes"): TICKS
// batches from the gateway go through market::ProcessorNode, one per gateway node slot, and each
// batch is answered by one NODE_OUTPUT with the same seq carrying its signals and closed bars.
// No sockets; tested on its own.
//
// The rules it keeps (as WorkerHost's, for what applies to market data):
//  - HELLO first; its digest must be this process's node_config_digest() (same strategies and
//    parameters on both sides), an older epoch is refused (stale_epoch).
//  - A newer epoch or a reset drops every symbol's state: a slot that moved here starts from the
//    next tick (market data is not replayed; bars and strategy memory restart).
//  - Ticks are not acknowledged one by one and never re-sent: a batch lost with a link is lost.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tradeshard/link/peer_host.hpp"
#include "tradeshard/market/processor_node.hpp"

namespace tradeshard::link {

using market::NodeSlotConfigs;
// A stable digest of everything the nodes' output depends on; the gateway sends its own in HELLO.
[[nodiscard]] std::uint64_t node_config_digest(const NodeSlotConfigs& c);

struct NodeHostOptions {
  std::string id = "node";
  std::uint32_t max_slots = 256;
  std::size_t max_payload = default_max_payload;
};

struct NodeHostStats {
  std::uint64_t batches = 0;
  std::uint64_t ticks = 0;
  std::uint64_t rejected = 0;  // quotes a node refused (the gateway validates first: should stay 0)
  std::uint64_t signals = 0;
  std::uint64_t bars = 0;
  std::uint64_t links = 0;
  std::uint64_t refused = 0;
  std::uint64_t resets = 0;  // state dropped (reset or a newer epoch)
};

class NodeHost final : public PeerHost {
 public:
  NodeHost(NodeSlotConfigs configs, NodeHostOptions options);

  [[nodiscard]] bool on_bytes(std::string_view bytes, std::string& out) override;
  void on_link_closed() override;
  [[nodiscard]] std::optional<Refuse> check_hello(const Hello& h) const override;
  bool pump(app::Now, std::string&) override { return false; }
  [[nodiscard]] std::uint64_t epoch() const noexcept override { return epoch_; }
  [[nodiscard]] const std::string& error() const noexcept override { return error_; }

  [[nodiscard]] bool linked() const noexcept { return linked_; }
  [[nodiscard]] const NodeHostStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::uint64_t digest() const noexcept { return digest_; }
  // The node of a gateway slot, if it has seen a tick.
  [[nodiscard]] const market::ProcessorNode* node(std::uint32_t slot) const;

 private:
  bool refuse(std::string& out, RefuseCode code, std::string reason);
  bool hello(const Hello& h, std::string& out);
  void batch(std::uint64_t seq, const TickBatch& b, std::string& out);
  market::ProcessorNode* slot(std::uint32_t s);

  NodeSlotConfigs configs_;
  NodeHostOptions options_;
  std::uint64_t digest_ = 0;
  FrameReader reader_;
  bool linked_ = false;
  std::uint64_t epoch_ = 0;
  std::uint64_t last_seq_ = 0;
  std::map<std::uint32_t, std::unique_ptr<market::ProcessorNode>> nodes_;
  market::TickOutput out_;
  NodeOutput reply_;
  std::string error_;
  NodeHostStats stats_;
};

}  // namespace tradeshard::link

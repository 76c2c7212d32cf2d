#pragma once
// The gateway's end of its links to node processes (cluster mode, docs/cluster.md "Processing
// nodes"): TickFlow hands each tick of a remotely hosted node slot to send(); ticks wait in the
// link's batch until take_output() (one TICKS frame per loop turn); each NODE_OUTPUT comes back
// as a market::TickOutput for TickFlow to publish. Market data: never re-sent. No sockets.
#include <cstdint>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/tick_flow.hpp"
#include "tradeshard/link/codec.hpp"
#include "tradeshard/link/link_end.hpp"
#include "tradeshard/market/processor_node.hpp"

namespace tradeshard::link {

struct RemoteNodesOptions {
  std::string gateway_id = "gateway";
  std::uint64_t epoch = 1;
  std::uint64_t config_digest = 0;  // node_config_digest() of the gateway's node slots
  std::uint32_t heartbeat_ms = 100;
  std::uint32_t max_batches_in_flight = 64;  // per link; past it ticks are dropped (counted)
  std::uint32_t max_batch_ticks = 4096;      // a batch is sent when it reaches this, or each loop turn
  std::size_t max_payload = default_max_payload;
};

class RemoteNodes final : public app::RemoteNodeSink, public LinkEnd {
 public:
  explicit RemoteNodes(RemoteNodesOptions options);

  LinkId add_link(std::string name) override;
  void assign(std::uint32_t slot, LinkId link);
  [[nodiscard]] std::string hello(LinkId link, bool reset) override;
  [[nodiscard]] bool on_bytes(LinkId link, std::string_view bytes, app::Now now) override;
  void on_link_down(LinkId link) override;
  void rehome(LinkId dead, LinkId to) override;
  [[nodiscard]] std::string ping(LinkId link, std::uint64_t now_ns) override;
  [[nodiscard]] std::string take_output(LinkId link) override;
  void on_output(std::function<void(LinkId)> f) override { on_output_ = std::move(f); }
  [[nodiscard]] LinkView link(LinkId link) const override;
  [[nodiscard]] std::optional<LinkId> host_of(std::uint32_t slot) const override {
    if (!hosts(slot)) return std::nullopt;
    return slots_[slot].link;
  }
  // Where NODE_OUTPUTs go (TickFlow::on_remote_output).
  void on_node_output(std::function<void(const market::TickOutput&)> f) { deliver_ = std::move(f); }

  // ---- TickFlow's side ----
  [[nodiscard]] bool hosts(std::uint32_t slot) const override {
    return slot < slots_.size() && slots_[slot].assigned;
  }
  void send(std::uint32_t slot, market::SymbolId symbol, const market::Quote& q, std::int64_t arrival_ms) override;

  [[nodiscard]] std::size_t links() const noexcept { return links_.size(); }

 private:
  struct Link {
    LinkId id = 0;
    std::string name;
    bool connected = false, up = false, needs_reset = false;
    std::uint64_t next_seq = 1;
    std::set<std::uint64_t> in_flight;
    TickBatch batch;
    std::string output;
    FrameReader reader;
    std::uint64_t rtt_ns = 0, last_pong_ns = 0, next_ping = 1;
    std::string error;
    LinkCounters counters;
  };
  struct Slot {
    LinkId link = 0;
    bool assigned = false;
  };
  bool fail(Link& l, std::string why);
  void seal(Link& l);  // the batch becomes a TICKS frame in l.output

  RemoteNodesOptions options_;
  std::deque<Link> links_;
  std::vector<Slot> slots_;
  market::TickOutput scratch_;
  std::function<void(LinkId)> on_output_;
  std::function<void(const market::TickOutput&)> deliver_;
};

}  // namespace tradeshard::link

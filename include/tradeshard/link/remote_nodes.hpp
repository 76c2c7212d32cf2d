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

struct NodeLinkCounters {
  std::uint64_t batches = 0, ticks = 0, outputs = 0, signals = 0, bars = 0;
  std::uint64_t dropped = 0;  // ticks not sent: too many batches in flight, or no live host
  std::uint64_t lost = 0;     // batches sent and never answered (the link dropped, the node died)
  std::uint64_t pings = 0, pongs = 0;
};

class RemoteNodes final : public app::RemoteNodeSink {
 public:
  using LinkId = std::uint32_t;
  explicit RemoteNodes(RemoteNodesOptions options);

  LinkId add_link(std::string name);
  void assign(std::uint32_t slot, LinkId link);
  [[nodiscard]] std::string hello(LinkId link, bool reset);
  [[nodiscard]] bool on_bytes(LinkId link, std::string_view bytes, app::Now now);
  void on_link_down(LinkId link);
  void rehome(LinkId dead, LinkId to);
  [[nodiscard]] std::string ping(LinkId link, std::uint64_t now_ns);
  [[nodiscard]] std::string take_output(LinkId link);
  void on_output(std::function<void(LinkId)> f) { on_output_ = std::move(f); }
  // Where NODE_OUTPUTs go (TickFlow::on_remote_output).
  void on_node_output(std::function<void(const market::TickOutput&)> f) { deliver_ = std::move(f); }

  // ---- TickFlow's side ----
  [[nodiscard]] bool hosts(std::uint32_t slot) const override {
    return slot < slots_.size() && slots_[slot].assigned;
  }
  void send(std::uint32_t slot, market::SymbolId symbol, const market::Quote& q, std::int64_t arrival_ms) override;

  struct View {
    std::string name;
    bool up = false, needs_reset = false;
    std::uint64_t rtt_ns = 0;
    std::size_t in_flight = 0;
    std::vector<std::uint32_t> slots;
    std::string error;
    NodeLinkCounters counters;
  };
  [[nodiscard]] View link(LinkId link) const;
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
    std::uint64_t rtt_ns = 0, next_ping = 1;
    std::string error;
    NodeLinkCounters counters;
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

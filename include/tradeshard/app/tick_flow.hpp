#pragma once
// The tick path: symbol -> partition -> processing node, per-symbol market state, strategies,
// bars, and the quotes/signals/bars channels; node add/remove with a move plan applied between
// two ticks (state moves with its partition). Standard library only; loop thread only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/config.hpp"
#include "tradeshard/app/histogram.hpp"
#include "tradeshard/app/history_sink.hpp"
#include "tradeshard/app/messages.hpp"
#include "tradeshard/app/outbox.hpp"
#include "tradeshard/app/recent.hpp"
#include "tradeshard/market/processor_node.hpp"
#include "tradeshard/partition/symbol_map.hpp"

namespace tradeshard::app {

struct NodeRuntimeStats {
  std::uint64_t remote_ticks = 0;  // sent to a node process (cluster mode)
  std::uint64_t ticks_at_sample = 0;
  double ticks_per_s = 0;
  LatencyHistogram process_ns;  // per tick, inside the node
};

struct TickFlowStats {
  std::uint64_t ticks_in = 0;
  std::uint64_t rejected = 0;        // invalid quote or symbol table full
  std::uint64_t stale = 0;           // Binance update id went backwards: dropped
  std::uint64_t gaps = 0;            // Binance update id jumped by more than one
  std::uint64_t signals = 0;
  std::uint64_t bars_closed = 0;
  std::uint64_t rebalances = 0;
};

// The processing-node slots a config gives TickFlow, with the strategies of each (a node process
// runs these for the gateway's slots; docs/cluster.md).
[[nodiscard]] market::NodeSlotConfigs node_slot_configs(const Config& config);

// Cluster mode: node slots whose processing runs in node processes (link::RemoteNodes). TickFlow
// validates a tick, then hands it over instead of processing it; the signals and bars come back
// through TickFlow::on_remote_output.
class RemoteNodeSink {
 public:
  virtual ~RemoteNodeSink() = default;
  [[nodiscard]] virtual bool hosts(std::uint32_t node) const = 0;
  virtual void send(std::uint32_t node, market::SymbolId symbol, const market::Quote& q, std::int64_t arrival_ms) = 0;
};

class TickFlow {
 public:
  TickFlow(const Config& config, Outbox& outbox);

  // One tick from a client connection or a feed; errors go back to `conn` (0 = a feed).
  void on_tick(std::uint64_t conn, const TickCmd& tick, Now now);
  // Cluster mode (before any tick): where remotely processed node slots go.
  void set_remote(RemoteNodeSink* remote) noexcept { remote_ = remote; }
  // What a node process made of the ticks it was sent: published as local output is.
  void on_remote_output(const market::TickOutput& out) { publish(out); }
  // Periodic: measured load per partition and ticks/s per node.
  void sample(std::int64_t elapsed_ms);

  // Node management: the plan is computed, applied between two ticks and returned.
  struct PlanOutcome {
    std::string error;  // empty = applied
    partition::MovePlan plan;
  };
  PlanOutcome add_node(const std::string& id);
  PlanOutcome remove_node(const std::string& id);
  PlanOutcome rebalance();
  [[nodiscard]] std::optional<partition::MovePlan> preview_add(const std::string& id) const;

  [[nodiscard]] const partition::SymbolMap& map() const noexcept { return map_; }
  [[nodiscard]] const std::vector<market::ProcessorNode>& nodes() const noexcept { return nodes_; }
  [[nodiscard]] const std::vector<NodeRuntimeStats>& node_stats() const noexcept { return node_stats_; }
  [[nodiscard]] const TickFlowStats& stats() const noexcept { return stats_; }
  // The last signals emitted (newest first), for the dashboard.
  [[nodiscard]] const Recent<market::Signal, 20>& recent_signals() const noexcept { return recent_signals_; }
  [[nodiscard]] const std::optional<partition::MovePlan>& last_plan() const noexcept { return last_plan_; }
  // Market-data history: every valid quote and every closed bar is handed to it (null = none).
  void set_history(HistorySink* sink) noexcept { history_ = sink; }
  // Hands every open bar to the history (shutdown: the bars in progress are kept too).
  void save_open_bars();
  // Bars of one symbol (closed history plus the open bar), nullopt for an unknown symbol.
  [[nodiscard]] std::optional<std::vector<market::Bar>> bars(std::string_view symbol, market::Interval i) const;
  // The bar in progress of one symbol, if any.
  [[nodiscard]] std::optional<market::Bar> open_bar(std::string_view symbol, market::Interval i) const;

 private:
  PlanOutcome apply(partition::PlanResult planned);
  void ensure_channels(market::SymbolId id);
  // Cached "has subscribers" answers, valid until any subscription changes.
  [[nodiscard]] bool subscribed(std::int8_t& cached, std::string_view channel);
  [[nodiscard]] bool quote_subscribed(market::SymbolId id);
  void publish(const market::TickOutput& out);

  const Config& config_;
  Outbox& outbox_;
  market::NodeConfig node_config_;
  partition::SymbolMap map_;
  std::vector<market::ProcessorNode> nodes_;
  std::vector<NodeRuntimeStats> node_stats_;
  // Per symbol id: channel names and the last Binance update id.
  std::vector<std::string> quote_channel_, bars_1s_channel_, bars_1m_channel_;
  std::vector<std::int8_t> quote_subscribed_;  // per symbol: -1 unknown, 0 no, 1 yes
  std::int8_t signals_subscribed_ = -1;
  std::uint64_t subscriptions_seen_ = ~std::uint64_t{0};
  std::vector<std::uint64_t> last_update_id_;
  market::TickOutput out_;
  std::optional<partition::MovePlan> last_plan_;
  TickFlowStats stats_;
  Recent<market::Signal, 20> recent_signals_;
  HistorySink* history_ = nullptr;
  RemoteNodeSink* remote_ = nullptr;
};

}  // namespace tradeshard::app

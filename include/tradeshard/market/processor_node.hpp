#pragma once
// A processing node: owns the market state of the symbols routed to it, runs its configured
// strategies on every valid quote and aggregates 1 s / 1 m bars of the mid price. A symbol's whole
// state can be exported and imported so it moves with its partition during a rebalance.
// Owned by the event-loop thread; not thread-safe.
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/core/types.hpp"
#include "tradeshard/market/bar_series.hpp"
#include "tradeshard/market/quote.hpp"
#include "tradeshard/market/strategy.hpp"

namespace tradeshard::market {

inline constexpr std::size_t max_strategies = 8;

struct NodeConfig {
  std::vector<StrategyConfig> strategies = default_strategies();
  double imbalance_alpha = 0.1;   // EWMA weight of the newest order-book imbalance
  std::size_t bar_history = 600;  // closed bars kept per interval per symbol
};

// The strategies each node slot runs (cluster mode: what a node process must run for the
// gateway's slots): `slots[i]` for configured slot i (id `ids[i]`), `fallback` for a slot the
// config does not name (a node added at run time runs every strategy).
struct NodeSlotConfigs {
  std::vector<std::string> ids;
  std::vector<NodeConfig> slots;
  NodeConfig fallback;
};

enum class NodeConfigError : std::uint8_t { ok, too_many_strategies, bad_strategy, bad_alpha, bad_history };
[[nodiscard]] std::string_view to_string(NodeConfigError e) noexcept;
[[nodiscard]] NodeConfigError validate(const NodeConfig& c) noexcept;

// Per-strategy trigger memory: positional, matching NodeConfig::strategies. Nodes are expected to
// share one strategy list; importing into a node with another list can cost one edge.
struct TriggerMemory {
  std::optional<core::Side> last_answer;
  std::optional<std::int64_t> last_emit_ms[2];  // by Side
};

struct SymbolState {
  Quote last{};
  Scaled mid = 0;
  Scaled spread = 0;
  double imbalance_ewma = 0;  // EWMA of (bid_size - ask_size) / (bid_size + ask_size)
  std::uint64_t ticks = 0;
  std::array<TriggerMemory, max_strategies> memory{};
  BarSeries bars[2];  // indexed by Interval
};

struct Signal {
  SymbolId symbol = 0;
  core::Side side = core::Side::buy;
  Scaled price = 0;
  Scaled size = 0;
  std::string_view strategy{};  // static storage (to_string(StrategyKind))
  NodeIndex node = 0;
  std::int64_t ts_ms = 0;
};

struct BarEvent {
  SymbolId symbol = 0;
  Interval interval = Interval::s1;
  Bar bar{};
};

// Reused by the caller across ticks; process() appends, the caller clears.
struct TickOutput {
  std::vector<Signal> signals{};
  std::vector<BarEvent> bars{};
  void clear() noexcept {
    signals.clear();
    bars.clear();
  }
};

class ProcessorNode {
 public:
  // config must pass validate(); an invalid one is an impossible state here (asserted).
  ProcessorNode(NodeIndex index, std::string id, NodeConfig config);

  // Whether process() would take this quote (ok) or why not, without changing anything.
  [[nodiscard]] static QuoteError admit(const Quote& quote, std::int64_t arrival_ms) noexcept;
  // Updates the symbol's state, then strategies, then bars. ts = quote.ts_ms, or arrival_ms when 0.
  // An invalid quote changes nothing and is counted in rejected().
  [[nodiscard]] QuoteError process(SymbolId symbol, const Quote& quote, std::int64_t arrival_ms,
                                   TickOutput& out);

  // Removes and returns the symbol's state (nullopt if this node never saw it).
  [[nodiscard]] std::optional<SymbolState> export_symbol(SymbolId symbol);
  // Installs a moved state, replacing any state this node had for the symbol.
  void import_symbol(SymbolId symbol, SymbolState state);

  [[nodiscard]] const SymbolState* state(SymbolId symbol) const noexcept;
  [[nodiscard]] std::vector<SymbolId> symbols() const;
  [[nodiscard]] std::size_t symbol_count() const noexcept { return states_.size(); }
  [[nodiscard]] NodeIndex index() const noexcept { return index_; }
  [[nodiscard]] const std::string& id() const noexcept { return id_; }
  [[nodiscard]] const NodeConfig& config() const noexcept { return config_; }
  [[nodiscard]] std::uint64_t ticks_processed() const noexcept { return ticks_; }
  [[nodiscard]] std::uint64_t signals_emitted() const noexcept { return signals_; }
  [[nodiscard]] std::uint64_t rejected() const noexcept { return rejected_; }
  [[nodiscard]] std::uint64_t late_ticks() const noexcept { return late_; }

 private:
  static constexpr std::uint32_t no_slot = UINT32_MAX;
  [[nodiscard]] SymbolState& slot_for(SymbolId symbol);
  [[nodiscard]] SymbolState fresh_state() const;
  void update_market(SymbolState& s, const Quote& q) const noexcept;
  void run_strategies(SymbolId symbol, SymbolState& s, const Quote& q, std::int64_t ts,
                      TickOutput& out);
  void update_bars(SymbolId symbol, SymbolState& s, std::int64_t ts, TickOutput& out);

  NodeIndex index_;
  std::string id_;
  NodeConfig config_;
  std::vector<std::uint32_t> slot_of_;  // SymbolId -> index in states_, or no_slot
  std::vector<SymbolState> states_;     // dense, swap-and-pop on export
  std::vector<SymbolId> owners_;        // states_[i] belongs to owners_[i]
  std::uint64_t ticks_ = 0;
  std::uint64_t signals_ = 0;
  std::uint64_t rejected_ = 0;
  std::uint64_t late_ = 0;
};

}  // namespace tradeshard::market

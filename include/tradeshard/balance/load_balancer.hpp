#pragma once
// Order routing decisions: which worker (execution engine) takes the next order, and how many
// live orders each worker and each (worker, symbol) pair holds. Pure and deterministic: no I/O,
// no clock, no randomness, no locks. Owned and touched by the single event-loop thread only.
//
// Guarantees:
// - route() never picks an unhealthy, draining, removed or full worker, nor one that does not
//   serve the instrument's class; on failure it names the reason and counts nothing.
// - Priority is a lane, not a place: a vip or emergency order goes to its symbol's home like any
//   other, and may use the share of each worker's capacity reserved for priority orders
//   (priority_reserve_pct); a normal order finds a worker full once only that share is left.
// - Every successful route() must be matched by exactly one release() when the order reaches a
//   terminal state; loads never go negative (a bad release is refused, not applied).
// - Every strategy keeps a symbol on the worker that holds its live orders (its home):
//   it never splits a symbol's book. The strategy decides where a symbol without live orders goes:
//   round_robin the next eligible worker, least_connections the fewest live orders,
//   weighted_capacity the lowest load / capacity, lowest_latency the lowest EWMA, hash the
//   consistent hash ring, optionally with bounded load (hash_balance_factor).
// - route() allocates only when an internal table doubles (amortised); release() never does.
#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/balance/hash_ring.hpp"
#include "tradeshard/balance/live_count_table.hpp"
#include "tradeshard/balance/rebalance.hpp"
#include "tradeshard/balance/strategy.hpp"
#include "tradeshard/balance/worker.hpp"
#include "tradeshard/core/types.hpp"

namespace tradeshard::balance {

struct Config {
  Strategy strategy = Strategy::least_connections;
  double hash_balance_factor = 0.0;     // 0 = off, else >= 1.0 (e.g. 1.25)
  // Virtual points per worker on the ring, 1..4096. 2048 rather than the usual 160: a worker's
  // arc share has a relative spread of about 1/sqrt(points), and the 3 -> 4 movement target
  // (<= 1.05 x K/4) needs that spread near 2% (docs/balancer.md).
  std::uint32_t points_per_worker = 2048;
  double latency_alpha = 0.2;           // EWMA weight of a new latency sample, (0, 1]
  // Share of each worker's capacity only vip and emergency orders may use, 0..50 %.
  std::uint32_t priority_reserve_pct = 10;
};

enum class ConfigError : std::uint8_t { ok, bad_balance_factor, bad_points, bad_latency_alpha, bad_reserve };
[[nodiscard]] std::string_view to_string(ConfigError e) noexcept;
[[nodiscard]] ConfigError validate(const Config& config) noexcept;

// symbol_draining: the symbol's live orders sit on a draining or removed worker; sending it
// elsewhere would split its book, so the order is refused until they finish.
enum class RouteError : std::uint8_t { ok, no_capacity, no_healthy_worker, no_worker_for_class, symbol_draining };
[[nodiscard]] std::string_view to_string(RouteError e) noexcept;

struct RouteRequest {
  std::string_view symbol;           // for the caller's logs; placement uses symbol_hash
  std::uint64_t symbol_hash = 0;     // core::stable_hash(symbol), computed once by the caller
  std::string_view instrument_class; // Instrument::cls
  core::Priority priority = core::Priority::normal;  // the lane; vip and emergency may use the reserve
};

struct RouteResult {
  WorkerId worker;
  RouteError error = RouteError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == RouteError::ok; }
};

enum class ManageError : std::uint8_t { ok, unknown_worker, duplicate_id, invalid_spec, too_many_classes, bad_value, not_routed };
[[nodiscard]] std::string_view to_string(ManageError e) noexcept;

struct AddResult {
  WorkerId worker;
  ManageError error = ManageError::ok;
};

struct RemoveResult {
  WorkerId worker;
  ManageError error = ManageError::ok;
  std::uint32_t live_orders = 0;  // still counted on the removed slot until released
};

struct BalancerStats {
  Strategy strategy = Strategy::round_robin;
  std::uint32_t workers = 0;          // not removed
  std::uint32_t routable_workers = 0; // healthy and not draining
  std::uint64_t total_capacity = 0;   // of workers not removed
  std::uint64_t total_load = 0;       // every live order, removed slots included
  double utilization_pct = 0.0;
  std::uint64_t orders_routed = 0;
  std::uint64_t orders_released = 0;
  std::array<std::uint64_t, 5> rejects{};  // indexed by RouteError; [ok] stays 0
  double imbalance = 0.0;             // max load / mean load over workers not removed; 0 if idle
  std::size_t live_symbols = 0;       // symbols with live orders (each has one home)
};

class LoadBalancer {
 public:
  explicit LoadBalancer(Config config = {});  // invalid fields fall back to defaults; validate() first

  // Hot path. Counts one live order on the chosen worker and its (worker, symbol) pair.
  [[nodiscard]] RouteResult route(const RouteRequest& request);
  // The order routed to `worker` for `symbol_hash` reached a terminal state.
  ManageError release(WorkerId worker, std::uint64_t symbol_hash) noexcept;
  // One measured handling time (queue wait + processing), folded into the worker's EWMA.
  ManageError record_latency(WorkerId worker, double latency_us) noexcept;

  // Live management (admin path; may allocate).
  [[nodiscard]] AddResult add_worker(WorkerSpec spec);
  // Start-up batch: same checks per spec, but the ring is merged once (128 x 2048 points: one
  // merge instead of 128). Results are in spec order.
  [[nodiscard]] std::vector<AddResult> add_workers(std::vector<WorkerSpec> specs);
  ManageError drain(std::string_view id);
  ManageError set_healthy(std::string_view id, bool healthy);
  [[nodiscard]] bool is_drained(std::string_view id) const;
  RemoveResult remove(std::string_view id);
  // Changes where symbols without live orders go; a symbol with live orders stays on its home.
  void set_strategy(Strategy strategy) noexcept;
  // Where the strategy would place this symbol now (a routable worker with room serving its
  // class), without counting anything: the target of a book move.
  [[nodiscard]] std::optional<WorkerId> place(const RouteRequest& request);
  // The symbol's live orders on `from` now live on `to` (its book moved): their count, the
  // workers' loads and the symbol's home follow. `to` must differ from `from` (bad_value) and not
  // be removed (unknown_worker); not_routed when `from` holds none. May take `to`
  // past its capacity (a move is never refused for that; new orders are).
  ManageError move_symbol(std::uint64_t symbol_hash, WorkerId from, WorkerId to);
  ManageError set_hash_balance_factor(double factor) noexcept;
  // Which books to move so the busiest routable worker comes down to options.target() x the mean
  // (rebalance.hpp). `loads` are per symbol; only symbols with live orders on a routable worker
  // have a book to move, and only their load counts. Plans only: the caller moves the books and
  // calls move_symbol() for each.
  [[nodiscard]] RebalancePlan plan_rebalance(std::span<const SymbolLoad> loads, const RebalanceOptions& options) const;

  // Lookups and views.
  [[nodiscard]] std::optional<WorkerId> find(std::string_view id) const;
  [[nodiscard]] std::optional<WorkerView> worker(WorkerId worker) const;
  [[nodiscard]] std::vector<WorkerView> workers() const;  // add order; removed ones while loaded
  [[nodiscard]] BalancerStats stats() const;
  [[nodiscard]] Strategy strategy() const noexcept { return config_.strategy; }
  [[nodiscard]] const Config& config() const noexcept { return config_; }
  [[nodiscard]] std::uint32_t live_orders(WorkerId worker, std::uint64_t symbol_hash) const noexcept;
  // Visits every symbol with live orders and its home: f(symbol_hash, WorkerId).
  template <typename F>
  void for_each_home(F f) const {
    symbols_.for_each([&](const LiveCountTable::Entry& e) { f(e.key.symbol, WorkerId{e.home}); });
  }
  // The worker holding the symbol's live orders (its book), if it has any.
  [[nodiscard]] std::optional<WorkerId> home(std::uint64_t symbol_hash) const noexcept {
    const LiveCountTable::Entry* e = symbols_.find({symbol_hash, 0});
    return e == nullptr ? std::nullopt : std::optional<WorkerId>(WorkerId{e->home});
  }

 private:
  // Hot per-worker state only (40 bytes): scans over many workers stay in a few cache lines.
  struct Slot {
    std::uint64_t class_mask = 0;  // bit per interned class; all ones = serves every class
    std::uint32_t capacity = 0;
    std::uint32_t load = 0;
    std::uint32_t normal_limit = 0;  // capacity minus the priority reserve
    bool healthy = true;
    bool draining = false;
    bool removed = false;
    double latency_us = 0.0;
    std::uint64_t routed = 0;
    [[nodiscard]] bool routable() const noexcept { return healthy && !draining && !removed; }
    [[nodiscard]] bool has_room() const noexcept { return load < capacity; }
    [[nodiscard]] bool has_room(bool priority) const noexcept { return load < (priority ? capacity : normal_limit); }
  };
  struct Eligibility {
    std::uint64_t class_bit;
    bool priority;  // may use the reserve
  };
  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };

  [[nodiscard]] std::optional<std::uint32_t> place_new(std::uint64_t symbol_hash, Eligibility want);
  [[nodiscard]] std::optional<std::uint32_t> pick(Eligibility want);
  template <typename Key>
  [[nodiscard]] std::optional<std::uint32_t> pick_min(Eligibility want, Key key) const;
  [[nodiscard]] std::optional<std::uint32_t> pick_weighted(Eligibility want) const;
  [[nodiscard]] std::optional<std::uint32_t> pick_latency(Eligibility want) const;
  [[nodiscard]] std::optional<std::uint32_t> pick_round_robin(Eligibility want);
  [[nodiscard]] std::optional<std::uint32_t> pick_on_ring(std::uint64_t symbol_hash, Eligibility want) const;
  [[nodiscard]] RouteError sticky_error(const Slot& home) const noexcept;
  [[nodiscard]] RouteError diagnose(Eligibility want) const noexcept;
  [[nodiscard]] bool eligible(const Slot& s, Eligibility want) const noexcept {
    return (s.class_mask & want.class_bit) != 0 && s.routable() && s.has_room(want.priority);
  }
  [[nodiscard]] std::uint64_t class_bit(std::string_view instrument_class) const noexcept;
  void commit(std::uint32_t slot, std::uint64_t symbol_hash, LiveCountTable::Entry* symbol_entry);
  [[nodiscard]] Slot* slot_of(WorkerId worker) noexcept;
  [[nodiscard]] const Slot* slot_of(std::string_view id) const;
  [[nodiscard]] Slot* slot_of(std::string_view id);
  [[nodiscard]] WorkerView view_of(std::uint32_t slot) const;
  [[nodiscard]] AddResult add_slot(WorkerSpec&& spec);  // everything but the ring

  Config config_;
  std::vector<Slot> slots_;           // index = WorkerId::value, never reused
  std::vector<WorkerSpec> specs_;     // cold config per slot, same index
  std::vector<std::uint32_t> active_; // slots not removed, in add order
  std::unordered_map<std::string, std::uint32_t, StringHash, std::equal_to<>> by_id_;
  std::vector<std::string> classes_;  // interned instrument classes: index = bit
  HashRing ring_;
  LiveCountTable pairs_;              // (symbol, worker slot) -> live orders
  LiveCountTable symbols_;            // (symbol, 0) -> live orders, home = worker slot
  std::size_t rr_cursor_ = 0;         // index into active_
  std::uint64_t routed_ = 0;
  std::uint64_t released_ = 0;
  std::array<std::uint64_t, 5> rejects_{};
};

}  // namespace tradeshard::balance

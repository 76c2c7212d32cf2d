#pragma once
// The order path's front: accounts and client ids <-> order keys, validation (fixed point, tick
// and lot), and routing (the load balancer picks the worker). Where an order then executes is
// the Venue's business; what it reports comes back here (VenueSink) to keep the ids and the
// balancer's accounting right, and goes on to the TradeEmitter, which commits trades to the
// ledger and tells the clients. Standard library only; loop thread only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/config.hpp"
#include "tradeshard/app/histogram.hpp"
#include "tradeshard/app/messages.hpp"
#include "tradeshard/app/outbox.hpp"
#include "tradeshard/app/trade_emitter.hpp"
#include "tradeshard/app/venue.hpp"
#include "tradeshard/balance/load_balancer.hpp"
#include "tradeshard/book/order.hpp"

namespace tradeshard::app {

struct OrderFlowStats {
  std::uint64_t orders_in = 0;
  std::uint64_t books_moved = 0;  // live book migrations (admin moves, drains, rebalances)
  std::uint64_t rebalances = 0;   // runs that moved at least one book (trigger, on demand, worker added)
  std::uint64_t rebalance_moves = 0;
  std::uint64_t priority_refused = 0;  // vip/emergency claims refused (priority_not_allowed)
  LatencyHistogram order_to_ack;  // receive -> ack, ns
};

// Which priority lanes a connection's credentials allow (auth on: its API key's `priorities`;
// auth off: both). The account must also be listed in balancer.vip_accounts / emergency_accounts.
struct PriorityGrant {
  bool vip = true;
  bool emergency = true;
};

// One rebalance run: the imbalance (busiest worker's book load / mean) before and after, and
// the books it moved.
struct RebalanceReport {
  struct Move {
    std::string_view symbol, from, to;
    double load = 0.0;
    std::size_t orders = 0;
  };
  double mean = 0.0, before = 0.0, after = 0.0;
  std::vector<Move> moves;
};

class OrderFlow final : public VenueSink {
 public:
  // Every reference must outlive the flow; ledger may be null (no ledger: orders always admitted).
  OrderFlow(const Config& config, const core::InstrumentTable& instruments, Outbox& outbox, Venue& venue,
            TradeEmitter& emitter, const TradeLedger* ledger);

  void on_order(std::uint64_t conn, std::string_view account, const OrderCmd& cmd, Now now, PriorityGrant grant = {});
  void on_cancel(std::uint64_t conn, std::string_view account, const CancelCmd& cmd);
  void on_replace(std::uint64_t conn, std::string_view account, const ReplaceCmd& cmd);
  void on_cancel_all(std::uint64_t conn, std::string_view account, const CancelAllCmd& cmd);
  // The connection went away: cancel its live orders when configured, forget the connection.
  void on_disconnect(std::uint64_t conn);

  // VenueSink.
  void on_events(std::uint32_t worker, std::span<const book::Event> events, Now now) override;
  void on_refused(const OrderRef& order, VenueOp op, book::RejectReason reason, std::uint64_t reply_to) override;

  // Live management (admin). Empty string = ok, else the error text.
  std::string add_worker(const WorkerConfig& w);
  std::string drain_worker(std::string_view id);
  std::string remove_worker(std::string_view id);
  std::string set_worker_health(std::string_view id, bool healthy);
  std::string set_strategy(std::string_view name);
  // Moves a symbol's book (resting and queued orders) to another worker, live. Error text
  // (unknown_symbol, unknown_worker, no_live_orders, book_split, worker_not_routable, the venue's
  // reason) or empty; `moved` is how many live orders went.
  std::string move_book(std::string_view symbol, std::string_view to, std::size_t& moved);
  // Per-symbol load: folds the work counted since the last call (orders, cancels, replaces and
  // fills of each symbol) into a per-second EWMA, then runs a rebalance when the trigger says so
  // (balancer.rebalance); returns its report then. now_ms is a monotonic clock.
  std::optional<RebalanceReport> sample_load(std::int64_t now_ms, std::int64_t elapsed_ms);
  // Plans and moves now, whatever the trigger (POST /admin/balancer/rebalance; a worker added).
  RebalanceReport rebalance(std::int64_t now_ms);

  // Views.
  [[nodiscard]] const balance::LoadBalancer& balancer() const noexcept { return balancer_; }
  [[nodiscard]] const OrderFlowStats& stats() const noexcept { return stats_; }
  [[nodiscard]] std::size_t live_orders() const noexcept { return orders_.size(); }
  struct OpenOrder {
    std::string id, symbol, worker;
    core::Side side;
    core::Ticks price;
    core::Lots qty, leaves;
    bool queued;
  };
  [[nodiscard]] std::vector<OpenOrder> open_orders(std::string_view account) const;
  // Per worker slot, the symbols it holds live orders of (sorted).
  [[nodiscard]] std::vector<std::vector<std::string_view>> symbols_by_worker() const;
  // The worker slot holding the instrument's book (its live orders), if any.
  [[nodiscard]] std::optional<std::uint32_t> home_of(core::InstrumentId instrument) const {
    const auto h = balancer_.home(symbol_hash_.at(instrument));
    return h ? std::optional<std::uint32_t>(h->value) : std::nullopt;
  }
  // Per worker slot, the summed load (per second) of the books it holds.
  [[nodiscard]] std::vector<double> load_by_worker() const;
  [[nodiscard]] double symbol_load(core::InstrumentId instrument) const { return load_rate_.at(instrument); }

 private:
  struct Record {
    std::string client_id;
    std::uint64_t conn = 0;  // 0 once the connection is gone
    std::uint32_t worker = 0;
    bool queued = true;  // until the venue's first event of it (accepted or rejected)
    book::NewOrder order;  // price and qty follow replaces
    core::Lots leaves = 0;
    std::string_view done_reason;  // set when cancelled on the owner's behalf (worker_removed)
    std::int64_t received_ns = 0;
  };
  struct Account {
    std::string name;
    std::unordered_map<std::string, book::OrderKey> live;  // client id -> key
    bool vip = false;        // in balancer.vip_accounts
    bool emergency = false;  // in balancer.emergency_accounts
  };
  struct WorkerSlot {
    std::string name;
    balance::WorkerId id;
    bool draining = false;  // removed automatically when its last live order ends
    std::int64_t draining_since_ms = 0;
    bool removed = false;
  };

  book::AccountId account_id(std::string_view name);
  // 0 when there is no such live order; kAmbiguous when the connection has live orders of that
  // client id for several accounts and the command named none.
  static constexpr book::OrderKey kAmbiguous = ~book::OrderKey{0};
  [[nodiscard]] book::OrderKey find_order(std::uint64_t conn, std::string_view account, std::string_view id) const;
  // Rejects (unknown_order / ambiguous_id) and returns false when find_order found no one order.
  bool found(std::uint64_t conn, std::string_view id, book::OrderKey key);
  void reject(std::uint64_t conn, std::string_view id, std::string_view reason, std::string_view message);
  [[nodiscard]] OrderRef ref(book::OrderKey key, const Record& r) const noexcept {
    return {r.worker, r.order.account, key};
  }
  void finish(book::OrderKey key);  // terminal: release capacity, forget ids
  void retire_if_drained(std::uint32_t worker);
  void move_books_off(std::uint32_t worker);
  // Draining workers: books that can go somewhere now move; past balancer.drain_timeout_ms what is
  // left is cancelled (done:"drain_timeout") and the worker leaves.
  void sweep_draining(std::int64_t now_ms);
  // Cancels every live order on the worker on its owners' behalf with this done reason.
  void cancel_on(std::uint32_t worker, std::string_view reason);
  // Moves the instrument's live orders to worker `to`; see move_book().
  std::string move_instrument(core::InstrumentId instrument, std::uint32_t to, std::size_t& moved);
  void retire(std::uint32_t worker);
  // The lane an order rides, or why it may not claim the one it asked for (empty = ok).
  [[nodiscard]] std::string_view lane_of(const Account& acct, core::Priority asked, PriorityGrant grant,
                                         core::Priority& lane) const;

  const Config& config_;
  const core::InstrumentTable& instruments_;
  Outbox& outbox_;
  Venue& venue_;
  TradeEmitter& emitter_;
  const TradeLedger* ledger_;
  balance::LoadBalancer balancer_;
  std::vector<WorkerSlot> workers_;  // by balancer slot
  std::vector<std::uint64_t> symbol_hash_;  // per instrument
  std::unordered_map<std::uint64_t, core::InstrumentId> instrument_by_hash_;
  std::vector<std::uint64_t> work_;      // per instrument: orders, cancels, replaces, fills since the last sample
  std::vector<double> load_rate_;        // per instrument: EWMA of work per second
  balance::RebalanceTrigger trigger_;
  std::int64_t last_sample_ms_ = 0;
  [[nodiscard]] std::vector<balance::SymbolLoad> symbol_loads() const;
  std::unordered_map<book::OrderKey, Record> orders_;
  std::vector<Account> accounts_;
  std::unordered_map<std::string, book::AccountId> account_ids_;
  // Per connection, its live orders by client id. A multimap: one connection may trade for several
  // accounts (auth off), and two accounts may use the same client id.
  using ConnOrders = std::unordered_multimap<std::string, book::OrderKey>;
  std::unordered_map<std::uint64_t, ConnOrders> conn_orders_;
  static void forget(ConnOrders& orders, const std::string& id, book::OrderKey key);
  book::OrderKey next_key_ = 0;
  OrderFlowStats stats_;
};

}  // namespace tradeshard::app

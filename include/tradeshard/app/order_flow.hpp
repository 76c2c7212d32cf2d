#pragma once
// The order path: accounts and client ids <-> engine keys, the load balancer, one bounded input
// queue and one matching engine per worker, and engine events -> wire messages (after the
// ledger committed each trade). Standard library only; loop thread only.
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/config.hpp"
#include "tradeshard/app/histogram.hpp"
#include "tradeshard/app/messages.hpp"
#include "tradeshard/app/outbox.hpp"
#include "tradeshard/balance/load_balancer.hpp"
#include "tradeshard/book/matching_engine.hpp"

namespace tradeshard::app {

struct WorkerRuntime {
  std::string name;
  balance::WorkerId id;
  std::unique_ptr<book::MatchingEngine> engine;
  std::deque<book::OrderKey> queue;  // emergency orders enter at the front
  std::uint32_t queue_capacity = 0;
  bool draining = false;  // removed automatically when its last live order ends
  bool removed = false;
};

struct OrderFlowStats {
  std::uint64_t orders_in = 0, acks = 0, fills = 0, trades = 0, volume_lots = 0, done = 0;
  std::uint64_t queued_peak = 0;
  std::uint64_t held_events = 0;  // fills waiting for ledger quorum
  LatencyHistogram order_to_ack;  // receive -> ack, ns
};

class OrderFlow {
 public:
  OrderFlow(const Config& config, const core::InstrumentTable& instruments, Outbox& outbox, TradeLedger* ledger);

  void on_order(std::uint64_t conn, std::string_view account, const OrderCmd& cmd, Now now);
  void on_cancel(std::uint64_t conn, std::string_view account, const CancelCmd& cmd);
  void on_replace(std::uint64_t conn, std::string_view account, const ReplaceCmd& cmd);
  void on_cancel_all(std::uint64_t conn, std::string_view account, const CancelAllCmd& cmd);
  // The connection went away: cancel its live orders when configured, forget the connection.
  void on_disconnect(std::uint64_t conn);
  // Drains worker queues (batch_size per worker per call); true while work remains.
  bool pump(Now now);
  [[nodiscard]] bool has_queued() const noexcept { return queued_ > 0; }
  // Re-proposes trades held while the ledger had no quorum; true when nothing is held any more.
  bool retry_held() { return held_.empty() || flush_held(); }

  // Live management (admin). Empty string = ok, else the error text.
  std::string add_worker(const WorkerConfig& w);
  std::string drain_worker(std::string_view id);
  std::string remove_worker(std::string_view id);
  std::string set_worker_health(std::string_view id, bool healthy);
  std::string set_strategy(std::string_view name);

  // Views.
  [[nodiscard]] const balance::LoadBalancer& balancer() const noexcept { return balancer_; }
  [[nodiscard]] const std::vector<WorkerRuntime>& workers() const noexcept { return workers_; }
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
  // One instrument's book on every worker that has orders in it, best levels first (app-layer
  // types: the edge never reaches an engine).
  struct WorkerDepth {
    std::string_view worker;
    std::vector<DepthLevel> bids, asks;
  };
  [[nodiscard]] std::vector<WorkerDepth> depth(core::InstrumentId instrument, std::size_t levels) const;
  struct WorkerBook {
    std::string_view worker;
    std::uint64_t orders_received = 0, trades = 0, volume_lots = 0, resting_orders = 0, queued = 0;
  };
  [[nodiscard]] std::vector<WorkerBook> books() const;

 private:
  struct Record {
    std::string client_id;
    std::uint64_t conn = 0;  // 0 once the connection is gone
    std::uint32_t worker = 0;
    bool queued = true;
    bool emergency = false;
    book::NewOrder order;
    std::int64_t received_ns = 0;
  };
  struct Account {
    std::string name;
    std::unordered_map<std::string, book::OrderKey> live;  // client id -> key
    bool vip = false;
  };
  struct Held {  // an engine event waiting for the ledger, with what emitting it needs
    book::Event ev;
    std::uint64_t conn;
    std::string client_id;
    std::uint32_t worker;
    book::AccountId maker_account;  // taker fills: the other side of the trade
  };

  book::AccountId account_id(std::string_view name);
  [[nodiscard]] book::OrderKey find_order(std::uint64_t conn, std::string_view account, std::string_view id) const;
  void reject(std::uint64_t conn, std::string_view id, std::string_view reason, std::string_view message);
  void process(WorkerRuntime& w, book::OrderKey key, Now now);
  void dispatch(std::uint32_t worker, const book::EventBuffer& events, Now now, std::string_view done_reason = {});
  void emit(const book::Event& ev, std::uint64_t conn, std::string_view client_id, std::uint32_t worker,
            std::string_view done_reason);
  void finish(book::OrderKey key);  // terminal: release capacity, forget ids
  void retire_if_drained(std::uint32_t worker);
  void cancel_queued(book::OrderKey key, std::string_view reason);
  // Cancels a queued or resting order; its owner gets done with `reason`.
  void cancel_order(book::OrderKey key, std::string_view reason);
  bool flush_held();
  bool commit_trade(const book::Event& taker_fill, book::AccountId maker_account);
  [[nodiscard]] std::uint32_t worker_index(balance::WorkerId id) const;
  void publish_depth();

  const Config& config_;
  const core::InstrumentTable& instruments_;
  Outbox& outbox_;
  TradeLedger* ledger_;
  balance::LoadBalancer balancer_;
  std::vector<WorkerRuntime> workers_;
  std::vector<std::uint64_t> symbol_hash_;  // per instrument
  std::vector<std::string> trades_channel_, depth_channel_;  // per instrument
  std::uint64_t trade_seq_ = 0;
  std::unordered_map<book::OrderKey, Record> orders_;
  std::vector<Account> accounts_;
  std::unordered_map<std::string, book::AccountId> account_ids_;
  std::unordered_map<std::uint64_t, std::unordered_map<std::string, book::OrderKey>> conn_orders_;
  std::deque<Held> held_;
  std::unordered_set<std::uint64_t> dirty_depth_;  // (worker << 32 | instrument) touched since last publish
  book::EventBuffer events_;
  book::OrderKey next_key_ = 0;
  std::size_t queued_ = 0;
  std::size_t pump_cursor_ = 0;
  OrderFlowStats stats_;
};

}  // namespace tradeshard::app

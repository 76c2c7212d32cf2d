#pragma once
// Engine events -> the ledger -> clients. For each event of a known order: a taker fill commits
// its trade to the ledger first (both fills of one trade get one daemon-wide trade id); then the
// owner is told (ack, reject, fill, replaced, done) and the trades channel hears of the trade.
// While the ledger refuses (no quorum), events are held, in order, and re-offered by
// retry_held(): nobody hears of a fill the ledger has not taken. Depth changes are collected and
// published once per delivery, by release(), which the Gateway calls at its one release point,
// just before the ledger's log write. Standard library only; loop thread only.
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/history_sink.hpp"
#include "tradeshard/app/outbox.hpp"
#include "tradeshard/app/recent.hpp"
#include "tradeshard/app/venue.hpp"
#include "tradeshard/core/instrument.hpp"

namespace tradeshard::app {

struct EmitterStats {
  std::uint64_t acks = 0, fills = 0, trades = 0, volume_lots = 0, done = 0;
  std::uint64_t held_events = 0;  // events waiting for the ledger
  std::uint64_t unpaired_fills = 0;  // maker fills not right after their taker's (trade id 0); never expected
};

// Who hears of one event, and what the ledger needs of it.
struct Recipient {
  std::uint64_t conn = 0;          // 0: nobody any more (the connection is gone)
  std::string_view client_id;
  std::string_view account;        // the order's owner
  std::string_view counterparty;   // taker fills: the maker's account
  std::string_view done_reason;    // when set, replaces the engine's reason on done
};

class TradeEmitter {
 public:
  // The table and the venue (for depth) must outlive the emitter; ledger may be null (no ledger).
  TradeEmitter(const core::InstrumentTable& instruments, Outbox& outbox, TradeLedger* ledger, const Venue& venue);

  void on_event(std::uint32_t worker, std::string_view worker_name, const book::Event& event, const Recipient& to);
  // Market-data history: every trade is handed to it once, with its taker's fill (null = none).
  void set_history(HistorySink* sink) noexcept { history_ = sink; }
  // The wall clock of the events that follow (trade times in the history).
  void set_time(std::int64_t wall_ms) noexcept { wall_ms_ = wall_ms; }
  // Re-offers held events to the ledger; true when nothing is held any more.
  bool retry_held();
  // Publishes the depth of every book touched since the last call (to depth:SYM subscribers).
  void release();

  [[nodiscard]] const EmitterStats& stats() const noexcept { return stats_; }
  // The last trades committed (newest first), for the dashboard.
  struct RecentTrade {
    core::InstrumentId instrument = 0;
    std::uint64_t trade_id = 0;
    core::Side aggressor = core::Side::buy;
    core::Ticks price = 0;
    core::Lots qty = 0;
  };
  [[nodiscard]] const Recent<RecentTrade, 20>& recent_trades() const noexcept { return recent_trades_; }

 private:
  struct Held {  // an event waiting for the ledger (its engine's trade id), with what telling it needs
    book::Event ev;
    std::uint32_t worker;
    std::uint64_t conn;
    std::string worker_name, client_id, account, counterparty, done_reason;
  };
  // The trade's ledger version (its daemon-wide id), or 0 when the ledger refused it.
  [[nodiscard]] std::uint64_t commit(const book::Event& taker_fill, std::string_view account, std::string_view counterparty);
  // A fill's engine trade id becomes the daemon's: the taker's (first of the pair) takes
  // `committed`, the maker's that follows it the same.
  void number(book::Event& ev, std::uint32_t worker, std::uint64_t committed);
  void tell(const book::Event& ev, std::string_view worker_name, std::uint64_t conn, std::string_view client_id,
            std::string_view done_reason);
  void refresh_subscriptions();

  const core::InstrumentTable& instruments_;
  Outbox& outbox_;
  TradeLedger* ledger_;
  const Venue& venue_;
  std::vector<std::string> trades_channel_, depth_channel_;  // per instrument
  // Per instrument: has the channel subscribers? Refreshed when any subscription changes.
  std::vector<std::uint8_t> trades_subscribed_, depth_subscribed_;
  std::uint64_t subscriptions_version_ = ~std::uint64_t{0};
  std::uint32_t last_worker_ = 0;
  std::uint64_t last_engine_trade_ = 0, last_trade_id_ = 0, trade_seq_ = 0;  // trade_seq_: without a ledger
  std::deque<Held> held_;
  std::unordered_set<std::uint64_t> dirty_depth_;  // (worker << 32 | instrument)
  std::vector<DepthLevel> bids_, asks_;
  EmitterStats stats_;
  Recent<RecentTrade, 20> recent_trades_;
  HistorySink* history_ = nullptr;
  std::int64_t wall_ms_ = 0;
  std::vector<std::int64_t> md_factor_;  // per instrument: market-data units per tick / per lot (0 = not exact)
  std::vector<std::int64_t> md_lot_;
};

}  // namespace tradeshard::app

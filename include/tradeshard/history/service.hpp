#pragma once
// The history's threads (docs/history.md, "Threads"). The loop appends rows to a buffer it alone
// owns (HistorySink) and hands it over every few milliseconds to a bounded queue; a storage
// thread drains the queue in batches (at least every history.flush_ms) into the Store and runs
// its upkeep; a query thread runs queries once every row handed over before them is written.
// Neither thread ever blocks the loop: the queue's mutex is held to swap a batch in or out,
// and a full queue drops or conflates (history.on_full), counted.
//
// This is the edge: threads, a mutex and condition variables live here and nowhere in the
// domain. Results reach the loop through `post`, which the composition root binds to the loop.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tradeshard/app/config.hpp"
#include "tradeshard/app/history_sink.hpp"
#include "tradeshard/history/store.hpp"

namespace tradeshard::history {

struct ServiceStats {
  // Loop side (read on the loop).
  std::uint64_t rows_in = 0;        // rows offered by the loop
  std::uint64_t dropped_quotes = 0, dropped_trades = 0, dropped_bars = 0;  // queue full
  std::uint64_t conflated = 0;      // quotes replaced by a later one of their symbol (queue full)
  std::uint64_t queries = 0, queries_refused = 0;
  // Storage side (copied under the queue mutex).
  std::uint64_t queued_rows = 0;
  std::uint64_t written_rows = 0, batches = 0, late = 0, reordered = 0;
  std::uint64_t write_errors = 0, lost_rows = 0;  // rows a failed write took with it
  std::uint64_t max_batch_rows = 0;
  double max_write_ms = 0;
  std::string error;  // the last write or upkeep error while it lasts (empty = healthy)
};

class HistoryService final : public app::HistorySink {
 public:
  using Post = std::function<void(std::function<void()>)>;
  // Opens the store (throws std::runtime_error when it cannot) and starts both threads.
  HistoryService(const app::HistoryConfig& config, Post post);
  ~HistoryService() override;
  HistoryService(const HistoryService&) = delete;
  HistoryService& operator=(const HistoryService&) = delete;

  // --- loop thread ---
  void quote(market::SymbolId id, std::string_view symbol, const QuoteRow& row) override;
  void bar(market::SymbolId id, std::string_view symbol, market::Interval interval, const market::Bar& bar,
           bool partial) override;
  void trade(core::InstrumentId id, std::string_view symbol, const TradeRow& row) override;
  // Moves what the loop collected into the queue (a timer calls it every few ms; queries too).
  void handoff();
  // Runs `job` on the query thread once every row handed over so far is written (or after a
  // second, if the storage thread is stuck); what it returns then runs on the loop (post).
  // False (nothing queued) when 64 queries already wait: the caller answers 503.
  using Continuation = std::function<void()>;
  bool query(std::function<Continuation(const Store&)> job);
  // Restores an archived partition on the query thread; `done` gets "" or the reason, on the loop.
  bool restore(std::int64_t start, std::function<void(std::string)> done);
  [[nodiscard]] ServiceStats stats() const;
  [[nodiscard]] const app::HistoryConfig& config() const noexcept { return config_; }
  // Whether the store has rows of this symbol (a query for it is not a 404).
  [[nodiscard]] bool knows_symbol(std::string_view symbol) const { return store_->knows_symbol(symbol); }

  // --- after the loop stopped ---
  // Drains the queue (at most `budget_ms`, then what is left is counted lost), syncs, stops the
  // threads. Idempotent.
  void stop(std::int64_t budget_ms = 1'500);

 private:
  struct Batch {
    std::vector<std::string> names;  // symbols new since the last batch, indexes continue
    std::vector<std::pair<std::uint32_t, QuoteRow>> quotes;
    std::vector<std::pair<std::uint32_t, TradeRow>> trades;
    struct BarRow {
      std::uint32_t symbol;
      market::Interval interval;
      market::Bar bar;
      bool partial;
    };
    std::vector<BarRow> bars;
    [[nodiscard]] std::size_t rows() const noexcept { return quotes.size() + trades.size() + bars.size(); }
    void clear() noexcept {
      names.clear();
      quotes.clear();
      trades.clear();
      bars.clear();
    }
  };
  struct Job {
    std::uint64_t after = 0;  // written_ must reach this first
    std::function<void()> run;
  };
  std::uint32_t intern(std::vector<std::uint32_t>& cache, std::uint32_t id, std::string_view symbol);
  void storage_main();
  void query_main();
  void write(std::vector<Batch>& batches);

  app::HistoryConfig config_;
  Post post_;
  std::unique_ptr<Store> store_;

  // Loop thread only.
  Batch pending_;
  std::vector<std::uint32_t> quote_symbol_, trade_symbol_;  // caller id -> name index (+1; 0 = none)
  std::unordered_map<std::string, std::uint32_t> index_of_;
  std::vector<std::string> names_;
  std::size_t names_sent_ = 0;
  std::unordered_map<std::uint32_t, QuoteRow> conflated_;  // on_full = conflate: latest quote per symbol
  ServiceStats loop_stats_;
  std::uint64_t handed_ = 0;  // batches handed over

  // Shared: guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable wake_storage_, written_cv_, wake_query_;
  std::deque<Batch> queue_;
  std::vector<Batch> spare_;  // written batches, emptied, their capacity kept for the next hand-offs
  std::deque<Job> jobs_;
  std::uint64_t queued_rows_ = 0, enqueued_ = 0, written_ = 0;
  ServiceStats storage_stats_;
  bool stopping_ = false;
  std::int64_t stop_deadline_ms_ = 0;

  // Storage thread only (stop() reads it after the join).
  std::vector<std::string> storage_names_;
  bool broken_ = false;  // a write failed: nothing more is written to this store (see Store::abandon)

  std::thread storage_, queries_;
};

}  // namespace tradeshard::history

#include "tradeshard/history/service.hpp"

#include <spdlog/spdlog.h>

#include <sys/statvfs.h>

#include <chrono>

namespace tradeshard::history {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr std::size_t max_waiting_queries = 64;
constexpr std::size_t handoff_rows = 4'096;  // the loop hands over early past this many rows

StoreOptions store_options(const app::HistoryConfig& c) {
  StoreOptions o;
  o.dir = c.dir;
  o.archive_dir = c.archive_dir;
  o.window_ms = static_cast<std::int64_t>(c.partition_ms);
  o.archive_after_ms = static_cast<std::int64_t>(c.archive_after_ms);
  o.retention_ms = static_cast<std::int64_t>(c.retention_ms);
  o.restore_keep_ms = static_cast<std::int64_t>(c.restore_keep_ms);
  return o;
}

// Free bytes for unprivileged writers on the file system holding dir; max when unknown.
std::uint64_t free_bytes(const std::string& dir) {
  struct statvfs v {};
  if (::statvfs(dir.c_str(), &v) != 0) return UINT64_MAX;
  return static_cast<std::uint64_t>(v.f_bavail) * v.f_frsize;
}

std::shared_ptr<spdlog::logger> logger() {
  auto log = spdlog::get("history");
  return log ? log : spdlog::default_logger();
}

}  // namespace

HistoryService::HistoryService(const app::HistoryConfig& config, Post post)
    : config_(config), post_(std::move(post)), store_(std::make_unique<Store>(store_options(config))) {
  pending_.quotes.reserve(handoff_rows);
  storage_ = std::thread([this] { storage_main(); });
  queries_ = std::thread([this] { query_main(); });
  const auto parts = store_->partitions();
  logger()->info("history: {} ({} partitions of {} ms), archive {}", config_.dir, parts.size(), config_.partition_ms,
                 config_.archive_dir);
}

HistoryService::~HistoryService() { stop(0); }

std::uint32_t HistoryService::intern(std::vector<std::uint32_t>& cache, std::uint32_t id, std::string_view symbol) {
  if (id < cache.size() && cache[id] != 0) return cache[id] - 1;
  std::uint32_t index;
  const auto found = index_of_.find(std::string(symbol));
  if (found != index_of_.end()) {
    index = found->second;
  } else {
    index = static_cast<std::uint32_t>(names_.size());
    names_.emplace_back(symbol);
    index_of_.emplace(std::string(symbol), index);
  }
  if (cache.size() <= id) cache.resize(static_cast<std::size_t>(id) + 1, 0);
  cache[id] = index + 1;
  return index;
}

void HistoryService::quote(market::SymbolId id, std::string_view symbol, const QuoteRow& row) {
  ++loop_stats_.rows_in;
  pending_.quotes.emplace_back(intern(quote_symbol_, id, symbol), row);
  if (pending_.quotes.size() >= handoff_rows) handoff();
}

void HistoryService::bar(market::SymbolId id, std::string_view symbol, market::Interval interval,
                         const market::Bar& b, bool partial) {
  ++loop_stats_.rows_in;
  pending_.bars.push_back({intern(quote_symbol_, id, symbol), interval, b, partial});
}

void HistoryService::trade(core::InstrumentId id, std::string_view symbol, const TradeRow& row) {
  ++loop_stats_.rows_in;
  pending_.trades.emplace_back(intern(trade_symbol_, id, symbol), row);
  if (pending_.trades.size() >= handoff_rows) handoff();
}

void HistoryService::handoff() {
  if (pending_.rows() == 0 && names_sent_ == names_.size() && conflated_.empty()) return;
  Batch b = std::move(pending_);
  pending_ = Batch{};
  b.names.assign(names_.begin() + static_cast<std::ptrdiff_t>(names_sent_), names_.end());
  names_sent_ = names_.size();
  {
    const std::lock_guard lock(mu_);
    // The next buffer reuses a written batch's memory: no allocation (and no page faults) per
    // hand-off once the first few have gone round.
    if (!spare_.empty()) {
      pending_ = std::move(spare_.back());
      spare_.pop_back();
    }
    std::size_t room = config_.queue_rows > queued_rows_ ? config_.queue_rows - queued_rows_ : 0;
    // Quotes put aside earlier are older than this batch's: they go first, while there is room.
    if (!conflated_.empty() && room > 0) {
      std::vector<std::pair<std::uint32_t, QuoteRow>> first;
      for (auto it = conflated_.begin(); it != conflated_.end() && first.size() < room;) {
        first.emplace_back(it->first, it->second);
        it = conflated_.erase(it);
      }
      room -= first.size();
      first.insert(first.end(), b.quotes.begin(), b.quotes.end());
      b.quotes = std::move(first);
    }
    // Trades and bars before quotes: a trade happens once, a quote is soon superseded.
    const auto keep = [&room](auto& rows, std::uint64_t& dropped) {
      const std::size_t n = std::min(rows.size(), room);
      dropped += rows.size() - n;
      rows.resize(n);
      room -= n;
    };
    keep(b.trades, loop_stats_.dropped_trades);
    keep(b.bars, loop_stats_.dropped_bars);
    if (b.quotes.size() > room) {
      if (config_.on_full == app::HistoryOnFull::conflate) {
        for (std::size_t i = room; i < b.quotes.size(); ++i) {
          const auto [it, fresh] = conflated_.insert_or_assign(b.quotes[i].first, b.quotes[i].second);
          if (!fresh) ++loop_stats_.conflated;
        }
      } else {
        loop_stats_.dropped_quotes += b.quotes.size() - room;
      }
      b.quotes.resize(room);
    }
    if (b.rows() == 0 && b.names.empty()) return;
    queued_rows_ += b.rows();
    queue_.push_back(std::move(b));
    ++enqueued_;
  }
  wake_storage_.notify_one();
}

void HistoryService::storage_main() {
  auto log = logger();
  std::int64_t last_upkeep = 0;
  std::vector<Batch> batches;
  while (true) {
    bool stopping = false;
    {
      std::unique_lock lock(mu_);
      wake_storage_.wait_for(lock, std::chrono::milliseconds(config_.flush_ms),
                             [this] { return !queue_.empty() || stopping_; });
      stopping = stopping_;
      while (!queue_.empty()) {
        batches.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    const std::uint64_t taken = batches.size();
    if (stopping && wall_ms() > stop_deadline_ms_) {
      std::uint64_t lost = 0;
      for (const auto& b : batches) lost += b.rows();
      for (auto& b : batches) {
        for (auto& n : b.names) storage_names_.push_back(std::move(n));
      }
      const std::lock_guard lock(mu_);
      storage_stats_.lost_rows += lost;
      queued_rows_ = 0;
      written_ += taken;
      written_cv_.notify_all();
      if (lost) log->warn("history: shutdown budget spent; {} queued rows not written", lost);
      return;
    }
    if (!batches.empty()) write(batches);
    {
      const std::lock_guard lock(mu_);
      written_ += taken;
      for (auto& b : batches) {
        if (spare_.size() >= 4) break;
        b.clear();
        spare_.push_back(std::move(b));
      }
    }
    batches.clear();
    written_cv_.notify_all();
    if (stopping) {
      const std::lock_guard lock(mu_);
      if (queue_.empty()) return;
      continue;
    }
    const auto now = wall_ms();
    bool failing = false;
    {
      const std::lock_guard lock(mu_);
      failing = !storage_stats_.error.empty();
    }
    // No upkeep while writes fail: closing a partition flushes and compacts, which needs space.
    if (!failing && !broken_ && !store_->failed() && now - last_upkeep >= 250) {
      last_upkeep = now;
      const auto r = store_->maintain(now);
      for (const auto p : r.closed) log->info("history: partition {} closed (compacted with zstd)", p);
      for (const auto p : r.archived) log->info("history: partition {} archived to {}", p, config_.archive_dir);
      for (const auto p : r.deleted) log->info("history: partition {} deleted (retention)", p);
      for (const auto p : r.unrestored) log->info("history: restored partition {} dropped again (restore_keep_ms)", p);
      if (!r.error.empty()) {
        log->error("history: upkeep failed: {}", r.error);
        const std::lock_guard lock(mu_);
        storage_stats_.error = "upkeep failed: " + r.error;
      }
    }
  }
}

void HistoryService::write(std::vector<Batch>& batches) {
  std::vector<SymbolRows> rows;
  std::vector<std::int32_t> slot;  // name index -> position in rows (-1 none)
  std::uint64_t n = 0;
  for (auto& b : batches) {
    for (auto& name : b.names) storage_names_.push_back(std::move(name));
    slot.resize(storage_names_.size(), -1);
    const auto at = [&](std::uint32_t index) -> SymbolRows& {
      if (slot[index] < 0) {
        slot[index] = static_cast<std::int32_t>(rows.size());
        rows.push_back(SymbolRows{storage_names_[index], {}, {}, {}});
      }
      return rows[static_cast<std::size_t>(slot[index])];
    };
    for (const auto& [s, q] : b.quotes) at(s).quotes.push_back(q);
    for (const auto& [s, t] : b.trades) at(s).trades.push_back(t);
    for (const auto& br : b.bars) at(br.symbol).bars.push_back({br.interval, br.bar, br.partial});
    n += b.rows();
  }
  // A write that fails in RocksDB 7.8's log append leaves a log writer that aborts the process
  // when used again (fixed upstream in 9.x, facebook/rocksdb#12448). So a full disk must be
  // seen before RocksDB sees it: below history.min_free_mb nothing is written.
  std::string refused;
  broken_ = broken_ || store_->failed();  // also a failed upkeep or restore write
  if (broken_) {
    refused = "a write failed earlier; the history keeps nothing more until a restart";
  } else if (config_.min_free_mb > 0) {
    const std::uint64_t free = free_bytes(config_.dir);
    if (free < static_cast<std::uint64_t>(config_.min_free_mb) << 20) {
      refused = "disk space low: " + std::to_string(free >> 20) + " MiB free for history.dir (history.min_free_mb " +
                std::to_string(config_.min_free_mb) + "); rows are not kept until there is room";
    }
  }
  if (!refused.empty()) {
    const std::lock_guard lock(mu_);
    auto& s = storage_stats_;
    queued_rows_ -= std::min(queued_rows_, n);
    s.lost_rows += n;
    if (s.error != refused) logger()->error("history: {} ({} rows lost so far)", refused, s.lost_rows);
    s.error = std::move(refused);
    return;
  }
  const auto t0 = std::chrono::steady_clock::now();
  const auto r = store_->write(rows, wall_ms());
  const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  const std::lock_guard lock(mu_);
  auto& s = storage_stats_;
  queued_rows_ -= std::min(queued_rows_, n);
  ++s.batches;
  s.max_batch_rows = std::max(s.max_batch_rows, n);
  s.max_write_ms = std::max(s.max_write_ms, ms);
  s.late += r.late;
  s.reordered += r.reordered;
  if (r.error.empty()) {
    s.written_rows += r.rows;
    s.error.clear();
  } else {
    ++s.write_errors;
    s.lost_rows += n;
    broken_ = true;
    logger()->error("history: write failed ({} rows lost): {}; nothing more is written until a restart", n, r.error);
    s.error = "write failed: " + r.error + "; the history keeps nothing more until a restart";
  }
}

bool HistoryService::query(std::function<Continuation(const Store&)> job) {
  handoff();
  {
    const std::lock_guard lock(mu_);
    if (jobs_.size() >= max_waiting_queries || stopping_) {
      ++loop_stats_.queries_refused;
      return false;
    }
    jobs_.push_back({enqueued_, [this, job = std::move(job)] { post_(job(*store_)); }});
  }
  ++loop_stats_.queries;
  wake_query_.notify_one();
  return true;
}

bool HistoryService::restore(std::int64_t start, std::function<void(std::string)> done) {
  {
    const std::lock_guard lock(mu_);
    if (jobs_.size() >= max_waiting_queries || stopping_) {
      ++loop_stats_.queries_refused;
      return false;
    }
    jobs_.push_back({0, [this, start, done = std::move(done)]() mutable {
                       // Ingesting copies the file: not on a disk below the reserve (see write()).
                       const std::uint64_t free = free_bytes(config_.dir);
                       auto why = config_.min_free_mb > 0 && free < static_cast<std::uint64_t>(config_.min_free_mb) << 20
                                      ? "disk space low: " + std::to_string(free >> 20) + " MiB free for history.dir"
                                      : store_->restore(start, wall_ms());
                       if (why.empty()) logger()->info("history: partition {} restored from the archive", start);
                       post_([done = std::move(done), why = std::move(why)]() mutable { done(std::move(why)); });
                     }});
  }
  wake_query_.notify_one();
  return true;
}

void HistoryService::query_main() {
  while (true) {
    Job job;
    {
      std::unique_lock lock(mu_);
      wake_query_.wait(lock, [this] { return !jobs_.empty() || stopping_; });
      // Stopping: the loop is gone, nobody would get an answer. What is left is destroyed by
      // stop(), on the loop's thread (answers hold sessions).
      if (jobs_.empty() || stopping_) return;
      job = std::move(jobs_.front());
      jobs_.pop_front();
      written_cv_.wait_for(lock, std::chrono::seconds(1), [&] { return written_ >= job.after || stopping_; });
    }
    job.run();
  }
}

ServiceStats HistoryService::stats() const {
  ServiceStats s;
  {
    const std::lock_guard lock(mu_);
    s = storage_stats_;
    s.queued_rows = queued_rows_;
  }
  const auto& l = loop_stats_;
  s.rows_in = l.rows_in;
  s.dropped_quotes = l.dropped_quotes;
  s.dropped_trades = l.dropped_trades;
  s.dropped_bars = l.dropped_bars;
  s.conflated = l.conflated;
  s.queries = l.queries;
  s.queries_refused = l.queries_refused;
  s.queued_rows += pending_.rows() + conflated_.size();
  return s;
}

void HistoryService::stop(std::int64_t budget_ms) {
  if (!storage_.joinable()) return;
  handoff();
  {
    const std::lock_guard lock(mu_);
    stopping_ = true;
    stop_deadline_ms_ = wall_ms() + budget_ms;
  }
  wake_storage_.notify_all();
  wake_query_.notify_all();
  storage_.join();
  queries_.join();
  jobs_.clear();
  if (broken_ || store_->failed()) {
    store_->abandon();
  } else {
    store_->sync();
  }
  const auto s = stats();
  logger()->info("history: closed ({} rows written, {} lost)", s.written_rows, s.lost_rows);
}

}  // namespace tradeshard::history

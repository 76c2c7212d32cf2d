#pragma once
// The history store on RocksDB (docs/history.md): one column family per time partition, a
// partition's rows keyed as in format.hpp, closed partitions compacted with zstd, old ones
// exported to one SST file each under the archive directory (RocksDB's own table format, read
// in place by queries) and dropped from the live store, the oldest deleted.
//
// Threads: one writer thread calls write() and maintain(); any other thread may call the
// queries, partitions() and restore() at the same time (RocksDB is thread-safe; the partition
// table is guarded by a mutex held only to copy or update it, never during I/O).
// No RocksDB type appears here: the engine stays inside store.cpp.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/history/format.hpp"

namespace tradeshard::history {

struct StoreOptions {
  std::string dir;                         // the live store (RocksDB directory)
  std::string archive_dir;                 // archived partitions: p-<start>.sst
  std::int64_t window_ms = 3'600'000;      // partition width
  std::int64_t archive_after_ms = 0;       // partitions ending longer ago are archived; 0 = never
  std::int64_t retention_ms = 0;           // partitions ending longer ago are deleted; 0 = never
  std::int64_t restore_keep_ms = 3'600'000;  // a restored partition stays live this long
  std::uint64_t write_buffer_bytes = 64ULL << 20;  // memtable per partition
};

enum class PartitionState : std::uint8_t { hot, cold, archived };
[[nodiscard]] std::string_view to_string(PartitionState s) noexcept;

struct PartitionInfo {
  std::int64_t start = 0, end = 0;
  PartitionState state = PartitionState::hot;
  std::uint64_t rows = 0;   // quotes + trades + bars written to it
  std::uint64_t bytes = 0;  // live: SST files + memtables; archived: the file
  bool restored = false;    // live again from its archive file (until restore_keep_ms passes)
};

// One batch from the writer thread: rows of one symbol each, in arrival order.
struct SymbolRows {
  std::string symbol;
  std::vector<QuoteRow> quotes;
  std::vector<TradeRow> trades;
  struct BarRow {
    market::Interval interval = market::Interval::s1;
    market::Bar bar;
    bool partial = false;  // the open bar saved at a shutdown (see StoredBar)
  };
  std::vector<BarRow> bars;
};

struct WriteResult {
  std::string error;          // empty = written
  std::uint64_t rows = 0;     // rows written
  std::uint64_t late = 0;     // rows for a partition already archived, restored or past retention,
                              // or more than a minute ahead of the clock: dropped
  std::uint64_t reordered = 0;  // rows older than their symbol's last stored row: stored at that time
};

struct MaintainResult {
  std::vector<std::int64_t> closed, archived, deleted, unrestored;  // partition starts
  std::string error;
};

template <class Row>
struct Page {
  std::vector<Row> rows;
  std::optional<Cursor> next;  // the first row not returned, if any
  std::string error;           // a storage error (the query failed)
};

class Store {
 public:
  // Opens (or creates) the store; throws std::runtime_error with the reason when it cannot.
  explicit Store(StoreOptions options);
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // --- writer thread ---
  // now_ms: the wall clock (which partitions are already archived or past retention).
  WriteResult write(std::vector<SymbolRows>& batch, std::int64_t now_ms);
  // Closes ended partitions (zstd compaction), archives, deletes, and drops restored partitions
  // whose keep time passed. At most one step of each kind per call: callers call it often.
  MaintainResult maintain(std::int64_t now_ms);
  // Syncs the write-ahead log (shutdown).
  void sync();
  // After a failed write: the database is left as it is, not closed (RocksDB 7.8 asserts when a
  // log writer that failed an append is used again, and closing uses it). The OS reclaims it.
  void abandon() noexcept;
  // True once any write to the database failed (rows, bookkeeping, a restore): from then on
  // nothing may write to it (see abandon), and restore() refuses.
  [[nodiscard]] bool failed() const noexcept;

  // --- any thread ---
  [[nodiscard]] std::vector<PartitionInfo> partitions() const;
  [[nodiscard]] bool knows_symbol(std::string_view symbol) const;
  // Rows of [from, to] (inclusive, ms), oldest first, at most limit, from `after` when given.
  [[nodiscard]] Page<QuoteRow> quotes(std::string_view symbol, std::int64_t from, std::int64_t to,
                                      std::size_t limit, const std::optional<Cursor>& after) const;
  [[nodiscard]] Page<TradeRow> trades(std::string_view symbol, std::int64_t from, std::int64_t to,
                                      std::size_t limit, const std::optional<Cursor>& after) const;
  // Stored bars of one series with start in [from, to], oldest first, at most limit.
  [[nodiscard]] Page<StoredBar> bars(std::string_view symbol, market::Interval interval, std::int64_t from,
                                     std::int64_t to, std::size_t limit) const;
  // Brings an archived partition back into the live store. Empty = done, else why not.
  std::string restore(std::int64_t start, std::int64_t now_ms);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradeshard::history

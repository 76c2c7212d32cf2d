#pragma once
// Market-data history: what one stored row is, how rows are keyed and packed, and the pure helpers
// the store, the HTTP routes and the tests share (partition windows, paging cursors, bar roll-ups).
// Standard library only: no storage engine here (docs/history.md, "Layout").
//
// Key: kind (1 byte: 'q' quote, 't' trade, 'b' bar) | symbol length (1) | symbol | then
//   quotes, trades: first row's ts (8, big-endian, ms) | chunk sequence (8, big-endian)
//   bars:           interval (1: 's' 1 s, 'm' 1 m) | bar start (8, big-endian, ms)
// so the rows of one (kind, symbol) are contiguous and ordered by time: a range scan is one seek.
// Quotes and trades are stored in chunks: consecutive rows of one symbol, one partition, one
// write batch, delta-encoded (zigzag varints). A chunk's rows are in time order and a symbol's
// chunks do not overlap in time (the writer keeps each symbol's times non-decreasing).
// Prices and sizes are integers at the market-data scale (1e-8), as everywhere else.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/core/types.hpp"
#include "tradeshard/market/bar_series.hpp"

namespace tradeshard::history {

enum class Kind : char { quote = 'q', trade = 't', bar = 'b' };

struct QuoteRow {
  std::int64_t ts = 0;
  std::int64_t bid = 0, ask = 0, bid_size = 0, ask_size = 0;
  friend bool operator==(const QuoteRow&, const QuoteRow&) = default;
};

struct TradeRow {
  std::int64_t ts = 0;
  std::uint64_t trade_id = 0;
  std::int64_t price = 0, qty = 0;
  core::Side aggressor = core::Side::buy;
  friend bool operator==(const TradeRow&, const TradeRow&) = default;
};

inline constexpr std::size_t max_symbol_bytes = 64;   // longer symbols are not stored
inline constexpr std::size_t max_chunk_rows = 4096;   // a chunk's value stays under ~100 KiB

// ---- keys ----
[[nodiscard]] std::string chunk_key(Kind kind, std::string_view symbol, std::int64_t ts, std::uint64_t seq);
[[nodiscard]] std::string bar_key(std::string_view symbol, market::Interval interval, std::int64_t start_ms);
// The key prefix every row of (kind, symbol) starts with.
[[nodiscard]] std::string key_prefix(Kind kind, std::string_view symbol);
struct ChunkKey {
  std::int64_t ts = 0;
  std::uint64_t seq = 0;
};
// Parses a quote/trade key of the given prefix; nullopt when it is not one.
[[nodiscard]] std::optional<ChunkKey> parse_chunk_key(std::string_view key, std::string_view prefix);
struct BarKey {
  market::Interval interval = market::Interval::s1;
  std::int64_t start_ms = 0;
};
[[nodiscard]] std::optional<BarKey> parse_bar_key(std::string_view key, std::string_view prefix);

// ---- chunks ----
// Appends the encoding of rows (non-empty, at most max_chunk_rows) relative to the key's ts.
void encode_quotes(std::string& out, std::int64_t key_ts, const QuoteRow* rows, std::size_t n);
void encode_trades(std::string& out, std::int64_t key_ts, const TradeRow* rows, std::size_t n);
// Decodes a chunk; false (and `out` unspecified) when the bytes are not a valid chunk.
[[nodiscard]] bool decode_quotes(std::string_view value, std::int64_t key_ts, std::vector<QuoteRow>& out);
[[nodiscard]] bool decode_trades(std::string_view value, std::int64_t key_ts, std::vector<TradeRow>& out);

// A stored bar, and whether it is a piece of its window (the open bar saved at a shutdown,
// completed when the rest of the window is stored) rather than the closed bar itself.
struct StoredBar {
  market::Bar bar;
  bool partial = false;
  friend bool operator==(const StoredBar&, const StoredBar&) = default;
};
[[nodiscard]] std::string encode_bar(const market::Bar& bar, bool partial);
[[nodiscard]] std::optional<StoredBar> decode_bar(std::string_view value, std::int64_t start_ms);
// Two pieces of one window (the earlier one first): open of the first, close of the second.
[[nodiscard]] market::Bar merge_bars(const market::Bar& earlier, const market::Bar& later);

// ---- time ----
// Start of the window of `width` ms holding ts (floor, also for negative ts).
[[nodiscard]] constexpr std::int64_t window_start(std::int64_t ts, std::int64_t width) noexcept {
  const std::int64_t r = ts % width;
  return r < 0 ? ts - r - width : ts - r;
}

// Bar widths a query may ask for: 1s and 1m are stored, 1h and 1d rolled up from 1m bars.
enum class QueryInterval : std::uint8_t { s1, m1, h1, d1 };
[[nodiscard]] std::optional<QueryInterval> parse_query_interval(std::string_view s) noexcept;
[[nodiscard]] std::int64_t width_ms(QueryInterval i) noexcept;
[[nodiscard]] std::string_view to_string(QueryInterval i) noexcept;
// The stored series a query interval is built from.
[[nodiscard]] market::Interval source_of(QueryInterval i) noexcept;
// Rolls bars (ascending start, finer than width) up into bars of `width` ms aligned to the epoch.
[[nodiscard]] std::vector<market::Bar> roll_up(const std::vector<market::Bar>& fine, std::int64_t width);

// ---- the store's own bookkeeping (its default column family) ----
struct PartitionMeta {
  char state = 'h';             // 'h' hot, 'c' cold, 'a' archived
  std::uint64_t rows = 0;
  bool restored = false;        // live again from its archive file
  std::int64_t restored_at = 0; // ms
  friend bool operator==(const PartitionMeta&, const PartitionMeta&) = default;
};
[[nodiscard]] std::string encode_partition_meta(const PartitionMeta& m);
[[nodiscard]] std::optional<PartitionMeta> parse_partition_meta(std::string_view value);
// "p/" + the partition start, ordered by time.
[[nodiscard]] std::string partition_meta_key(std::int64_t start);
[[nodiscard]] std::optional<std::int64_t> parse_partition_meta_key(std::string_view key);

// ---- paging ----
// Where the next page starts: a row inside a chunk. Printed as "<ts>-<seq>-<row>" (decimal).
struct Cursor {
  std::int64_t ts = 0;
  std::uint64_t seq = 0;
  std::uint32_t row = 0;
  friend bool operator==(const Cursor&, const Cursor&) = default;
};
[[nodiscard]] std::string to_string(const Cursor& c);
[[nodiscard]] std::optional<Cursor> parse_cursor(std::string_view s) noexcept;

}  // namespace tradeshard::history

// libFuzzer target: the history's decoders of bytes read back from disk (RocksDB values and keys,
// archive files) and from HTTP (paging cursors): quote and trade chunks, bars, partition
// bookkeeping, keys, cursors.
//
// Input: byte 0 selects the decoder, bytes 1..8 are the key's time, the rest is the value.
// Oracles: nothing crashes or trips a sanitizer; whatever decodes re-encodes to bytes that decode
// to the same rows (a decoded chunk is a chunk the encoder could have written).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/history/format.hpp"

using namespace tradeshard::history;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 9) return 0;
  const int mode = data[0] % 7;
  std::int64_t ts = 0;
  std::memcpy(&ts, data + 1, 8);
  const std::string_view value(reinterpret_cast<const char*>(data + 9), size - 9);
  switch (mode) {
    case 0: {
      std::vector<QuoteRow> rows, again;
      if (!decode_quotes(value, ts, rows)) break;
      std::string v;
      encode_quotes(v, ts, rows.data(), rows.size());
      check(decode_quotes(v, ts, again) && again == rows);
      break;
    }
    case 1: {
      std::vector<TradeRow> rows, again;
      if (!decode_trades(value, ts, rows)) break;
      std::string v;
      encode_trades(v, ts, rows.data(), rows.size());
      check(decode_trades(v, ts, again) && again == rows);
      break;
    }
    case 2: {
      const auto bar = decode_bar(value, ts);
      if (bar) check(decode_bar(encode_bar(bar->bar, bar->partial), ts) == bar);
      break;
    }
    case 3: {
      const auto meta = parse_partition_meta(value);
      if (meta) check(parse_partition_meta(encode_partition_meta(*meta)) == meta);
      break;
    }
    case 4: {
      const auto c = parse_cursor(value);
      if (c) check(parse_cursor(to_string(*c)) == c);
      break;
    }
    case 5: {
      const std::string prefix = key_prefix(Kind::quote, "BTCUSDT");
      const auto k = parse_chunk_key(value, prefix);
      if (k) check(chunk_key(Kind::quote, "BTCUSDT", k->ts, k->seq) == value);
      const auto b = parse_bar_key(value, key_prefix(Kind::bar, "BTCUSDT"));
      if (b) check(bar_key("BTCUSDT", b->interval, b->start_ms) == value);
      break;
    }
    default: {
      const auto k = parse_partition_meta_key(value);
      if (k) check(partition_meta_key(*k) == value);
      break;
    }
  }
  return 0;
}

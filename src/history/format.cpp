#include "tradeshard/history/format.hpp"

#include <algorithm>
#include <charconv>

namespace tradeshard::history {
namespace {

constexpr char chunk_version = 1;

void put_be64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}
std::uint64_t get_be64(std::string_view s) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(s[static_cast<std::size_t>(i)]);
  return v;
}
// Signed times keep their order as unsigned big-endian bytes once the sign bit is flipped.
constexpr std::uint64_t flip(std::int64_t v) noexcept { return static_cast<std::uint64_t>(v) ^ (1ULL << 63); }
constexpr std::int64_t unflip(std::uint64_t v) noexcept { return static_cast<std::int64_t>(v ^ (1ULL << 63)); }

char* put_varint(char* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
void put_varint(std::string& out, std::uint64_t v) {
  char buf[10];
  out.append(buf, static_cast<std::size_t>(put_varint(buf, v) - buf));
}
constexpr std::uint64_t zigzag(std::int64_t v) noexcept {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
constexpr std::int64_t unzigzag(std::uint64_t v) noexcept {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}
// Differences wrap (two's complement) so any int64 pair round-trips without overflow.
constexpr std::int64_t diff(std::int64_t a, std::int64_t b) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) - static_cast<std::uint64_t>(b));
}
constexpr std::int64_t add(std::int64_t a, std::int64_t d) noexcept {
  return static_cast<std::int64_t>(static_cast<std::uint64_t>(a) + static_cast<std::uint64_t>(d));
}
char* put_delta(char* p, std::int64_t now, std::int64_t& prev) {
  p = put_varint(p, zigzag(diff(now, prev)));
  prev = now;
  return p;
}

// Chunks are encoded straight into the output's memory: room for the worst case first (a
// varint is at most 10 bytes), then cut to what was written. The encoder runs for every stored
// row on the storage thread; byte-wise appends cost it a third of its time.
struct Out {
  std::string& s;
  std::size_t start;
  char* p;
  Out(std::string& out, std::size_t rows, std::size_t fields) : s(out), start(out.size()) {
    s.resize(start + 1 + 10 + rows * (fields * 10 + 1));
    p = s.data() + start;
  }
  void done() { s.resize(static_cast<std::size_t>(p - s.data())); }
};

struct Reader {
  std::string_view s;
  std::size_t pos = 0;
  bool ok = true;
  std::uint64_t varint() {
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= s.size()) break;
      const auto b = static_cast<unsigned char>(s[pos++]);
      if (shift == 63 && b > 1) break;  // more than 64 bits
      v |= static_cast<std::uint64_t>(b & 0x7f) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
  std::int64_t delta(std::int64_t& prev) {
    prev = add(prev, unzigzag(varint()));
    return prev;
  }
  std::uint8_t byte() {
    if (pos >= s.size()) {
      ok = false;
      return 0;
    }
    return static_cast<std::uint8_t>(s[pos++]);
  }
  [[nodiscard]] bool done() const noexcept { return ok && pos == s.size(); }
};

// Reads the chunk header: version and row count.
std::size_t read_header(Reader& r) {
  if (r.byte() != chunk_version) {
    r.ok = false;
    return 0;
  }
  const std::uint64_t n = r.varint();
  if (n == 0 || n > max_chunk_rows) r.ok = false;
  return r.ok ? static_cast<std::size_t>(n) : 0;
}

}  // namespace

std::string key_prefix(Kind kind, std::string_view symbol) {
  std::string k;
  k.reserve(2 + symbol.size() + 17);
  k.push_back(static_cast<char>(kind));
  k.push_back(static_cast<char>(static_cast<unsigned char>(std::min(symbol.size(), max_symbol_bytes))));
  k.append(symbol.substr(0, max_symbol_bytes));
  return k;
}

std::string chunk_key(Kind kind, std::string_view symbol, std::int64_t ts, std::uint64_t seq) {
  std::string k = key_prefix(kind, symbol);
  put_be64(k, flip(ts));
  put_be64(k, seq);
  return k;
}

std::string bar_key(std::string_view symbol, market::Interval interval, std::int64_t start_ms) {
  std::string k = key_prefix(Kind::bar, symbol);
  k.push_back(interval == market::Interval::s1 ? 's' : 'm');
  put_be64(k, flip(start_ms));
  return k;
}

std::optional<ChunkKey> parse_chunk_key(std::string_view key, std::string_view prefix) {
  if (key.size() != prefix.size() + 16 || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  return ChunkKey{unflip(get_be64(key.substr(prefix.size(), 8))), get_be64(key.substr(prefix.size() + 8, 8))};
}

std::optional<BarKey> parse_bar_key(std::string_view key, std::string_view prefix) {
  if (key.size() != prefix.size() + 9 || key.substr(0, prefix.size()) != prefix) return std::nullopt;
  const char iv = key[prefix.size()];
  if (iv != 's' && iv != 'm') return std::nullopt;
  return BarKey{iv == 's' ? market::Interval::s1 : market::Interval::m1, unflip(get_be64(key.substr(prefix.size() + 1, 8)))};
}

// Quote row: ts, bid as deltas from the previous row; the spread (ask - bid) and both sizes as
// deltas from the previous row's: a quiet book encodes in about five bytes a row.
void encode_quotes(std::string& out, std::int64_t key_ts, const QuoteRow* rows, std::size_t n) {
  Out o(out, n, 5);
  *o.p++ = chunk_version;
  o.p = put_varint(o.p, n);
  std::int64_t ts = key_ts, bid = 0, spread = 0, bs = 0, as = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = rows[i];
    o.p = put_delta(o.p, r.ts, ts);
    o.p = put_delta(o.p, r.bid, bid);
    o.p = put_delta(o.p, diff(r.ask, r.bid), spread);
    o.p = put_delta(o.p, r.bid_size, bs);
    o.p = put_delta(o.p, r.ask_size, as);
  }
  o.done();
}

void encode_trades(std::string& out, std::int64_t key_ts, const TradeRow* rows, std::size_t n) {
  Out o(out, n, 4);
  *o.p++ = chunk_version;
  o.p = put_varint(o.p, n);
  std::int64_t ts = key_ts, id = 0, price = 0, qty = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const auto& r = rows[i];
    o.p = put_delta(o.p, r.ts, ts);
    o.p = put_delta(o.p, static_cast<std::int64_t>(r.trade_id), id);
    o.p = put_delta(o.p, r.price, price);
    o.p = put_delta(o.p, r.qty, qty);
    *o.p++ = r.aggressor == core::Side::buy ? 'b' : 's';
  }
  o.done();
}

bool decode_quotes(std::string_view value, std::int64_t key_ts, std::vector<QuoteRow>& out) {
  Reader r{value};
  const std::size_t n = read_header(r);
  out.clear();
  std::int64_t ts = key_ts, bid = 0, spread = 0, bs = 0, as = 0;
  for (std::size_t i = 0; i < n && r.ok; ++i) {
    QuoteRow q;
    q.ts = r.delta(ts);
    q.bid = r.delta(bid);
    q.ask = add(q.bid, r.delta(spread));
    q.bid_size = r.delta(bs);
    q.ask_size = r.delta(as);
    out.push_back(q);
  }
  return r.done();
}

bool decode_trades(std::string_view value, std::int64_t key_ts, std::vector<TradeRow>& out) {
  Reader r{value};
  const std::size_t n = read_header(r);
  out.clear();
  std::int64_t ts = key_ts, id = 0, price = 0, qty = 0;
  for (std::size_t i = 0; i < n && r.ok; ++i) {
    TradeRow t;
    t.ts = r.delta(ts);
    t.trade_id = static_cast<std::uint64_t>(r.delta(id));
    t.price = r.delta(price);
    t.qty = r.delta(qty);
    const auto side = r.byte();
    if (side != 'b' && side != 's') r.ok = false;
    t.aggressor = side == 'b' ? core::Side::buy : core::Side::sell;
    out.push_back(t);
  }
  return r.done();
}

std::string encode_bar(const market::Bar& b, bool partial) {
  std::string out;
  out.push_back(chunk_version);
  put_varint(out, zigzag(b.open));
  put_varint(out, zigzag(diff(b.high, b.open)));
  put_varint(out, zigzag(diff(b.low, b.open)));
  put_varint(out, zigzag(diff(b.close, b.open)));
  put_varint(out, b.ticks);
  out.push_back(partial ? 1 : 0);
  return out;
}

std::optional<StoredBar> decode_bar(std::string_view value, std::int64_t start_ms) {
  Reader r{value};
  if (r.byte() != chunk_version) return std::nullopt;
  market::Bar b;
  b.start_ms = start_ms;
  b.open = unzigzag(r.varint());
  b.high = add(b.open, unzigzag(r.varint()));
  b.low = add(b.open, unzigzag(r.varint()));
  b.close = add(b.open, unzigzag(r.varint()));
  b.ticks = r.varint();
  const auto partial = r.byte();
  if (!r.done() || partial > 1) return std::nullopt;
  return StoredBar{b, partial == 1};
}

market::Bar merge_bars(const market::Bar& earlier, const market::Bar& later) {
  market::Bar b = earlier;
  b.high = std::max(earlier.high, later.high);
  b.low = std::min(earlier.low, later.low);
  b.close = later.close;
  b.ticks = earlier.ticks + later.ticks;
  return b;
}

std::optional<QueryInterval> parse_query_interval(std::string_view s) noexcept {
  if (s == "1s") return QueryInterval::s1;
  if (s == "1m") return QueryInterval::m1;
  if (s == "1h") return QueryInterval::h1;
  if (s == "1d") return QueryInterval::d1;
  return std::nullopt;
}

std::int64_t width_ms(QueryInterval i) noexcept {
  constexpr std::int64_t widths[] = {1'000, 60'000, 3'600'000, 86'400'000};
  return widths[static_cast<int>(i)];
}

std::string_view to_string(QueryInterval i) noexcept {
  constexpr std::string_view names[] = {"1s", "1m", "1h", "1d"};
  return names[static_cast<int>(i)];
}

market::Interval source_of(QueryInterval i) noexcept {
  return i == QueryInterval::s1 ? market::Interval::s1 : market::Interval::m1;
}

std::vector<market::Bar> roll_up(const std::vector<market::Bar>& fine, std::int64_t width) {
  std::vector<market::Bar> out;
  for (const auto& b : fine) {
    const std::int64_t start = window_start(b.start_ms, width);
    if (!out.empty() && out.back().start_ms == start) {
      out.back() = merge_bars(out.back(), b);
    } else {
      out.push_back(b);
      out.back().start_ms = start;
    }
  }
  return out;
}

std::string encode_partition_meta(const PartitionMeta& m) {
  std::string out;
  out.push_back(chunk_version);
  out.push_back(m.state);
  put_varint(out, m.rows);
  out.push_back(m.restored ? 1 : 0);
  put_varint(out, zigzag(m.restored_at));
  return out;
}

std::optional<PartitionMeta> parse_partition_meta(std::string_view value) {
  Reader r{value};
  if (r.byte() != chunk_version) return std::nullopt;
  PartitionMeta m;
  m.state = static_cast<char>(r.byte());
  m.rows = r.varint();
  const auto restored = r.byte();
  m.restored_at = unzigzag(r.varint());
  if (!r.done() || (m.state != 'h' && m.state != 'c' && m.state != 'a') || restored > 1) return std::nullopt;
  m.restored = restored == 1;
  return m;
}

std::string partition_meta_key(std::int64_t start) {
  std::string k = "p/";
  put_be64(k, flip(start));
  return k;
}

std::optional<std::int64_t> parse_partition_meta_key(std::string_view key) {
  if (key.size() != 10 || key.substr(0, 2) != "p/") return std::nullopt;
  return unflip(get_be64(key.substr(2)));
}

std::string to_string(const Cursor& c) {
  return std::to_string(c.ts) + "-" + std::to_string(c.seq) + "-" + std::to_string(c.row);
}

std::optional<Cursor> parse_cursor(std::string_view s) noexcept {
  Cursor c;
  const char* p = s.data();
  const char* end = s.data() + s.size();
  auto field = [&](auto& v, bool last) {
    if (p == end || *p == '+' || *p == '-') return false;  // digits only, no sign
    const auto r = std::from_chars(p, end, v);
    if (r.ec != std::errc{} || r.ptr == p) return false;
    p = r.ptr;
    if (last) return p == end;
    if (p == end || *p != '-') return false;
    ++p;
    return true;
  };
  if (!field(c.ts, false) || !field(c.seq, false) || !field(c.row, true)) return std::nullopt;
  if (c.row >= max_chunk_rows) return std::nullopt;
  return c;
}

}  // namespace tradeshard::history

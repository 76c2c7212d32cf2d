#include <simdjson.h>

#include <array>
#include <cstring>
#if defined(__AVX2__) && defined(__BMI__)
#include <immintrin.h>
#define TS_DECODER_SIMD 1
#endif

#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::protocol {
namespace {

namespace od = simdjson::ondemand;
using app::DecodeError;
using app::WireError;

enum class Kind : std::uint8_t { absent, string, number, other };

struct Raw {
  std::string_view text;
  Kind kind = Kind::absent;
  [[nodiscard]] bool present() const noexcept { return kind != Kind::absent; }
};

// Every key the protocol knows, collected in one pass in any order (last duplicate wins).
struct Fields {
  Raw type, id, account, symbol, side, kind, tif, priority, price, qty;
  Raw bid, ask, bid_size, ask_size, ts, api_key;
  Raw b_s, b_b, b_B, b_a, b_A, b_u, b_E;  // Binance bookTicker
  Raw channels;
};

bool json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// No backslash in [p, p + n). p has at least 32 readable bytes after it: it lies in a document
// simdjson has indexed, which is followed by SIMDJSON_PADDING (64) readable bytes.
bool no_backslash(const char* p, std::size_t n) noexcept {
#ifdef TS_DECODER_SIMD
  if (n <= 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const auto hits = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))));
    return (hits & static_cast<std::uint32_t>((std::uint64_t{1} << n) - 1)) == 0;
  }
#endif
  return std::memchr(p, '\\', n) == nullptr;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && json_space(s.back())) s.remove_suffix(1);
  return s;
}

// Strings are read in place, without a per-byte scan for their end: simdjson's raw token of a
// value runs from its first byte to the next structural character, so a string's token is its
// opening quote, its bytes, its closing quote and any whitespace. Without a backslash inside, the
// last quote of the token closes it and the string's value is the span between (a backslash
// takes simdjson's unescaping instead). Scanning byte by byte for the closing quote cost a branch
// miss per string: key and value lengths change from line to line.
bool string_token_in_place(std::string_view token, std::string_view& out) noexcept {
  const char* const b = token.data() + 1;
  const char* e = token.data() + token.size();
  while (e > b && json_space(e[-1])) --e;
  if (e == b || e[-1] != '"') return false;
  --e;
  const auto n = static_cast<std::size_t>(e - b);
  if (!no_backslash(b, n)) return false;
  out = std::string_view(b, n);
  return true;
}

// A key's raw bytes from its first byte (just past its opening quote) and the first byte of its
// value: the key's closing quote is the last quote before the ':' that precedes the value, with
// only whitespace between them (simdjson has checked that shape). Escape sequences are left as
// they are: every known key is plain letters, so a raw key that matches one has no backslash.
std::string_view raw_key(const char* key, const char* value) noexcept {
  const char* e = value - 1;
  while (json_space(*e)) --e;  // e: the ':'
  --e;
  while (json_space(*e)) --e;  // e: the closing quote
  return std::string_view(key, static_cast<std::size_t>(e - key));
}

// Keys compared as little-endian words of their bytes (fixed-size loads, no memcmp call): seven
// keys per tick made the library compares a visible cost.
template <std::size_t N>
constexpr std::uint64_t word_of(const char (&s)[N]) noexcept {
  static_assert(N - 1 <= 8);
  std::uint64_t v = 0;
  for (std::size_t i = 0; i + 1 < N; ++i) v |= std::uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
  return v;
}

// One 8-byte load, masked to N bytes (a narrower memcpy went through the stack and stalled on
// store forwarding). Keys and values always lie in buffers with SIMDJSON_PADDING readable bytes
// after them: the session buffers, `padded`, or simdjson's string buffer.
template <std::size_t N>
std::uint64_t load_word(const char* p) noexcept {
  static_assert(N >= 1 && N <= 8);
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);  // little-endian host (x86-64), as word_of assumes
  if constexpr (N < 8) v &= (std::uint64_t{1} << (8 * N)) - 1;
  return v;
}

Raw* slot(Fields& f, std::string_view k) noexcept {
  switch (k.size()) {
    case 1:
      switch (k[0]) {
        case 's': return &f.b_s;
        case 'b': return &f.b_b;
        case 'B': return &f.b_B;
        case 'a': return &f.b_a;
        case 'A': return &f.b_A;
        case 'u': return &f.b_u;
        case 'E': return &f.b_E;
        default: return nullptr;
      }
    case 2: {
      const auto w = load_word<2>(k.data());
      if (w == word_of("id")) return &f.id;
      if (w == word_of("ts")) return &f.ts;
      return nullptr;
    }
    case 3: {
      const auto w = load_word<3>(k.data());
      if (w == word_of("tif")) return &f.tif;
      if (w == word_of("bid")) return &f.bid;
      if (w == word_of("ask")) return &f.ask;
      if (w == word_of("qty")) return &f.qty;
      return nullptr;
    }
    case 4: {
      const auto w = load_word<4>(k.data());
      if (w == word_of("type")) return &f.type;
      if (w == word_of("side")) return &f.side;
      if (w == word_of("kind")) return &f.kind;
      return nullptr;
    }
    case 5:
      return load_word<5>(k.data()) == word_of("price") ? &f.price : nullptr;
    case 6:
      return load_word<6>(k.data()) == word_of("symbol") ? &f.symbol : nullptr;
    case 7: {
      const auto w = load_word<7>(k.data());
      if (w == word_of("account")) return &f.account;
      if (w == word_of("api_key")) return &f.api_key;
      return nullptr;
    }
    case 8: {
      const auto w = load_word<8>(k.data());
      if (w == word_of("priority")) return &f.priority;
      if (w == word_of("bid_size")) return &f.bid_size;
      if (w == word_of("ask_size")) return &f.ask_size;
      if (w == word_of("channels")) return &f.channels;
      return nullptr;
    }
    default: return nullptr;
  }
}

}  // namespace

struct Decoder::Impl {
  od::parser parser;
  std::string padded;  // copy of input when the caller's buffer lacks simdjson's padding
  std::vector<std::string_view> channels;
  Fields f;
  // Fields set by the previous message: only these are reset (clearing all of Fields with a
  // memset cost a seventh of decode()). Each known key is recorded once per message.
  std::array<Raw*, sizeof(Fields) / sizeof(Raw)> touched{};
  std::size_t touched_count = 0;

  DecodeResult decode(std::string_view text, std::size_t padding);
  DecodeResult fail(WireError code, std::string_view message) const {
    DecodeError e{code, message, f.type.text, {}};
    if (f.id.kind == Kind::string && (f.type.text == "order" || f.type.text == "cancel" ||
                                      f.type.text == "replace")) {
      e.id = f.id.text;
    }
    return e;
  }
  DecodeResult order();
  DecodeResult cancel();
  DecodeResult replace();
  DecodeResult tick(bool binance);
  DecodeResult subscribe(bool on);
};

namespace {

// A required string field: absent -> missing_field, wrong JSON type -> bad_field.
#define TS_REQUIRE_STRING(field, name)                                                  \
  do {                                                                                  \
    if (!f.field.present()) return fail(WireError::missing_field, name " is required"); \
    if (f.field.kind != Kind::string || f.field.text.empty())                           \
      return fail(WireError::bad_field, name " must be a non-empty string");            \
  } while (0)

bool decimal_of(const Raw& r, core::Decimal& out) noexcept {
  if (r.kind != Kind::string && r.kind != Kind::number) return false;
  const auto p = core::parse_decimal(r.text);
  if (!p.ok()) return false;
  out = p.value;
  return true;
}

#ifdef TS_DECODER_SIMD
// Sixteen digit values (0..9), most significant first, as one number: pairs, then fours, then
// eights, by multiply-add (no per-digit loop, no branch on how many digits there are).
std::uint64_t number_of_16(__m128i digits) noexcept {
  const __m128i pairs = _mm_maddubs_epi16(digits, _mm_set1_epi16(0x010A));     // d0 * 10 + d1
  const __m128i fours = _mm_madd_epi16(pairs, _mm_set1_epi32(0x00010064));     // p0 * 100 + p1
  const __m128i packed = _mm_packus_epi32(fours, fours);
  const __m128i eights = _mm_madd_epi16(packed, _mm_set1_epi32(0x00012710));   // f0 * 10000 + f1
  return std::uint64_t{static_cast<std::uint32_t>(_mm_cvtsi128_si32(eights))} * 100'000'000u +
         static_cast<std::uint32_t>(_mm_extract_epi32(eights, 1));
}

// The digit and '.' positions among the first n (1..16) bytes at p (16 readable bytes there),
// as bit masks, and the bytes minus '0'.
struct Classified {
  __m128i values;
  std::uint32_t digits, dots;
};
Classified classify(const char* p, std::size_t n) noexcept {
  const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  const __m128i values = _mm_sub_epi8(bytes, _mm_set1_epi8('0'));
  const __m128i is_digit = _mm_cmpeq_epi8(_mm_min_epu8(values, _mm_set1_epi8(9)), values);
  const auto in = static_cast<std::uint32_t>((1u << n) - 1);
  return {values, static_cast<std::uint32_t>(_mm_movemask_epi8(is_digit)) & in,
          static_cast<std::uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(bytes, _mm_set1_epi8('.')))) & in};
}
#endif

// Market-data fast path: plain digits with at most one '.', <= 18 digits and <= 8 decimals
// convert exactly to 1e-8 steps without a Decimal; anything else (signs, exponents, more
// decimals to round, overflow) takes the general path below, which decides and reports.
// Values carry SIMDJSON_PADDING readable bytes after them (the input's or simdjson's buffers).
bool md_fast(std::string_view s, std::int64_t& out) noexcept {
  static constexpr std::int64_t pow10[9] = {1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000,
                                            100'000'000};
  if (s.empty() || s.size() > 19) return false;
#ifdef TS_DECODER_SIMD
  // Up to 8 integer and 8 decimal digits, branch-free: one shuffle lays the integer digits
  // right-aligned in bytes 0..7 and the decimals left-aligned in 8..15, zero-filled, which reads
  // as the value in 1e-8 steps. (A per-digit loop missed a branch on most values: their lengths
  // differ by symbol.)
  if (s.size() <= 16) {
    const std::size_t n = s.size();
    const Classified c = classify(s.data(), n);
    const auto in = static_cast<std::uint32_t>((1u << n) - 1);
    if ((c.digits | c.dots) == in && (c.dots & (c.dots - 1)) == 0) {
      const auto int_len = static_cast<int>(c.dots != 0 ? static_cast<std::size_t>(__builtin_ctz(c.dots)) : n);
      const int frac_len = c.dots != 0 ? static_cast<int>(n) - int_len - 1 : 0;
      if (int_len <= 8 && frac_len <= 8 && int_len + frac_len > 0) {
        const __m128i lane = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
        // Byte k takes input byte k - 8 + int_len (k < 8; negative: zero) or k - 7 + int_len
        // (k >= 8, past the '.'), zero from k = 8 + frac_len on (a set high bit zeroes).
        __m128i from = _mm_add_epi8(lane, _mm_set1_epi8(static_cast<char>(int_len - 8)));
        from = _mm_add_epi8(from, _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1));
        from = _mm_or_si128(from, _mm_cmpgt_epi8(lane, _mm_set1_epi8(static_cast<char>(7 + frac_len))));
        out = static_cast<std::int64_t>(number_of_16(_mm_shuffle_epi8(c.values, from)));
        return true;
      }
    }
  }
#endif
  const char* p = s.data();
  const char* const end = p + s.size();
  std::uint64_t units = 0;  // <= 19 digits: no wrap in 64 unsigned bits
  auto digit = [](char c) noexcept { return static_cast<unsigned>(c - '0') <= 9u; };
  while (p != end && digit(*p)) units = units * 10 + static_cast<std::uint64_t>(*p++ - '0');
  std::size_t digits = static_cast<std::size_t>(p - s.data());
  std::size_t frac = 0;
  if (p != end) {
    if (*p != '.') return false;
    const char* const f0 = ++p;
    while (p != end && digit(*p)) units = units * 10 + static_cast<std::uint64_t>(*p++ - '0');
    if (p != end) return false;
    frac = static_cast<std::size_t>(p - f0);
    digits += frac;
  }
  if (digits == 0 || digits > 18 || frac > 8) return false;
  return !__builtin_mul_overflow(static_cast<std::int64_t>(units), pow10[8 - frac], &out);
}

bool md_of(const Raw& r, std::int64_t& out) noexcept {
  if ((r.kind == Kind::string || r.kind == Kind::number) && md_fast(r.text, out)) return true;
  core::Decimal d;
  if (!decimal_of(r, d)) return false;
  const auto s = core::to_steps_rounded(d, core::market_data_step);
  if (!s.ok() || s.steps < 0) return false;
  out = s.steps;
  return true;
}

bool uint_of(const Raw& r, std::uint64_t& out) noexcept {
  if (r.kind != Kind::number && r.kind != Kind::string) return false;
  if (r.text.empty() || r.text.size() > 19) return false;
#ifdef TS_DECODER_SIMD
  if (r.text.size() <= 16) {  // millisecond timestamps have 13 digits: right-aligned, one pass
    const std::size_t n = r.text.size();
    const Classified c = classify(r.text.data(), n);
    if (c.digits != static_cast<std::uint32_t>((1u << n) - 1)) return false;
    const __m128i lane = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i from = _mm_add_epi8(lane, _mm_set1_epi8(static_cast<char>(static_cast<int>(n) - 16)));
    out = number_of_16(_mm_shuffle_epi8(c.values, from));
    return true;
  }
#endif
  std::uint64_t v = 0;
  for (char c : r.text) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

}  // namespace

DecodeResult Decoder::Impl::order() {
  TS_REQUIRE_STRING(id, "id");
  if (f.id.text.size() > 64) return fail(WireError::bad_field, "id must be at most 64 bytes");
  TS_REQUIRE_STRING(symbol, "symbol");
  TS_REQUIRE_STRING(side, "side");
  app::OrderCmd c;
  c.id = f.id.text;
  c.symbol = f.symbol.text;
  if (f.account.present()) {
    if (f.account.kind != Kind::string) return fail(WireError::bad_field, "account must be a string");
    c.account = f.account.text;
  }
  if (f.side.text == "buy") c.side = core::Side::buy;
  else if (f.side.text == "sell") c.side = core::Side::sell;
  else return fail(WireError::bad_field, "side must be \"buy\" or \"sell\"");
  if (f.kind.present()) {
    if (f.kind.text == "limit" && f.kind.kind == Kind::string) c.kind = app::OrderKind::limit;
    else if (f.kind.text == "market" && f.kind.kind == Kind::string) c.kind = app::OrderKind::market;
    else return fail(WireError::bad_field, "kind must be \"limit\" or \"market\"");
  }
  if (f.tif.present()) {
    if (f.tif.kind != Kind::string) return fail(WireError::bad_field, "tif must be \"gtc\", \"ioc\" or \"fok\"");
    if (f.tif.text == "gtc") c.tif = app::Tif::gtc;
    else if (f.tif.text == "ioc") c.tif = app::Tif::ioc;
    else if (f.tif.text == "fok") c.tif = app::Tif::fok;
    else return fail(WireError::bad_field, "tif must be \"gtc\", \"ioc\" or \"fok\"");
  }
  if (f.priority.present()) {
    if (f.priority.kind != Kind::string) return fail(WireError::bad_field, "priority must be a string");
    if (f.priority.text == "normal") c.priority = core::Priority::normal;
    else if (f.priority.text == "vip") c.priority = core::Priority::vip;
    else if (f.priority.text == "emergency") c.priority = core::Priority::emergency;
    else return fail(WireError::bad_field, "priority must be \"normal\", \"vip\" or \"emergency\"");
  }
  if (!f.qty.present()) return fail(WireError::missing_field, "qty is required");
  if (!decimal_of(f.qty, c.qty)) return fail(WireError::bad_field, "qty must be a decimal number or string");
  if (f.price.present()) {
    if (!decimal_of(f.price, c.price)) return fail(WireError::bad_field, "price must be a decimal number or string");
    c.has_price = true;
  } else if (c.kind == app::OrderKind::limit) {
    return fail(WireError::missing_field, "price is required for a limit order");
  }
  return app::Command{c};
}

DecodeResult Decoder::Impl::cancel() {
  TS_REQUIRE_STRING(id, "id");
  app::CancelCmd c;
  c.id = f.id.text;
  if (f.symbol.present()) {
    if (f.symbol.kind != Kind::string) return fail(WireError::bad_field, "symbol must be a string");
    c.symbol = f.symbol.text;
  }
  if (f.account.present()) {
    if (f.account.kind != Kind::string) return fail(WireError::bad_field, "account must be a string");
    c.account = f.account.text;
  }
  return app::Command{c};
}

DecodeResult Decoder::Impl::replace() {
  TS_REQUIRE_STRING(id, "id");
  app::ReplaceCmd c;
  c.id = f.id.text;
  if (f.account.present()) {
    if (f.account.kind != Kind::string) return fail(WireError::bad_field, "account must be a string");
    c.account = f.account.text;
  }
  if (f.price.present()) {
    if (!decimal_of(f.price, c.price)) return fail(WireError::bad_field, "price must be a decimal number or string");
    c.has_price = true;
  }
  if (f.qty.present()) {
    if (!decimal_of(f.qty, c.qty)) return fail(WireError::bad_field, "qty must be a decimal number or string");
    c.has_qty = true;
  }
  if (!c.has_price && !c.has_qty) return fail(WireError::missing_field, "replace needs price or qty");
  return app::Command{c};
}

DecodeResult Decoder::Impl::tick(bool binance) {
  app::TickCmd t;
  const Raw& sym = binance ? f.b_s : f.symbol;
  const Raw* vals[4] = {binance ? &f.b_b : &f.bid, binance ? &f.b_a : &f.ask, binance ? &f.b_B : &f.bid_size,
                        binance ? &f.b_A : &f.ask_size};
  static constexpr std::string_view bad[2][4] = {
      {"bid must be a non-negative decimal", "ask must be a non-negative decimal",
       "bid_size must be a non-negative decimal", "ask_size must be a non-negative decimal"},
      {"b must be a non-negative decimal", "a must be a non-negative decimal", "B must be a non-negative decimal",
       "A must be a non-negative decimal"}};
  if (!sym.present()) return fail(WireError::missing_field, binance ? "s is required" : "symbol is required");
  if (sym.kind != Kind::string || sym.text.empty() || sym.text.size() > 32) {
    return fail(WireError::bad_field, "symbol must be a string of 1..32 bytes");
  }
  t.symbol = sym.text;
  std::int64_t* outs[4] = {&t.bid, &t.ask, &t.bid_size, &t.ask_size};
  for (int i = 0; i < 4; ++i) {
    if (!vals[i]->present()) {
      if (i >= 2) continue;  // sizes are optional in our own schema
      return fail(WireError::missing_field, binance ? (i == 0 ? "b is required" : "a is required")
                                                    : (i == 0 ? "bid is required" : "ask is required"));
    }
    if (!md_of(*vals[i], *outs[i])) return fail(WireError::bad_field, bad[binance ? 1 : 0][i]);
  }
  std::uint64_t v = 0;
  const Raw& ts = binance ? f.b_E : f.ts;
  if (ts.present()) {
    if (!uint_of(ts, v)) return fail(WireError::bad_field, "ts must be a non-negative integer (ms)");
    t.ts_ms = static_cast<std::int64_t>(v);
  }
  if (binance && f.b_u.present()) {
    if (!uint_of(f.b_u, v)) return fail(WireError::bad_field, "u must be a non-negative integer");
    t.update_id = v;
  }
  return app::Command{t};
}

DecodeResult Decoder::Impl::subscribe(bool on) {
  if (!f.channels.present()) return fail(WireError::missing_field, "channels is required");
  if (f.channels.kind != Kind::other) return fail(WireError::bad_field, "channels must be an array of strings");
  app::SubscribeCmd c;
  c.subscribe = on;
  c.channels = &channels;
  if (channels.empty()) return fail(WireError::bad_field, "channels must be a non-empty array of strings");
  return app::Command{c};
}

DecodeResult Decoder::Impl::decode(std::string_view text, std::size_t padding) {
  for (std::size_t i = 0; i < touched_count; ++i) *touched[i] = Raw{};
  touched_count = 0;
  channels.clear();
  const char* data = text.data();
  if (padding < simdjson::SIMDJSON_PADDING) {
    padded.assign(text);
    padded.resize(text.size() + simdjson::SIMDJSON_PADDING, '\0');
    data = padded.data();
  }
  od::document doc;
  if (parser.iterate(data, text.size(), text.size() + simdjson::SIMDJSON_PADDING).get(doc)) {
    return fail(WireError::bad_json, "not valid JSON");
  }
  od::object obj;
  if (doc.get_object().get(obj)) return fail(WireError::bad_json, "message must be a JSON object");
  for (auto field_r : obj) {
    od::field field;
    std::string_view key;
    if (std::move(field_r).get(field)) return fail(WireError::bad_json, "not valid JSON");
    od::value v = field.value();
    // The value's first bytes (what value::type() looks at), peeked once.
    const std::string_view token = v.raw_json_token();
    key = raw_key(field.key().raw(), token.data());
    Raw* r = slot(f, key);
    if (!r && !no_backslash(key.data(), key.size())) {  // an escaped spelling of a known key?
      if (field.unescaped_key().get(key)) return fail(WireError::bad_json, "not valid JSON");
      r = slot(f, key);
    }
    if (!r) {
      continue;  // unknown keys are ignored (forward compatibility); On-Demand skips the value
    }
    if (!r->present()) touched[touched_count++] = r;
    const char c0 = token.empty() ? '\0' : token[0];
    if (c0 == '"') {
      if (!string_token_in_place(token, r->text)) {
        if (v.get_string().get(r->text)) return fail(WireError::bad_json, "invalid string");
      }
      r->kind = Kind::string;
    } else if (c0 == '-' || (c0 >= '0' && c0 <= '9')) {
      r->text = trim(token);
      r->kind = Kind::number;
    } else if (r == &f.channels && c0 == '[') {
      r->kind = Kind::other;
      od::array arr;
      if (v.get_array().get(arr)) return fail(WireError::bad_json, "not valid JSON");
      for (auto el : arr) {
        std::string_view ch;
        if (el.get_string().get(ch)) return fail(WireError::bad_field, "channels must be an array of strings");
        if (channels.size() >= 64) return fail(WireError::bad_field, "at most 64 channels per message");
        channels.push_back(ch);
      }
    } else {
      r->kind = Kind::other;  // wrong JSON type for a known key; reported by the message's checks
    }
  }
  const char* rest = nullptr;
  if (doc.current_location().get(rest) == simdjson::SUCCESS) {
    return fail(WireError::bad_json, "trailing content after the JSON object");
  }

  if (!f.type.present()) {
    if (f.b_s.present() && f.b_b.present()) return tick(true);
    return fail(WireError::missing_field, "type is required");
  }
  if (f.type.kind != Kind::string) return fail(WireError::bad_field, "type must be a string");
  const std::string_view type = f.type.text;
  if (type.size() == 4 && load_word<4>(type.data()) == word_of("tick")) return tick(false);
  if (type == "order") return order();
  if (type == "cancel") return cancel();
  if (type == "replace") return replace();
  if (type == "cancel_all") {
    app::CancelAllCmd c;
    if (f.symbol.kind == Kind::string) c.symbol = f.symbol.text;
    if (f.account.kind == Kind::string) c.account = f.account.text;
    return app::Command{c};
  }
  if (type == "ping") return app::Command{app::PingCmd{}};
  if (type == "subscribe") return subscribe(true);
  if (type == "unsubscribe") return subscribe(false);
  if (type == "login") {
    TS_REQUIRE_STRING(api_key, "api_key");
    return app::Command{app::LoginCmd{f.api_key.text}};
  }
  return fail(WireError::unknown_type, "unknown message type");
}

#undef TS_REQUIRE_STRING

Decoder::Decoder() : impl_(std::make_unique<Impl>()) {}
Decoder::~Decoder() = default;

DecodeResult Decoder::decode(std::string_view text, std::size_t padding) { return impl_->decode(text, padding); }

}  // namespace tradeshard::protocol

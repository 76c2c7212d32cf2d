#pragma once
// Byte-level scanners for the JSON decoder (src/protocol/decoder.cpp, the only includer): string
// and key ends from simdjson's token positions, key words, and market-data numbers. Every pointer
// they read from has SIMDJSON_PADDING (64) readable bytes after the text it delimits (the session
// buffers, the decoder's padded copy, or simdjson's string buffer), so fixed-size loads past the
// end are safe. Built for the haswell kernel where the decoder is (AVX2 + BMI: CMakeLists.txt),
// with scalar code otherwise.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#if defined(__AVX2__) && defined(__BMI__)
#include <immintrin.h>
#define TS_SCAN_SIMD 1
#endif

namespace tradeshard::protocol::scan {
// Internal linkage, as when these lived in decoder.cpp, and the scanners of the tick path
// forced inline: as calls (GCC stops inlining them once they have a second call site) tick
// ingest measured 8-10% slower.
namespace {
#define TS_SCAN_HOT inline __attribute__((always_inline))

inline bool json_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// No backslash in [p, p + n). p has at least 32 readable bytes after it: it lies in a document
// simdjson has indexed, which is followed by SIMDJSON_PADDING (64) readable bytes.
TS_SCAN_HOT bool no_backslash(const char* p, std::size_t n) noexcept {
#ifdef TS_SCAN_SIMD
  if (n <= 32) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    const auto hits = static_cast<std::uint32_t>(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, _mm256_set1_epi8('\\'))));
    return (hits & static_cast<std::uint32_t>((std::uint64_t{1} << n) - 1)) == 0;
  }
#endif
  return std::memchr(p, '\\', n) == nullptr;
}

inline std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && json_space(s.back())) s.remove_suffix(1);
  return s;
}

// Strings are read in place, without a per-byte scan for their end: simdjson's raw token of a
// value runs from its first byte to the next structural character, so a string's token is its
// opening quote, its bytes, its closing quote and any whitespace. Without a backslash inside, the
// last quote of the token closes it and the string's value is the span between (a backslash
// takes simdjson's unescaping instead). Scanning byte by byte for the closing quote cost a branch
// miss per string: key and value lengths change from line to line.
TS_SCAN_HOT bool string_token_in_place(std::string_view token, std::string_view& out) noexcept {
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
inline std::string_view raw_key(const char* key, const char* value) noexcept {
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
inline std::uint64_t load_word(const char* p) noexcept {
  static_assert(N >= 1 && N <= 8);
  std::uint64_t v = 0;
  std::memcpy(&v, p, 8);  // little-endian host (x86-64), as word_of assumes
  if constexpr (N < 8) v &= (std::uint64_t{1} << (8 * N)) - 1;
  return v;
}

#ifdef TS_SCAN_SIMD
// Sixteen digit values (0..9), most significant first, as one number: pairs, then fours, then
// eights, by multiply-add (no per-digit loop, no branch on how many digits there are).
inline std::uint64_t number_of_16(__m128i digits) noexcept {
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
inline Classified classify(const char* p, std::size_t n) noexcept {
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
// decimals to round, overflow) takes the decoder's general path (core::parse_decimal), which
// decides and reports.
// Values carry SIMDJSON_PADDING readable bytes after them (the input's or simdjson's buffers).
TS_SCAN_HOT bool md_fast(std::string_view s, std::int64_t& out) noexcept {
  static constexpr std::int64_t pow10[9] = {1, 10, 100, 1'000, 10'000, 100'000, 1'000'000, 10'000'000,
                                            100'000'000};
  if (s.empty() || s.size() > 19) return false;
#ifdef TS_SCAN_SIMD
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

// Plain digits only (1..19 of them) as an unsigned integer; false for anything else. Millisecond
// timestamps have 13 digits: right-aligned in 16 bytes, one pass.
inline bool plain_uint(std::string_view s, std::uint64_t& out) noexcept {
  if (s.empty() || s.size() > 19) return false;
#ifdef TS_SCAN_SIMD
  if (s.size() <= 16) {
    const std::size_t n = s.size();
    const Classified c = classify(s.data(), n);
    if (c.digits != static_cast<std::uint32_t>((1u << n) - 1)) return false;
    const __m128i lane = _mm_setr_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    const __m128i from = _mm_add_epi8(lane, _mm_set1_epi8(static_cast<char>(static_cast<int>(n) - 16)));
    out = number_of_16(_mm_shuffle_epi8(c.values, from));
    return true;
  }
#endif
  std::uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    v = v * 10 + static_cast<std::uint64_t>(c - '0');
  }
  out = v;
  return true;
}

// RFC 8259's number grammar, exactly: -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?.
// simdjson's On-Demand front end reads a value only when asked for it, and the decoder reads
// number tokens as text; without this check NaN-like words starting with '-' ("-Infinity") and
// non-JSON spellings ("01", "1.", "-") would be taken for numbers.
inline bool json_number(std::string_view s) noexcept {
  auto digit = [](char c) noexcept { return static_cast<unsigned>(c - '0') <= 9u; };
  const char* p = s.data();
  const char* const end = p + s.size();
  if (p != end && *p == '-') ++p;
  if (p == end || !digit(*p)) return false;
  if (*p++ != '0') {
    while (p != end && digit(*p)) ++p;
  }
  if (p != end && *p == '.') {
    if (++p == end || !digit(*p)) return false;
    while (p != end && digit(*p)) ++p;
  }
  if (p != end && (*p == 'e' || *p == 'E')) {
    ++p;
    if (p != end && (*p == '+' || *p == '-')) ++p;
    if (p == end || !digit(*p)) return false;
    while (p != end && digit(*p)) ++p;
  }
  return p == end;
}

// A number token that md_fast or plain_uint accepted (digits and at most one '.', the first a
// digit) is JSON unless it has a leading zero or ends in its '.': two byte tests, no pass.
inline bool plain_number_is_json(std::string_view s) noexcept {
  return s.back() != '.' && (s[0] != '0' || s.size() == 1 || s[1] == '.');
}

inline bool json_literal(std::string_view s) noexcept { return s == "true" || s == "false" || s == "null"; }

#undef TS_SCAN_HOT
}  // namespace
}  // namespace tradeshard::protocol::scan

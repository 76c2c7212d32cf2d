#pragma once
// The link codec's byte-level pieces (src/link/codec.cpp, codec_node.cpp): little-endian writing,
// the frame header, and a bounds-checked payload reader. Private to src/link.
#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>

#include "tradeshard/link/codec.hpp"

namespace tradeshard::link::wire {

// ---- little-endian writing ----

inline void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
inline void put_u16(std::string& out, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
inline void put_i64(std::string& out, std::int64_t v) { put_u64(out, static_cast<std::uint64_t>(v)); }
template <class E>
inline void put_enum(std::string& out, E e) {
  put_u8(out, static_cast<std::uint8_t>(e));
}
inline void put_name(std::string& out, std::string_view s) {
  const std::size_t n = std::min(s.size(), max_name_bytes);
  put_u16(out, static_cast<std::uint16_t>(n));
  out.append(s.data(), n);
}

// Writes the header with a placeholder length, runs `body`, then patches the length.
template <class Body>
inline void frame(std::string& out, FrameType type, std::uint64_t seq, Body&& body) {
  const std::size_t at = out.size();
  put_u16(out, magic);
  put_u8(out, version);
  put_enum(out, type);
  put_u32(out, 0);
  put_u64(out, seq);
  body();
  const auto length = static_cast<std::uint32_t>(out.size() - at - header_bytes);
  for (int i = 0; i < 4; ++i) out[at + 4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
}

// ---- bounds-checked reading ----

class Reader {
 public:
  explicit Reader(std::string_view p) : p_(p) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  std::size_t left() const { return p_.size() - at_; }

  std::uint64_t uint(int bytes, const char* what) {
    if (!ok()) return 0;
    if (left() < static_cast<std::size_t>(bytes)) {
      fail(std::string("payload ends inside ") + what);
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p_[at_ + i])) << (8 * i);
    at_ += static_cast<std::size_t>(bytes);
    return v;
  }
  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(uint(1, what)); }
  std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(uint(2, what)); }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(uint(4, what)); }
  std::uint64_t u64(const char* what) { return uint(8, what); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(uint(8, what)); }
  bool flag(const char* what) {
    const auto v = u8(what);
    if (v > 1) fail(std::string(what) + " is not 0 or 1");
    return v == 1;
  }
  // An enum whose values run from `first` to `last`.
  template <class E>
  E enumerated(const char* what, E first, E last) {
    const auto v = u8(what);
    if (v < static_cast<std::uint8_t>(first) || v > static_cast<std::uint8_t>(last)) {
      fail(std::string(what) + " out of range: " + std::to_string(v));
      return first;
    }
    return static_cast<E>(v);
  }
  std::string name(const char* what) {
    const auto n = u16(what);
    if (!ok()) return {};
    if (n > max_name_bytes || n > left()) {
      fail(std::string(what) + " longer than " + (n > max_name_bytes ? "256 bytes" : "the payload"));
      return {};
    }
    std::string s(p_.substr(at_, n));
    at_ += n;
    return s;
  }
  // A count of items of `each` bytes that must fit in the rest of the payload (more may follow).
  std::uint32_t count_within(std::size_t each, const char* what) {
    const auto n = u32(what);
    if (ok() && static_cast<std::uint64_t>(n) * each > left()) {
      fail(std::string(what) + " " + std::to_string(n) + " does not fit the payload's " + std::to_string(left()) +
           " bytes");
    }
    return ok() ? n : 0;
  }
  // A count of items of `each` bytes that must fill exactly the rest of the payload.
  std::uint32_t count(std::size_t each, const char* what) {
    const auto n = u32(what);
    if (ok() && static_cast<std::uint64_t>(n) * each != left()) {
      fail(std::string(what) + " " + std::to_string(n) + " does not match the payload's " +
           std::to_string(left()) + " bytes");
    }
    return ok() ? n : 0;
  }
  void end() {
    if (ok() && left() != 0) fail(std::to_string(left()) + " bytes after the message");
  }

 private:
  std::string_view p_;
  std::size_t at_ = 0;
  std::string error_;
};

// The node frames' payloads (codec_node.cpp).
[[nodiscard]] Message decode_ticks(Reader& r);
[[nodiscard]] Message decode_node_output(Reader& r);

}  // namespace tradeshard::link::wire

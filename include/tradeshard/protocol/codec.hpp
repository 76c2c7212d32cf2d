#pragma once
// JSON wire codec: strict, bounded decoding with simdjson On-Demand (the hot path), and
// allocation-free encoding by appending to a caller's buffer. Not thread-safe: one per loop.
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tradeshard/app/messages.hpp"

namespace tradeshard::protocol {

using DecodeResult = std::variant<app::Command, app::DecodeError>;

class Decoder {
 public:
  Decoder();
  ~Decoder();
  Decoder(const Decoder&) = delete;
  Decoder& operator=(const Decoder&) = delete;

  // Decodes one JSON message. `padding` = readable bytes after text.end() (simdjson reads up to
  // 64 past the end); with less the text is copied first. Views in the result stay valid until the
  // next decode() call.
  [[nodiscard]] DecodeResult decode(std::string_view text, std::size_t padding = 0);

  // Lines mode. `lines` is a run of complete lines ('\n'-terminated, `padding` readable bytes
  // after it) that the caller is about to decode in order (it may skip some). Each decode() of
  // one of those lines is then served by a simdjson pass over up to 8 KiB of them (one stage 1
  // per pass instead of one per line). Results are exactly those of decoding each line alone: a
  // line a pass cannot serve exactly (bad JSON, two objects on a line, a skipped line...) is
  // decoded alone, and so is the rest of that pass. A decode() of text outside the run is
  // decoded alone. end_lines() ends the run.
  void begin_lines(std::string_view lines, std::size_t padding) noexcept;
  void end_lines() noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// False when this binary's decoder was built for AVX2 (haswell) and this CPU lacks it.
[[nodiscard]] bool decoder_supported_by_cpu() noexcept;

// Appends one message as a JSON object (no trailing newline) with the connection's `seq`.
void encode(std::string& out, const app::Outbound& message, std::uint64_t seq);

// Appends s as a JSON string literal (quotes included), escaping as RFC 8259 requires.
void append_json_string(std::string& out, std::string_view s);
// Market-data value (1e-8 fixed point) as a decimal string without trailing zeros ("50001.34").
void append_md(std::string& out, std::int64_t value);

}  // namespace tradeshard::protocol

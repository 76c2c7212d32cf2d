#pragma once
// The parse-only floor: what any simdjson-based ingest pays before it does anything with a tick.
// One simdjson On-Demand pass (iterate_many, no helper thread) over a read's complete lines,
// visiting every key and every value's raw token: no number conversion, no routing, no
// strategies. It is built with the decoder's kernel flags, and batched (one stage 1 per read),
// which is faster than the daemon's one document per line, so it is a generous upper bound for
// "decode alone" in the same process placement as the other baselines.
#include <cstddef>
#include <cstdint>
#include <memory>

namespace tradeshard::bench {

class ParseFloor {
 public:
  static constexpr std::size_t padding = 64;  // simdjson::SIMDJSON_PADDING, checked in the .cpp

  ParseFloor();
  ~ParseFloor();
  ParseFloor(const ParseFloor&) = delete;
  ParseFloor& operator=(const ParseFloor&) = delete;

  // Walks the JSON documents in [data, data + len) (len <= 128 KiB: one read plus a carried
  // partial line), which ends just after a '\n'. The `padding`
  // bytes after it must be writable: they are borrowed for simdjson and restored. Returns the
  // number of documents walked (a malformed document ends the pass, as it would end a stream).
  std::uint64_t walk(char* data, std::size_t len);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradeshard::bench

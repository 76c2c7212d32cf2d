// libFuzzer target: bytes arriving on a gateway <-> worker link (cluster mode, docs/cluster.md
// "The link"): the frame reader, then every frame's decoder.
//
// Input: byte 0 sets how the stream is cut into reads (1..64 bytes), the rest is the stream.
// Oracles: nothing crashes or trips a sanitizer; the frames (and the error, if any) are the same
// however the stream is cut; every decoded frame re-encodes to exactly the bytes it came from.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/link/codec.hpp"

using namespace tradeshard::link;

namespace {
void check(bool ok) {
  if (!ok) std::abort();
}

struct Seen {
  std::vector<std::string> frames;  // header + payload bytes
  std::string error;
};

Seen read_all(std::string_view stream, std::size_t cut) {
  Seen out;
  FrameReader reader(1 << 16);
  for (std::size_t at = 0; at < stream.size(); at += cut) {
    reader.feed(stream.substr(at, cut));
    while (auto f = reader.next()) {
      std::string wire;
      std::string error;
      if (auto m = decode(*f, error)) {
        if (f->type == FrameType::pong) {
          append_pong(wire, f->seq, std::get<Ping>(*m));
        } else {
          append(wire, f->seq, *m);
        }
        check(wire.size() == header_bytes + f->payload.size());
        check(std::string_view(wire).substr(header_bytes) == f->payload);
      } else {
        check(!error.empty());
      }
      out.frames.push_back(wire);
    }
    if (!reader.error().empty()) break;
  }
  out.error = reader.error();
  return out;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const std::size_t cut = 1 + data[0] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data + 1), size - 1);
  const Seen whole = read_all(stream, stream.size() + 1);
  const Seen pieces = read_all(stream, cut);
  check(whole.frames == pieces.frames);
  check(whole.error == pieces.error);
  return 0;
}

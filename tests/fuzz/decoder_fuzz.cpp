// libFuzzer target: the JSON line decoder (protocol::Decoder) on arbitrary bytes, used the way
// the sessions use it.
//  1. The whole input as one message (a WebSocket frame; no padding: the decoder copies it).
//  2. The input as a TCP read: the complete lines (up to the last '\n') are one lines-mode run
//     (begin_lines) in a buffer with exactly 64 readable bytes after the input (the partial last
//     line, then padding), each line decoded in place as TcpSession does ('\r' dropped, blank lines
//     skipped, lines starting {"skip" left unread like an oversize line).
// Oracle: besides ASan/UBSan, every line's result in lines mode must equal decoding that line
// alone (codec.hpp promises exactly that); a difference aborts.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>

#include "describe.hpp"

using namespace tradeshard;

namespace {
constexpr std::size_t kPadding = 64;  // what the sessions guarantee (simdjson's padding)
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static protocol::Decoder lines_decoder;  // the server's one decoder, reused across messages
  static protocol::Decoder alone;
  const std::string_view input(reinterpret_cast<const char*>(data), size);

  // 1. One message, copied by the decoder (padding 0).
  (void)fuzz::describe(alone.decode(input));

  // 2. A TCP read: exactly kPadding bytes after the input, so ASan sees any read beyond them.
  const std::size_t run_size = [&] {
    const auto nl = input.rfind('\n');
    return nl == std::string_view::npos ? 0 : nl + 1;
  }();
  const std::size_t buf_size = size + kPadding;
  const auto buf = std::make_unique<char[]>(buf_size);
  if (size > 0) std::memcpy(buf.get(), data, size);
  std::memset(buf.get() + size, 'x', kPadding);  // stale bytes, as in a reused session buffer
  if (run_size > 0) lines_decoder.begin_lines(std::string_view(buf.get(), run_size), buf_size - run_size);
  for (std::size_t pos = 0; pos < run_size;) {
    const std::size_t nl = input.find('\n', pos);
    std::size_t len = nl - pos;
    const char* start = buf.get() + pos;
    pos = nl + 1;
    if (len > 0 && start[len - 1] == '\r') --len;
    const std::string_view line(start, len);
    if (len == 0 || line.starts_with(R"({"skip")")) continue;
    const std::string copy(line);
    const std::string want = fuzz::describe(alone.decode(copy));
    const auto padding = static_cast<std::size_t>(buf.get() + buf_size - (start + len));
    const std::string got = fuzz::describe(lines_decoder.decode(line, padding));
    if (got != want) fuzz::mismatch("lines mode differs from decoding the line alone", copy, want, got);
  }
  lines_decoder.end_lines();
  return 0;
}

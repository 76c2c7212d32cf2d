// Decoder lines mode (one simdjson pass over a run of lines) against decoding each line alone:
// every result and every error must be the same, whatever the run holds.
#include <doctest/doctest.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "fuzz/describe.hpp"
#include "tradeshard/protocol/codec.hpp"

using namespace tradeshard;
using protocol::Decoder;

namespace {

using fuzz::describe;  // everything a result carries, as text (shared with the fuzz targets)

// Splits `input` the way TcpSession does (on '\n', one trailing '\r' dropped, blank lines
// skipped; lines starting {"skip" stand for those it skips unread, like an oversize line) and
// decodes every other line twice: alone (a copy, no padding) and in lines mode (in place
// in a padded buffer, after begin_lines over all of it). Returns how many lines were checked.
// `tail` is what follows the run in the buffer (the next, partial line), then padding.
std::size_t check_run(const std::string& input, Decoder& lines_decoder, const std::string& tail = "x") {
  REQUIRE((input.empty() || input.back() == '\n'));
  std::string buf = input + tail;
  buf.append(64, 'x');
  Decoder alone;
  lines_decoder.begin_lines(std::string_view(buf.data(), input.size()), buf.size() - input.size());
  std::size_t checked = 0;
  for (std::size_t pos = 0; pos < input.size();) {
    const std::size_t nl = input.find('\n', pos);
    std::size_t len = nl - pos;
    const char* start = buf.data() + pos;
    pos = nl + 1;
    if (len > 0 && start[len - 1] == '\r') --len;
    if (len == 0 || std::string_view(start, len).starts_with(R"({"skip")")) continue;
    const std::string copy(start, len);
    const std::string want = describe(alone.decode(copy));
    const std::string got = describe(lines_decoder.decode(std::string_view(start, len), buf.size() - (start - buf.data()) - len));
    INFO("line: " << copy);
    CHECK(got == want);
    ++checked;
  }
  lines_decoder.end_lines();
  return checked;
}

const char* const kTick = R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.10","ask":"50000.20","bid_size":"1.5","ask_size":"2","ts":1700000000123})";

}  // namespace

TEST_CASE("Decoder lines mode: clean runs decode as lines alone") {
  Decoder d;
  std::string run;
  for (int i = 0; i < 50; ++i) run += std::string(kTick) + "\n";
  run += R"({"e":"bookTicker","u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})" "\n";
  run += R"({"type":"order","id":"o-1","symbol":"BTCUSDT","side":"sell","price":"50001","qty":"0.5","tif":"ioc"})" "\r\n";
  run += "\n\r\n";
  run += R"({"type":"subscribe","channels":["signals","quotes:BTCUSDT","bars:BTCUSDT:1s"]})" "\n";
  run += R"({"type":"tick","symbol":"ESC\u0041PED","bid":"1","ask":"2"})" "\n";
  run += R"({"skip":1})" "\n";
  run += R"({"type":"ping"})" "\n";
  CHECK(check_run(run, d) == 55);
}

TEST_CASE("Decoder lines mode: lines the pass cannot serve are decoded alone, the rest still right") {
  Decoder d;
  const std::vector<std::string> bad = {
      R"({"type":"tick","symbol":"A","bid":"1",)",                  // runs on into the next line
      R"(})",                                                        // closes the line before in a stream
      R"({"type":"tick","symbol":"A","bid":"1","ask":"2"}{"type":"ping"})",  // two objects on one line
      R"(  {"type":"ping"})",                                        // leading blanks
      R"("just a string")",
      R"([1,2,3])",
      R"({"type":"tick","symbol":"A","bid":"1","ask":"2"} x)",
      R"({"type":"tick","symbol":"A","bid":1e400,"ask":"2"})",
      "{\"type\":\"tick\",\"symbol\":\"\xff\xfe\",\"bid\":\"1\",\"ask\":\"2\"}",  // invalid UTF-8
      R"({"type":"tick","symbol":"A","bid":"1","ask":"2")",            // unclosed at the end
      R"({"type":"order","id":"x"})",                                  // valid JSON, missing fields
      R"({"type":"tick","symbol":"A","bid":"-1","ask":"2"})",
      R"({"type":"tick","symbol":"A","bid":"1","ask":"2","ts":-5})",
      R"({"a":{"b":[1,{"c":"}"}]},"type":"ping"})",
      R"({"type":"tick","symbol":"unterminated)",
  };
  // Each bad line between good ones, at the start and at the end of a run.
  for (const auto& b : bad) {
    CAPTURE(b);
    const std::string good = std::string(kTick) + "\n";
    check_run(good + b + "\n" + good + good, d);
    check_run(b + "\n" + good + good, d);
    check_run(good + good + b + "\n", d);
    check_run(b + "\n" + b + "\n" + good, d);
  }
}

// What follows a run (the start of the next, partial line) and a pass's last line ending in
// junk, a cut-off value or a stray UTF-8 lead byte: simdjson's streaming stage 1 drops or trims
// such tails, so the pass must not take them for a clean end.
TEST_CASE("Decoder lines mode: a pass's last line and the bytes after the run") {
  Decoder d;
  const std::string good = std::string(kTick) + "\n";
  const std::vector<std::string> last_lines = {
      R"({"type":"order","id":"o","symbol":"X","side":"buy","qty":"1","price":"2")",
      "{", R"({"a":1)", R"({"type":"ping")", R"({"type":"ping"}{)", R"({"type":"ping"} ["x")",
      R"({"type":"ping"} [1,)", "{\"type\":\"ping\"}\xE2", "{\"type\":\"ping\"}\xFF", "{\"type\":\"ping\"}\xF0\x9F",
      R"({"a":"x)", R"({"a":"x)" "\r", R"({}"s":"B","b":"1","a":"2","E":})", R"({"type":"ping"}  )", R"({"type":"ping"})",
  };
  const std::vector<std::string> tails = {"x", "}", "]", ",", "\"", "{", "}\n", R"("}")", "\n"};
  for (const auto& last : last_lines) {
    for (const auto& tail : tails) {
      CAPTURE(last);
      CAPTURE(tail);
      check_run(good + last + "\n", d, tail);
      check_run(good + good + last + "\n" + good, d, tail);
      check_run(good + last + "\n" + last + "\n", d, tail);
    }
  }
  // The same at an 8 KiB pass boundary: a line starting with '}' right after the pass's end.
  std::string run;
  while (run.size() < 8192 - 200) run += good;
  const std::string open_line = R"({"type":"order","id":"o","symbol":"X","side":"buy","qty":"1","price":"2")";
  run += std::string(8192 - run.size() - open_line.size() - 1, ' ') + open_line + "\n";
  CHECK(run.size() == 8192);
  check_run(run + "}\n" + good, d);
  check_run(run + "},\"type\":\"ping\"}\n" + good, d);
}

TEST_CASE("Decoder lines mode: random runs across pass boundaries match lines alone") {
  std::mt19937_64 rng(20261129);
  const std::vector<std::string> pieces = {
      kTick,
      R"({"s":"ETHUSDT","b":"3000.5","B":"10","a":"3000.6","A":"11","u":7,"E":1700000000000})",
      R"({"type":"cancel","id":"c-7","symbol":"ETHUSDT"})",
      R"({"type":"replace","id":"r-1","price":"10.5"})",
      R"({"type":"tick","symbol":"X","bid":"1",)",
      R"("symbol":"X"})",
      R"(})",
      R"({"type":"ping"}{"type":"ping"})",
      R"({"type":"tick","symbol":"Q\"uote","bid":"0.00000001","ask":"99999999.99999999"})",
      R"({"type":"login","api_key":"k\n1"})",
      R"(nul)",
      R"({"type":"tick","symbol":"A","bid":"1","ask":"2","extra":{"deep":[[[]]]}})",
      R"({"skip":"this line is not decoded"})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2"}{)",
      "{\"type\":\"ping\"}\xFF",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2)",
  };
  Decoder d;
  std::size_t checked = 0;
  for (int run = 0; run < 60; ++run) {
    std::string input;
    // Mostly good lines; sizes reach past one pass (8 KiB) so passes start mid-run.
    const int n = 1 + static_cast<int>(rng() % 400);
    for (int i = 0; i < n; ++i) {
      const auto pick = rng() % 100;
      input += pick < 70 ? pieces[0] : pieces[1 + pick % (pieces.size() - 1)];
      if (rng() % 20 == 0) input += "\r";
      input += "\n";
      if (rng() % 50 == 0) input += "\n";
    }
    if (rng() % 10 == 0) input += "{\"type\":\"ping\",\"pad\":\"" + std::string(9000, 'p') + "\"}\n";  // over a pass
    checked += check_run(input, d);
  }
  CHECK(checked > 10000);
}

TEST_CASE("Decoder lines mode: text outside the run and end_lines fall back to decoding alone") {
  Decoder d;
  std::string buf = std::string(kTick) + "\n" + kTick + "\n";
  buf.append(64, ' ');
  d.begin_lines(std::string_view(buf.data(), buf.size() - 64), 64);
  const std::string other = R"({"type":"ping"})";
  CHECK(describe(d.decode(other)) == "ping");  // another connection's message in between
  const auto first = d.decode(std::string_view(buf.data(), std::string(kTick).size()), 64);
  CHECK(describe(first).rfind("tick [BTCUSDT] 5000010000000", 0) == 0);
  d.end_lines();
  const auto second = d.decode(std::string_view(buf.data() + std::string(kTick).size() + 1, std::string(kTick).size()), 64);
  CHECK(describe(second) == describe(first));
}

// Found by the decoder fuzz target (tests/fuzz/corpus/decoder/lines-wild-token-length): a
// malformed first line ("B":"..." followed by ':' and a stray ']') made simdjson's lines pass hand
// out a value token whose length ran far past the message; the strict-JSON check of an unread
// value read its last byte (SEGV under ASan). Tokens are now bounded by the message, and the line
// falls back to being decoded alone.
TEST_CASE("Decoder lines mode: a token measured past the message is not read") {
  Decoder d;
  const std::string run =
      R"({"u":0400900217,"s":"BNBUST","b":"3.125590000","B":"31.210000.6]mbol":"Ekind":"market","tif":"ioc","priority":"vip","qty":1.5})"
      "\n"
      R"(,"symbol":"ETHUSDT","side":"{ell","kind":"market","tif":"ioc","priority":"vip","qty":1000000"})"
      "\n";
  CHECK(check_run(run, d) == 2);
  CHECK(check_run(run, d, "") == 2);
}

// Found by the decoder fuzz target (tests/fuzz/corpus/decoder/lines-junk-after-last-object): the
// pass's last line held a complete object followed by junk (an invalid UTF-8 byte, then a quote
// that opens a string the pass never closes). simdjson ended the batch at the object, and the
// line was accepted as that object (missing_field) where decoding it alone says bad_json. The
// last document of a pass must now end exactly where its line ends.
TEST_CASE("Decoder lines mode: junk after the pass's last object is not dropped") {
  Decoder d;
  const std::string run = "{\"type\":\"ti .2\"}\r\n\n{\"y\":\"ti .2-\"}\xf5\"}\n";
  CHECK(check_run(run, d, "{\"typ") == 2);
  CHECK(check_run(run, d, "") == 2);
  const std::string spaced = std::string(kTick) + "\n" + kTick + "  \xf5\"}\n";
  CHECK(check_run(spaced, d) == 2);
  const std::string brace = std::string(kTick) + "\n" + kTick + " \"}\"}\n";
  CHECK(check_run(brace, d) == 2);
}

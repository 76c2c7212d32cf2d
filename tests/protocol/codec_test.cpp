#include <doctest/doctest.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <string>

#include "tradeshard/core/decimal.hpp"
#include "tradeshard/protocol/codec.hpp"

using namespace tradeshard;
using protocol::Decoder;

namespace {
const app::DecodeError* err(const protocol::DecodeResult& r) { return std::get_if<app::DecodeError>(&r); }
template <typename T>
const T* cmd(const protocol::DecodeResult& r) {
  const auto* c = std::get_if<app::Command>(&r);
  return c ? std::get_if<T>(c) : nullptr;
}
}  // namespace

// Ensure the issue's order example decodes exactly, with defaults applied.
TEST_CASE("Decoder: order with all fields and defaults") {
  Decoder d;
  auto r = d.decode(R"({"type":"order","id":"o-1","account":"acc-1","symbol":"BTCUSDT","side":"buy","kind":"limit","price":"50000.10","qty":"0.5","tif":"gtc","priority":"normal"})");
  const auto* o = cmd<app::OrderCmd>(r);
  REQUIRE(o);
  CHECK(o->id == "o-1");
  CHECK(o->account == "acc-1");
  CHECK(o->price == core::Decimal{500001, 1});
  CHECK(o->qty == core::Decimal{5, 1});
  r = d.decode(R"({"qty":2,"side":"sell","symbol":"EURUSD","id":"x","price":1.08512,"type":"order"})");
  o = cmd<app::OrderCmd>(r);
  REQUIRE(o);
  CHECK(o->kind == app::OrderKind::limit);
  CHECK(o->tif == app::Tif::gtc);
  CHECK(o->priority == core::Priority::normal);
  CHECK(o->price == core::Decimal{108512, 5});  // number token read exactly, not via double
}

// Ensure bad orders with an id are tied to that id, and the error names the field.
TEST_CASE("Decoder: order errors") {
  Decoder d;
  auto r = d.decode(R"({"type":"order","id":"o-9","symbol":"BTCUSDT","side":"up","price":"1","qty":"1"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
  CHECK(err(r)->id == "o-9");
  r = d.decode(R"({"type":"order","id":"o-9","symbol":"BTCUSDT","side":"buy","qty":"1"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::missing_field);
  r = d.decode(R"({"type":"order","symbol":"BTCUSDT","side":"buy","qty":"1","price":"2"})");
  REQUIRE(err(r));
  CHECK(err(r)->id.empty());
  r = d.decode(R"({"type":"order","id":7,"symbol":"BTCUSDT","side":"buy","qty":"1","price":"2"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
  r = d.decode(R"({"type":"order","id":"a","symbol":"BTCUSDT","side":"buy","qty":"abc","price":"2"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
}

// Ensure garbage of every kind yields a specific error, never a crash.
TEST_CASE("Decoder: malformed input") {
  Decoder d;
  CHECK(err(d.decode("{"))->code == app::WireError::bad_json);
  CHECK(err(d.decode("[1,2]"))->code == app::WireError::bad_json);
  CHECK(err(d.decode(""))->code == app::WireError::bad_json);
  CHECK(err(d.decode("\xff\xfe\x00garbage"))->code == app::WireError::bad_json);
  CHECK(err(d.decode("{\"type\":\"ping\"} trailing"))->code == app::WireError::bad_json);
  CHECK(err(d.decode("{\"type\":\"p\xc3\x28ng\"}"))->code == app::WireError::bad_json);  // invalid UTF-8
  CHECK(err(d.decode(R"({"type":"launch"})"))->code == app::WireError::unknown_type);
  CHECK(err(d.decode(R"({"foo":1})"))->code == app::WireError::missing_field);
  CHECK(err(d.decode(R"({"type":5})"))->code == app::WireError::bad_field);
  CHECK(cmd<app::PingCmd>(d.decode(R"({"type":"ping"})")));
}

// Ensure NaN, Infinity, -Infinity and every other non-JSON value are bad_json wherever they stand
// (a field the message reads, one it does not, an unknown key, nested, a duplicate), never a field
// error or a reject; the same words as strings are JSON and bad fields; valid numbers still decode.
TEST_CASE("Decoder: NaN, Infinity and other non-JSON values are bad_json") {
  Decoder d;
  const char* const words[] = {"NaN", "Infinity", "-Infinity", "-NaN", "+1", ".5", "1.", "01", "-01", "-", "1e",
                               "1e+", "1.e5", "0x10", "tru", "nul", "falsey", "undefined", "'x'", "1_000"};
  const std::string positions[] = {
      R"({"type":"tick","symbol":"X","bid":@,"ask":"2"})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","bid_size":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ask_size":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ts":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","price":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","b":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","unknown":@})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","unknown":[1,{"a":[@]}]})",
      R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ts":@,"ts":5})",
      R"({"u":@,"s":"X","b":"1","B":"1","a":"2","A":"1"})",
      R"({"u":1,"s":"X","b":"1","B":"1","a":"2","A":"1","E":@})",
      R"({"u":1,"s":"X","b":@,"B":"1","a":"2","A":"1"})",
      R"({"u":1,"s":"X","b":"1","B":"1","a":"2","A":"1","ts":@})",
      R"({"type":"order","id":"o-1","symbol":"X","side":"buy","price":@,"qty":"1"})",
      R"({"type":"order","id":"o-1","symbol":"X","side":"buy","price":"1","qty":@})",
      R"({"type":"order","id":"o-1","symbol":"X","side":"up","price":"1","qty":"1","bid":@})",
      R"({"type":"replace","id":"o-1","qty":@})",
      R"({"type":"cancel","id":@})",
      R"({"type":@})",
      R"({"type":"ping","ts":@})",
      R"({"type":"ping","x":@})",
      R"({"ts":@})",
      R"({"type":"subscribe","channels":["signals",@]})",
      R"({"type":"subscribe","channels":[1,@]})",
  };
  for (const auto& pos : positions) {
    for (const char* w : words) {
      std::string line = pos;
      line.replace(line.find('@'), 1, w);
      INFO(line);
      const auto r = d.decode(line);
      REQUIRE(err(r));
      CHECK(err(r)->code == app::WireError::bad_json);
      CHECK(err(r)->id.empty());
      // The same line in a lines-mode run, between valid lines.
      const std::string run = std::string(R"({"type":"ping"})") + "\n" + line + "\n" + R"({"type":"ping"})" + "\n";
      std::string padded = run + std::string(64, '\0');
      d.begin_lines(std::string_view(padded.data(), run.size()), 64);
      CHECK(cmd<app::PingCmd>(d.decode(std::string_view(padded.data(), 15), padded.size() - 15)));
      const auto lr = d.decode(std::string_view(padded.data() + 16, line.size()), padded.size() - 16 - line.size());
      REQUIRE(err(lr));
      CHECK(err(lr)->code == app::WireError::bad_json);
      CHECK(cmd<app::PingCmd>(d.decode(std::string_view(padded.data() + 17 + line.size(), 15),
                                       padded.size() - 17 - line.size() - 15)));
      d.end_lines();
    }
  }
  // As JSON strings they are JSON: a tick's value is a bad field, an order's a reject of its id.
  auto r = d.decode(R"({"type":"tick","symbol":"X","bid":"NaN","ask":"2"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
  r = d.decode(R"({"type":"order","id":"o-1","symbol":"X","side":"buy","price":"Infinity","qty":"1"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
  CHECK(err(r)->id == "o-1");
  // A field error and a non-JSON value elsewhere: bad_json wins.
  r = d.decode(R"({"type":"tick","symbol":"X","bid":"-1","ask":"2","ts":-Infinity})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_json);
  r = d.decode(R"({"type":"subscribe","channels":[1],"x":-Infinity})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_json);
  r = d.decode(R"({"type":"subscribe","channels":[1]})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
  // Malformed structure inside a value the decoder does not read.
  CHECK(err(d.decode(R"({"type":"ping","x":[1 2]})"))->code == app::WireError::bad_json);
  CHECK(err(d.decode(R"({"type":"ping","x":{"a" 1}})"))->code == app::WireError::bad_json);
  CHECK(err(d.decode(R"({"type":"ping","x":"bad \q escape"})"))->code == app::WireError::bad_json);
  // Every JSON number and literal is still accepted, read or not.
  for (const char* n : {"0", "-0", "7", "-7", "0.5", "-0.5", "10", "1e5", "1E+5", "1.5e-3", "-0e0", "123456789012"}) {
    const std::string line = std::string(R"({"type":"ping","x":)") + n + R"(,"ts":)" + n + R"(,"y":[)" + n +
                             R"(,true,false,null,{"z":)" + n + "}]}";
    INFO(line);
    CHECK(cmd<app::PingCmd>(d.decode(line)));
  }
  const auto tr = d.decode(R"({"type":"tick","symbol":"X","bid":0,"ask":1e1,"bid_size":0.5,"ask_size":10,"ts":0,"flag":true})");
  const auto* t = cmd<app::TickCmd>(tr);
  REQUIRE(t);
  CHECK(t->ask == 1000000000);
  CHECK(t->ts_ms == 0);
}

// Ensure both tick schemas decode to the market-data scale.
TEST_CASE("Decoder: ticks, own schema and Binance bookTicker") {
  Decoder d;
  auto r = d.decode(R"({"type":"tick","symbol":"BTCUSDT","bid":50000.12,"ask":"50001.34","bid_size":1.5,"ask_size":1.2,"ts":1700000000123})");
  const auto* t = cmd<app::TickCmd>(r);
  REQUIRE(t);
  CHECK(t->symbol == "BTCUSDT");
  CHECK(t->bid == 5000012000000);
  CHECK(t->ask == 5000134000000);
  CHECK(t->bid_size == 150000000);
  CHECK(t->ts_ms == 1700000000123);
  r = d.decode(R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})");
  t = cmd<app::TickCmd>(r);
  REQUIRE(t);
  CHECK(t->symbol == "BNBUSDT");
  CHECK(t->bid == 2535190000);
  CHECK(t->ask_size == 4066000000);
  CHECK(t->update_id == 400900217);
  // Off-grid market data is rounded to 1e-8, not rejected.
  r = d.decode(R"({"type":"tick","symbol":"X","bid":"1.123456789","ask":"2"})");
  t = cmd<app::TickCmd>(r);
  REQUIRE(t);
  CHECK(t->bid == 112345679);
  r = d.decode(R"({"type":"tick","symbol":"X","bid":"-1","ask":"2"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
  CHECK(err(r)->message == "bid must be a non-negative decimal");
}

// Ensure the in-place string fast path and the escape fallback agree, for keys and values.
TEST_CASE("Decoder: escaped keys and strings unescape; plain ones are read in place") {
  Decoder d;
  auto r = d.decode(R"({"type":"tick","symbol":"BTC\u0055SDT","bid":"1","ask":"2"})");
  const auto* t = cmd<app::TickCmd>(r);
  REQUIRE(t);
  CHECK(t->symbol == "BTCUSDT");
  r = d.decode(R"({"\u0074ype":"tick","sym\u0062ol":"A\"B","bid":"1","ask":"2"})");
  t = cmd<app::TickCmd>(r);
  REQUIRE(t);
  CHECK(t->symbol == "A\"B");
  r = d.decode(R"({ "type" : "tick" , "symbol" : "ETHUSDT" , "bid" : "1" , "ask" : "2" })");
  t = cmd<app::TickCmd>(r);
  REQUIRE(t);
  CHECK(t->symbol == "ETHUSDT");
  for (const std::string sym : {"ABCDEFG", "ABCDEFGH", "ABCDEFGHI", "ABCDEFGHIJKLMNOP", "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"}) {
    r = d.decode(R"({"type":"tick","symbol":")" + sym + R"(","bid":"1","ask":"2"})");
    t = cmd<app::TickCmd>(r);
    REQUIRE(t);
    CHECK(t->symbol == sym);
    if (sym.size() >= 32) continue;  // one more byte would pass the symbol limit
    r = d.decode(R"({"type":"tick","symbol":")" + sym.substr(0, 5) + R"(\t)" + sym.substr(5) + R"(","bid":"1","ask":"2"})");
    t = cmd<app::TickCmd>(r);
    REQUIRE(t);
    CHECK(t->symbol == sym.substr(0, 5) + "\t" + sym.substr(5));
  }
  r = d.decode(R"({"type":"tick","symbol":"","bid":"1","ask":"2"})");
  REQUIRE(err(r));
  CHECK(err(r)->code == app::WireError::bad_field);
}

// Ensure the market-data fast path gives what the general decimal path gives, and hands every
// other shape (exponents, rounding, overflow, signs) to it.
TEST_CASE("Decoder: market-data decimals, fast path and general path") {
  Decoder d;
  auto bid = [&](std::string_view v) -> std::optional<std::int64_t> {
    const std::string line = std::string(R"({"type":"tick","symbol":"X","ask":"1","bid":)") + std::string(v) + "}";
    const auto r = d.decode(line);
    const auto* t = cmd<app::TickCmd>(r);
    if (!t) return std::nullopt;
    return t->bid;
  };
  CHECK(bid(R"("0.5")") == 50000000);
  CHECK(bid(R"(".5")") == 50000000);
  CHECK(bid(R"("5.")") == 500000000);
  CHECK(bid(R"("007.25")") == 725000000);
  CHECK(bid(R"("0.00000001")") == 1);
  CHECK(bid(R"("12345678.87654321")") == 1234567887654321);    // 8 + 8 digits, one word each
  CHECK(bid(R"(12345678.87654321)") == 1234567887654321);      // same as a JSON number
  CHECK(bid(R"("123456789.5")") == 12345678950000000);         // 9 integer digits
  CHECK(bid(R"("99999999")") == 9999999900000000);
  CHECK(bid(R"("0")") == 0);
  CHECK_FALSE(bid(R"("12a4")").has_value());
  CHECK_FALSE(bid(R"("1234567/")").has_value());
  CHECK_FALSE(bid(R"("1:")").has_value());
  CHECK(bid(R"("0.000000015")") == 2);   // 9 decimals: rounded by the general path
  CHECK(bid(R"(1e2)") == 10000000000);    // exponent: general path
  CHECK(bid(R"("92233720368.54775807")") == INT64_MAX);
  CHECK_FALSE(bid(R"("92233720368.54775808")").has_value());  // one step past int64
  CHECK_FALSE(bid(R"("999999999999999999")").has_value());    // 18 digits x 1e8 overflows
  CHECK_FALSE(bid(R"("9999999999999999999")").has_value());   // 19 digits
  CHECK_FALSE(bid(R"("1.2.3")").has_value());
  CHECK_FALSE(bid(R"(".")").has_value());
  CHECK(bid(R"("+1")") == 100000000);  // a sign: general path
  CHECK_FALSE(bid(R"("-0.1")").has_value());
}

// Ensure the vectorised market-data conversion agrees with the general decimal path on every
// shape: random strings of digits and dots (1..20 bytes, so both the 16-byte vector path and the
// scalar path), with a sign or an exponent now and then, as JSON strings and as JSON numbers.
TEST_CASE("Decoder: market-data decimals match the general path on random input") {
  Decoder d;
  std::mt19937_64 rng(7);
  const std::string alphabet = "0123456789012345678901234567890123456789..+-e";
  int fast_shapes = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string v;
    const auto len = 1 + rng() % 20;
    for (std::size_t k = 0; k < len; ++k) {
      // Mostly digits, a dot in about one string in two, other bytes rarely.
      const auto roll = rng() % 100;
      v += roll < 90 ? alphabet[rng() % 10] : roll < 97 ? '.' : alphabet[40 + rng() % 5];
    }
    std::optional<std::int64_t> expect;
    const auto p = core::parse_decimal(v);
    if (p.ok()) {
      const auto steps = core::to_steps_rounded(p.value, core::market_data_step);
      if (steps.ok() && steps.steps >= 0) expect = steps.steps;
    }
    if (v.find_first_not_of("0123456789.") == std::string::npos && v.size() <= 16) ++fast_shapes;
    const bool as_number = rng() % 2 == 0 && nlohmann::json::accept(v);
    const std::string quoted = as_number ? v : "\"" + v + "\"";
    const std::string line = R"({"type":"tick","symbol":"X","bid":)" + quoted + R"(,"ask":"1","ts":)" +
                             std::to_string(rng() % 10'000'000'000'000'000ull) + "}";
    const auto r = d.decode(line);
    const auto* t = cmd<app::TickCmd>(r);
    INFO(line);
    CHECK((t != nullptr) == expect.has_value());
    if (t && expect) CHECK(t->bid == *expect);
  }
  CHECK(fast_shapes > 5000);
}

// Ensure the four market-data values convert the same whether they go two at a time or one by
// one: every value random, each checked against the general path, and a bad one reported first
// in order (bid, ask, bid_size, ask_size).
TEST_CASE("Decoder: all four market-data values match the general path on random input") {
  Decoder d;
  std::mt19937_64 rng(29);
  const std::string alphabet = "0123456789";
  const char* const names[4] = {"bid", "ask", "bid_size", "ask_size"};
  int all_ok = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string line = R"({"type":"tick","symbol":"X")";
    std::optional<std::int64_t> expect[4];
    for (int f = 0; f < 4; ++f) {
      std::string v;
      const auto len = 1 + rng() % 18;
      for (std::size_t k = 0; k < len; ++k) {
        const auto roll = rng() % 1000;
        v += roll < 930 ? alphabet[rng() % 10] : roll < 995 ? '.' : "+-e"[rng() % 3];
      }
      const auto p = core::parse_decimal(v);
      if (p.ok()) {
        const auto steps = core::to_steps_rounded(p.value, core::market_data_step);
        if (steps.ok() && steps.steps >= 0) expect[f] = steps.steps;
      }
      const bool as_number = rng() % 4 == 0 && nlohmann::json::accept(v);
      line += std::string(",\"") + names[f] + "\":" + (as_number ? v : "\"" + v + "\"");
    }
    line += "}";
    const auto r = d.decode(line);
    INFO(line);
    int first_bad = -1;
    for (int f = 0; f < 4 && first_bad < 0; ++f) {
      if (!expect[f]) first_bad = f;
    }
    if (first_bad < 0) {
      ++all_ok;
      const auto* t = cmd<app::TickCmd>(r);
      REQUIRE(t);
      CHECK(t->bid == *expect[0]);
      CHECK(t->ask == *expect[1]);
      CHECK(t->bid_size == *expect[2]);
      CHECK(t->ask_size == *expect[3]);
    } else {
      const auto* e = err(r);
      REQUIRE(e);
      CHECK(e->message == std::string(names[first_bad]) + " must be a non-negative decimal");
    }
  }
  CHECK(all_ok > 3000);
}

// Ensure millisecond timestamps of every length convert exactly, and anything but digits fails.
TEST_CASE("Decoder: integer fields of every length") {
  Decoder d;
  std::mt19937_64 rng(11);
  for (int len = 1; len <= 19; ++len) {
    for (int i = 0; i < 50; ++i) {
      std::string digits;
      for (int k = 0; k < len; ++k) digits += static_cast<char>('0' + rng() % 10);
      if (len > 1 && digits[0] == '0') {
        // A leading zero is not a JSON number (RFC 8259 §6); as a string it is read as digits.
        const auto z = d.decode(R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ts":)" + digits + "}");
        REQUIRE(err(z));
        CHECK(err(z)->code == app::WireError::bad_json);
        const auto q = d.decode(R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ts":")" + digits + "\"}");
        REQUIRE(cmd<app::TickCmd>(q));
        CHECK(static_cast<std::uint64_t>(cmd<app::TickCmd>(q)->ts_ms) == std::stoull(digits));
        digits[0] = static_cast<char>('1' + rng() % 9);
      }
      const auto r = d.decode(R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ts":)" + digits + "}");
      const auto* t = cmd<app::TickCmd>(r);
      INFO(digits);
      REQUIRE(t);
      CHECK(static_cast<std::uint64_t>(t->ts_ms) == std::stoull(digits));
      std::string bad = digits;
      bad[rng() % bad.size()] = "x:/ "[rng() % 4];
      const auto e = d.decode(R"({"type":"tick","symbol":"X","bid":"1","ask":"2","ts":")" + bad + "\"}");
      CHECK(err(e) != nullptr);
    }
  }
}

// Ensure strings and keys read in place equal what a full JSON parser reads, whatever the
// escapes, whitespace and lengths around them (the in-place reading works from simdjson's
// structural positions, not from a scan of the bytes).
TEST_CASE("Decoder: strings and keys in place match a full parser") {
  Decoder d;
  std::mt19937_64 rng(3);
  const std::string plain = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_/:.";
  const std::string escapes[] = {R"(\")", R"(\\)", R"(\/)", R"(\n)", R"(\t)", R"(\u0041)", R"(\u00e9)"};
  const std::string spaces[] = {"", " ", "\t", " \r\n "};
  auto space = [&] { return spaces[rng() % 4]; };
  for (int i = 0; i < 5000; ++i) {
    std::string sym;
    const auto len = 1 + rng() % 40;
    for (std::size_t k = 0; k < len; ++k) sym += rng() % 8 == 0 ? escapes[rng() % 7] : std::string(1, plain[rng() % plain.size()]);
    // The symbol key spelled plainly or with an escape; the other keys around it in random order.
    const std::string key = rng() % 4 == 0 ? R"(sym\u0062ol)" : "symbol";
    std::string line = "{" + space() + R"("type")" + space() + ":" + space() + R"("tick")" + space() + "," + space() +
                       "\"" + key + "\"" + space() + ":" + space() + "\"" + sym + "\"" + space() + "," + space() +
                       R"("note":")" + sym + "\"" + space() + "," + R"("bid":"1","ask")" + space() + ":" + space() +
                       R"("2")" + space() + "}" + space();
    const auto parsed = nlohmann::json::parse(line);
    const auto expect = parsed.at("symbol").get<std::string>();
    const auto r = d.decode(line);
    INFO(line);
    if (expect.size() > 32) {
      REQUIRE(err(r));
      CHECK(err(r)->code == app::WireError::bad_field);
      continue;
    }
    const auto* t = cmd<app::TickCmd>(r);
    REQUIRE(t);
    CHECK(t->symbol == expect);
    CHECK(t->bid == 100000000);
    CHECK(t->ask == 200000000);
  }
}

// Ensure subscribe lists are read and bounded.
TEST_CASE("Decoder: subscribe") {
  Decoder d;
  auto r = d.decode(R"({"type":"subscribe","channels":["signals","quotes:BTCUSDT"]})");
  const auto* s = cmd<app::SubscribeCmd>(r);
  REQUIRE(s);
  REQUIRE(s->channels->size() == 2);
  CHECK((*s->channels)[1] == "quotes:BTCUSDT");
  CHECK(err(d.decode(R"({"type":"subscribe","channels":"signals"})"))->code == app::WireError::bad_field);
  CHECK(err(d.decode(R"({"type":"subscribe","channels":[1]})"))->code == app::WireError::bad_field);
}

// Ensure outbound messages are valid JSON text with escaped strings and exact decimals.
TEST_CASE("Encoder: messages") {
  std::string out;
  protocol::encode(out, app::AckOut{"o-\"1", "worker-2"}, 7);
  CHECK(out == R"({"type":"ack","seq":7,"id":"o-\"1","worker":"worker-2"})");
  core::Instrument btc;
  btc.symbol = "BTCUSDT";
  btc.tick_size = {1, 2};
  btc.lot_size = {1, 5};
  out.clear();
  protocol::encode(out, app::FillOut{"o-1", 17, &btc, core::Side::buy, 10000, 100000, 0, true}, 8);
  CHECK(out == R"({"type":"fill","seq":8,"id":"o-1","trade_id":"t-17","symbol":"BTCUSDT","side":"buy","price":"100.00","qty":"1.00000","liquidity":"maker","remaining":"0.00000"})");
  out.clear();
  protocol::append_md(out, 5000134000000);
  CHECK(out == "50001.34");
  out.clear();
  protocol::append_md(out, 100000000);
  CHECK(out == "1");
  out.clear();
  protocol::append_json_string(out, std::string_view("a\x01\n", 3));
  CHECK(out == R"("a\u0001\n")");
  out.clear();
  protocol::append_json_string(out, "\"quoted\" back\\slash\tend\x1f");
  CHECK(out == R"("\"quoted\" back\\slash\tend\u001f")");
  out.clear();
  protocol::append_json_string(out, "");
  CHECK(out == R"("")");
}

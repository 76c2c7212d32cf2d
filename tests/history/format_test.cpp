#include <doctest/doctest.h>

#include <climits>
#include <random>

#include "tradeshard/history/format.hpp"

using namespace tradeshard;
using namespace tradeshard::history;

TEST_CASE("quote chunks round-trip, extreme values included, in about five bytes a quiet row") {
  std::vector<QuoteRow> rows;
  std::mt19937_64 rng(7);
  std::int64_t ts = 1'700'000'000'000, bid = 5'000'012'000'000;
  for (int i = 0; i < 1000; ++i) {
    ts += static_cast<std::int64_t>(rng() % 3);
    bid += static_cast<std::int64_t>(rng() % 2001) - 1000;
    rows.push_back({ts, bid, bid + 1'000'000, 100'000'000 + static_cast<std::int64_t>(rng() % 5), 200'000'000});
  }
  rows.push_back({ts, INT64_MIN, INT64_MAX, 0, INT64_MAX});  // wraps, still round-trips
  std::string v;
  encode_quotes(v, rows[0].ts, rows.data(), rows.size());
  std::vector<QuoteRow> back;
  REQUIRE(decode_quotes(v, rows[0].ts, back));
  CHECK(back == rows);
  CHECK(v.size() < rows.size() * 8);
}

TEST_CASE("trade chunks round-trip; truncated or padded bytes are refused") {
  std::vector<TradeRow> rows{{10, 1, 5'000, 3, core::Side::buy}, {12, 2, 4'999, 1, core::Side::sell},
                             {12, 9, 5'001, 1'000'000, core::Side::buy}};
  std::string v;
  encode_trades(v, 10, rows.data(), rows.size());
  std::vector<TradeRow> back;
  REQUIRE(decode_trades(v, 10, back));
  CHECK(back == rows);
  for (std::size_t cut = 0; cut < v.size(); ++cut) CHECK_FALSE(decode_trades(v.substr(0, cut), 10, back));
  CHECK_FALSE(decode_trades(v + "x", 10, back));
  std::string bad = v;
  bad[0] = 2;  // unknown version
  CHECK_FALSE(decode_trades(bad, 10, back));
}

TEST_CASE("keys order by symbol, then time (negative ones too), then sequence") {
  CHECK(chunk_key(Kind::quote, "BTC", 5, 9) < chunk_key(Kind::quote, "BTC", 6, 1));
  CHECK(chunk_key(Kind::quote, "BTC", -5, 1) < chunk_key(Kind::quote, "BTC", 0, 1));
  CHECK(chunk_key(Kind::quote, "BTC", 5, 1) < chunk_key(Kind::quote, "BTC", 5, 2));
  const auto p = key_prefix(Kind::quote, "BTC");
  const auto k = parse_chunk_key(chunk_key(Kind::quote, "BTC", 1234, 77), p);
  REQUIRE(k);
  CHECK(k->ts == 1234);
  CHECK(k->seq == 77);
  CHECK_FALSE(parse_chunk_key(chunk_key(Kind::quote, "BTCX", 1234, 77), p));  // another symbol
  CHECK_FALSE(parse_chunk_key(chunk_key(Kind::trade, "BTC", 1234, 77), p));
  const auto bp = key_prefix(Kind::bar, "ETH");
  const auto b = parse_bar_key(bar_key("ETH", market::Interval::m1, 60'000), bp);
  REQUIRE(b);
  CHECK(b->interval == market::Interval::m1);
  CHECK(b->start_ms == 60'000);
}

TEST_CASE("bars round-trip and merge: open of the earlier piece, close of the later, ticks add up") {
  const market::Bar a{60'000, 100, 120, 90, 110, 5};
  const auto back = decode_bar(encode_bar(a, false), 60'000);
  REQUIRE(back);
  CHECK(back->bar == a);
  CHECK_FALSE(back->partial);
  CHECK(decode_bar(encode_bar(a, true), 60'000)->partial);
  const market::Bar later{60'000, 111, 130, 95, 101, 2};
  CHECK(merge_bars(a, later) == market::Bar{60'000, 100, 130, 90, 101, 7});
  CHECK_FALSE(decode_bar(encode_bar(a, false) + "z", 0));
}

TEST_CASE("roll-up of minute bars into hours aligned to the epoch") {
  std::vector<market::Bar> mins;
  for (int m = 58; m < 63; ++m) mins.push_back({m * 60'000LL, 100 + m, 200 + m, 50 + m, 101 + m, 1});
  const auto hours = roll_up(mins, 3'600'000);
  REQUIRE(hours.size() == 2);
  CHECK(hours[0] == market::Bar{0, 158, 259, 108, 160, 2});
  CHECK(hours[1] == market::Bar{3'600'000, 160, 262, 110, 163, 3});
  CHECK(window_start(-1, 1000) == -1000);
  CHECK(window_start(1999, 1000) == 1000);
}

TEST_CASE("cursors print and parse strictly") {
  const Cursor c{1'700'000'000'123, 42, 7};
  CHECK(parse_cursor(to_string(c)) == c);
  for (const char* bad : {"", "1-2", "1-2-3-4", "a-2-3", "-1-2-3", "1--2-3", "1-2-", "1-2-99999", "+1-2-3", "1-2-3 "}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_cursor(bad));
  }
}

TEST_CASE("partition bookkeeping round-trips and refuses garbage") {
  const PartitionMeta m{'a', 12345, true, 1'700'000'000'000};
  CHECK(parse_partition_meta(encode_partition_meta(m)) == m);
  CHECK_FALSE(parse_partition_meta(""));
  auto bad = encode_partition_meta(m);
  bad[1] = 'x';
  CHECK_FALSE(parse_partition_meta(bad));
  CHECK(parse_partition_meta_key(partition_meta_key(-3'600'000)) == -3'600'000);
  CHECK(partition_meta_key(0) < partition_meta_key(3'600'000));
}

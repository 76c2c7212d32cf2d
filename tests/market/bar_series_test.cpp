#include <doctest/doctest.h>

#include "tradeshard/market/bar_series.hpp"

using namespace tradeshard::market;

// Ensure a window aggregates open/high/low/close/ticks and closes when a later window starts.
TEST_CASE("BarSeries: OHLC and window roll") {
  BarSeries s(1'000, 10);
  CHECK_FALSE(s.on_tick(5'100, 10).closed);
  CHECK_FALSE(s.on_tick(5'200, 14).closed);
  CHECK_FALSE(s.on_tick(5'300, 8).closed);
  CHECK_FALSE(s.on_tick(5'999, 11).closed);
  REQUIRE(s.open_bar().has_value());
  CHECK(*s.open_bar() == Bar{5'000, 10, 14, 8, 11, 4});
  const auto u = s.on_tick(7'000, 20);  // 6 s window had no ticks: no bar for it
  REQUIRE(u.closed.has_value());
  CHECK(*u.closed == Bar{5'000, 10, 14, 8, 11, 4});
  CHECK(*s.open_bar() == Bar{7'000, 20, 20, 20, 20, 1});
  CHECK(s.history() == std::vector<Bar>{Bar{5'000, 10, 14, 8, 11, 4}});
}

// Ensure the closed-bar history is bounded and keeps the newest bars, oldest first.
TEST_CASE("BarSeries: bounded history") {
  BarSeries s(1'000, 3);
  for (int i = 0; i < 6; ++i) (void)s.on_tick(i * 1'000, 100 + i);
  CHECK(s.closed_count() == 3);
  const auto h = s.history();
  REQUIRE(h.size() == 3);
  CHECK(h[0].start_ms == 2'000);
  CHECK(h[1].start_ms == 3'000);
  CHECK(h[2].start_ms == 4'000);
  CHECK(h[2].close == 104);
  CHECK(s.open_bar()->start_ms == 5'000);
}

// Ensure a tick older than the open window is counted as late and changes no bar.
TEST_CASE("BarSeries: late ticks are counted, not applied") {
  BarSeries s(60'000, 5);
  (void)s.on_tick(120'500, 50);
  (void)s.on_tick(130'000, 55);
  const auto u = s.on_tick(119'999, 1);
  CHECK(u.late);
  CHECK_FALSE(u.closed);
  CHECK(s.late_ticks() == 1);
  CHECK(*s.open_bar() == Bar{120'000, 50, 55, 50, 55, 2});
  // Same window but earlier inside it is not late: it folds into the open bar.
  CHECK_FALSE(s.on_tick(120'001, 40).late);
  CHECK(s.open_bar()->low == 40);
  CHECK(s.open_bar()->close == 40);
}

// Ensure a window is [start, start + width): both edges, exactly (the in-window fast path and the
// division path must agree).
TEST_CASE("BarSeries: window edges") {
  BarSeries s(1'000, 10);
  CHECK_FALSE(s.on_tick(5'000, 1).closed);
  CHECK_FALSE(s.on_tick(5'999, 2).closed);
  CHECK_FALSE(s.on_tick(5'000, 3).closed);
  const auto u = s.on_tick(6'000, 4);
  REQUIRE(u.closed.has_value());
  CHECK(*u.closed == Bar{5'000, 1, 3, 1, 3, 3});
  CHECK(s.on_tick(5'999, 9).late);
  CHECK_FALSE(s.on_tick(6'999, 5).closed);
  CHECK(*s.open_bar() == Bar{6'000, 4, 5, 4, 5, 2});
}

// Ensure interval names parse and widths are right.
TEST_CASE("BarSeries: intervals") {
  CHECK(parse_interval("1s") == Interval::s1);
  CHECK(parse_interval("1m") == Interval::m1);
  CHECK_FALSE(parse_interval("5m").has_value());
  CHECK(width_ms(Interval::m1) == 60'000);
  CHECK(to_string(Interval::s1) == "1s");
}

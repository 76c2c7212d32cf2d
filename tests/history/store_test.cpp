// The store on a real RocksDB in a fresh directory per test (under the system's temp dir).
#include <doctest/doctest.h>

#include <filesystem>
#include <random>
#include <thread>

#include "temp_dir.hpp"
#include "tradeshard/history/store.hpp"

using namespace tradeshard;
using namespace tradeshard::history;
namespace fs = std::filesystem;
using tradeshard::testing::TempDir;

namespace {

constexpr std::int64_t hour = 3'600'000;
constexpr std::int64_t t0 = 1'700'000'000'000 - 1'700'000'000'000 % hour;  // an hour's start

StoreOptions options(const TempDir& d) {
  StoreOptions o;
  o.dir = (d.path / "live").string();
  o.archive_dir = (d.path / "archive").string();
  o.window_ms = hour;
  return o;
}

std::vector<SymbolRows> quotes(const std::string& sym, std::int64_t from, int n, std::int64_t step) {
  SymbolRows r;
  r.symbol = sym;
  for (int i = 0; i < n; ++i) {
    const std::int64_t bid = 5'000'000'000'000 + (i % 17) * 1'000'000;
    r.quotes.push_back({from + i * step, bid, bid + 1'000'000, 100 + i, 200});
  }
  std::vector<SymbolRows> b;
  b.push_back(std::move(r));
  return b;
}

}  // namespace

TEST_CASE("rows written are read back by range, paged by cursor, across partitions and a reopen") {
  TempDir dir;
  const std::int64_t now = t0 + 3 * hour;
  {
    Store s(options(dir));
    auto b = quotes("BTCUSDT", t0 + hour - 5'000, 10'000, 1);  // straddles the hour edge
    const auto r = s.write(b, now);
    CHECK(r.error.empty());
    CHECK(r.rows == 10'000);
    const auto parts = s.partitions();
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].start == t0);
    CHECK(parts[0].rows == 5'000);
    CHECK(parts[1].start == t0 + hour);
    CHECK(parts[1].rows == 5'000);
  }
  Store s(options(dir));
  CHECK(s.knows_symbol("BTCUSDT"));
  CHECK_FALSE(s.knows_symbol("ETHUSDT"));
  // Every row of a range, in pages of 3,000 that continue exactly where the last stopped.
  std::vector<QuoteRow> all;
  std::optional<Cursor> after;
  int pages = 0;
  do {
    auto p = s.quotes("BTCUSDT", t0 + hour - 4'000, t0 + hour + 3'999, 3'000, after);
    REQUIRE(p.error.empty());
    all.insert(all.end(), p.rows.begin(), p.rows.end());
    after = p.next;
    ++pages;
  } while (after);
  CHECK(pages == 3);
  REQUIRE(all.size() == 8'000);
  for (std::size_t i = 0; i < all.size(); ++i) REQUIRE(all[i].ts == t0 + hour - 4'000 + static_cast<std::int64_t>(i));
  CHECK(s.quotes("BTCUSDT", t0, t0 + 10, 100, std::nullopt).rows.empty());
  CHECK(s.quotes("ETHUSDT", 0, now, 100, std::nullopt).rows.empty());
}

TEST_CASE("a symbol's times never go backwards in the store; late rows for an archived partition are dropped") {
  TempDir dir;
  auto o = options(dir);
  o.archive_after_ms = hour;
  const std::int64_t now = t0 + 10 * hour;
  Store s(o);
  auto a = quotes("X", now - 10, 3, 1);
  REQUIRE(s.write(a, now).error.empty());
  auto b = quotes("X", now - 100, 2, 1);  // older than what is stored
  const auto r = s.write(b, now);
  CHECK(r.reordered == 2);
  const auto p = s.quotes("X", 0, now, 100, std::nullopt);
  REQUIRE(p.rows.size() == 5);
  for (std::size_t i = 1; i < p.rows.size(); ++i) CHECK(p.rows[i].ts >= p.rows[i - 1].ts);
  auto old = quotes("Y", t0, 3, 1);  // a partition that ended 10 h ago: past archive_after
  CHECK(s.write(old, now).late == 3);
  auto future = quotes("F", now + 2 * hour, 3, 1);  // two windows ahead of the clock
  CHECK(s.write(future, now).late == 3);
  auto minute = quotes("F", now + 61'000, 3, 1);  // more than a minute ahead
  CHECK(s.write(minute, now).late == 3);
  auto next = quotes("F", now + 30'000, 3, 1);  // a feed's clock a little ahead: kept
  CHECK(s.write(next, now).rows == 3);
  CHECK(s.quotes("F", 0, now + hour, 100, std::nullopt).rows.front().ts == now + 30'000);  // not dragged
  // In one batch: a row far ahead does not drag the rows after it.
  auto mixed = quotes("G", now, 3, 1);
  mixed[0].quotes[0].ts = now + 2 * 60'000;
  const auto mr = s.write(mixed, now);
  CHECK(mr.late == 1);
  CHECK(mr.rows == 2);
  CHECK(mr.reordered == 0);
}

TEST_CASE("closed partitions compact with zstd; archived ones are read in place and restored") {
  TempDir dir;
  auto o = options(dir);
  o.archive_after_ms = 2 * hour;
  o.restore_keep_ms = 1'000;
  Store s(o);
  std::int64_t now = t0 + hour + 500;  // the first partition is still hot (close grace)
  auto b = quotes("BTCUSDT", t0, 200'000, 10);  // 2,000 s of 10 ms quotes
  REQUIRE(s.write(b, now).error.empty());
  SymbolRows tr;
  tr.symbol = "BTCUSDT";
  for (int i = 0; i < 100; ++i) tr.trades.push_back({t0 + i * 100, static_cast<std::uint64_t>(i + 1), 5'000'000'000'000 + i, 1'000, core::Side::sell});
  tr.bars.push_back({market::Interval::m1, market::Bar{t0, 10, 12, 9, 11, 4}, false});
  std::vector<SymbolRows> trb{tr};
  REQUIRE(s.write(trb, now).error.empty());
  CHECK(s.partitions().at(0).state == PartitionState::hot);
  now = t0 + hour + 3'000;
  const auto m = s.maintain(now);
  CHECK(m.error.empty());
  REQUIRE(m.closed == std::vector<std::int64_t>{t0});
  const auto cold = s.partitions().at(0);
  CHECK(cold.state == PartitionState::cold);
  CHECK(cold.rows == 200'101);
  MESSAGE("bytes per quote after zstd: " << static_cast<double>(cold.bytes) / 200'000.0);
  CHECK(cold.bytes < 200'000 * 16);
  now = t0 + 3 * hour + 1;
  const auto a = s.maintain(now);
  REQUIRE(a.archived == std::vector<std::int64_t>{t0});
  CHECK(s.partitions().at(0).state == PartitionState::archived);
  CHECK(fs::exists(dir.path / "archive" / ("p-" + std::to_string(t0) + ".sst")));
  // Read in place from the archive file.
  const auto p = s.quotes("BTCUSDT", t0 + 1'000, t0 + 1'990, 1'000, std::nullopt);
  REQUIRE(p.error.empty());
  CHECK(p.rows.size() == 100);
  CHECK(s.trades("BTCUSDT", t0, t0 + hour, 1'000, std::nullopt).rows.size() == 100);
  const auto bars = s.bars("BTCUSDT", market::Interval::m1, t0, t0 + hour, 10);
  REQUIRE(bars.rows.size() == 1);
  CHECK(bars.rows[0].bar == market::Bar{t0, 10, 12, 9, 11, 4});
  CHECK(s.restore(t0 + hour * 7, now) == "unknown_partition");
  REQUIRE(s.restore(t0, now).empty());
  CHECK(s.restore(t0, now) == "not_archived");
  const auto back = s.partitions().at(0);
  CHECK(back.state == PartitionState::cold);
  CHECK(back.restored);
  CHECK(s.quotes("BTCUSDT", t0, t0 + hour, 300'000, std::nullopt).rows.size() == 200'000);
  // Past restore_keep_ms the restored copy is dropped again; the archive file stays.
  const auto u = s.maintain(now + 1'000);
  CHECK(u.unrestored == std::vector<std::int64_t>{t0});
  CHECK(s.partitions().at(0).state == PartitionState::archived);
}

TEST_CASE("retention deletes partitions, archived or live, and their files") {
  TempDir dir;
  auto o = options(dir);
  o.archive_after_ms = hour;
  o.retention_ms = 3 * hour;
  std::int64_t now = t0 + hour + 10;
  {
    Store s(o);
    auto b = quotes("Z", t0, 10, 1);
    REQUIRE(s.write(b, now).error.empty());
    now = t0 + 2 * hour + 1;
    (void)s.maintain(now);  // closes
    (void)s.maintain(now);  // archives
    REQUIRE(s.partitions().at(0).state == PartitionState::archived);
  }
  Store s(o);  // the archived partition is known after a reopen
  REQUIRE(s.partitions().size() == 1);
  CHECK(s.quotes("Z", t0, t0 + hour, 100, std::nullopt).rows.size() == 10);
  const auto r = s.maintain(t0 + 4 * hour);
  CHECK(r.deleted == std::vector<std::int64_t>{t0});
  CHECK(s.partitions().empty());
  CHECK_FALSE(fs::exists(dir.path / "archive" / ("p-" + std::to_string(t0) + ".sst")));
}

TEST_CASE("a bar piece saved at a shutdown merges with the rest of its window; a closed bar is never added to") {
  TempDir dir;
  Store s(options(dir));
  SymbolRows r;
  r.symbol = "B";
  r.bars.push_back({market::Interval::s1, market::Bar{t0, 10, 15, 8, 12, 3}, true});  // the open bar at SIGTERM
  std::vector<SymbolRows> b{r};
  REQUIRE(s.write(b, t0).error.empty());
  CHECK(s.bars("B", market::Interval::s1, t0, t0, 10).rows.at(0).partial);
  b[0].bars[0] = {market::Interval::s1, market::Bar{t0, 13, 20, 11, 19, 2}, false};  // closed after the restart
  REQUIRE(s.write(b, t0).error.empty());
  const auto p = s.bars("B", market::Interval::s1, t0, t0, 10);
  REQUIRE(p.rows.size() == 1);
  CHECK(p.rows[0].bar == market::Bar{t0, 10, 20, 8, 19, 5});
  CHECK_FALSE(p.rows[0].partial);
  REQUIRE(s.write(b, t0).error.empty());  // the same closed bar again: replaced, not doubled
  CHECK(s.bars("B", market::Interval::s1, t0, t0, 10).rows.at(0).bar == market::Bar{t0, 13, 20, 11, 19, 2});
  CHECK(s.bars("B", market::Interval::m1, t0, t0, 10).rows.empty());
}

TEST_CASE("a range starting where one chunk ends and the next begins returns the rows of both") {
  TempDir dir;
  Store s(options(dir));
  auto a = quotes("C", t0 + 100, 3, 1);  // chunk A: 100, 101, 102
  REQUIRE(s.write(a, t0 + hour).rows == 3);
  auto b = quotes("C", t0 + 102, 2, 1);  // chunk B: 102, 103 (another batch: another chunk)
  REQUIRE(s.write(b, t0 + hour).rows == 2);
  const auto p = s.quotes("C", t0 + 102, t0 + 200, 100, std::nullopt);
  REQUIRE(p.rows.size() == 3);  // A's 102 too (the seek used to land on B and skip it)
  CHECK(p.rows[0].ts == t0 + 102);
  CHECK(p.rows[2].ts == t0 + 103);
}

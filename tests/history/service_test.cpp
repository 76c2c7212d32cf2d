// The history's threads and bounded queue, without the daemon: what is kept when the queue is
// full (conflate or drop), trades before quotes, and queries that see every row handed over.
#include <doctest/doctest.h>

#include <filesystem>
#include <future>
#include <random>

#include "temp_dir.hpp"
#include "tradeshard/history/service.hpp"

using namespace tradeshard;
using namespace tradeshard::history;
namespace fs = std::filesystem;
using tradeshard::testing::TempDir;

namespace {

app::HistoryConfig config(const TempDir& d, app::HistoryOnFull on_full) {
  app::HistoryConfig c;
  c.enabled = true;
  c.dir = (d.path / "live").string();
  c.archive_dir = (d.path / "archive").string();
  c.queue_rows = 1'024;
  c.on_full = on_full;
  return c;
}

const std::int64_t now_ms =
    std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();

// Runs a query through the service (the barrier included) and waits for its answer.
template <class F>
auto ask(HistoryService& h, F f) {
  std::promise<decltype(f(std::declval<const Store&>()))> p;
  auto fut = p.get_future();
  REQUIRE(h.query([&p, f](const Store& s) -> HistoryService::Continuation {
    p.set_value(f(s));
    return [] {};
  }));
  return fut.get();
}

std::size_t count(HistoryService& h, const std::string& sym) {
  return ask(h, [sym](const Store& s) { return s.quotes(sym, 0, now_ms + 100'000, 1'000'000, std::nullopt).rows.size(); });
}

}  // namespace

TEST_CASE("a full queue conflates quotes per symbol: the latest of each is kept and stored once there is room") {
  TempDir dir;
  HistoryService h(config(dir, app::HistoryOnFull::conflate), [](std::function<void()> f) { f(); });
  // 4,096 quotes of two symbols in one hand-off (the loop hands over at 4,096): 1,024 fit.
  for (int i = 0; i < 4'096; ++i) {
    h.quote(i % 2, i % 2 ? "B" : "A", QuoteRow{now_ms + i, 100 + i, 101 + i, 1, 1});
  }
  auto s = h.stats();
  CHECK(s.conflated == 3'072 - 2);  // 3,072 did not fit; 2 remain, the latest of A and of B
  CHECK(s.dropped_quotes == 0);
  CHECK(count(h, "A") + count(h, "B") >= 1'024);  // the first hand-off is written: room again
  // This query's hand-off brings the two kept back; it waits for their write.
  const auto stored = ask(h, [](const Store& st) {
    return st.quotes("A", 0, now_ms + 100'000, 1'000'000, std::nullopt).rows.size() +
           st.quotes("B", 0, now_ms + 100'000, 1'000'000, std::nullopt).rows.size();
  });
  CHECK(stored == 1'026);
  const auto last_a = ask(h, [](const Store& st) {
    return st.quotes("A", 0, now_ms + 100'000, 1'000'000, std::nullopt).rows.back();
  });
  CHECK(last_a.ts == now_ms + 4'094);  // A's newest quote, not one of the overflow's older ones
  CHECK(last_a.bid == 100 + 4'094);
}

TEST_CASE("on_full drop drops what does not fit; trades and bars take the room before quotes") {
  TempDir dir;
  HistoryService h(config(dir, app::HistoryOnFull::drop), [](std::function<void()> f) { f(); });
  for (int i = 0; i < 100; ++i) h.trade(0, "A", TradeRow{now_ms + i, static_cast<std::uint64_t>(i + 1), 5, 1, core::Side::buy});
  h.bar(0, "A", market::Interval::s1, market::Bar{now_ms - now_ms % 1'000, 1, 2, 1, 2, 3}, false);
  for (int i = 0; i < 4'096; ++i) h.quote(0, "A", QuoteRow{now_ms + i, 100, 101, 1, 1});
  const auto s = h.stats();
  CHECK(s.dropped_quotes == 4'096 - (1'024 - 101));
  CHECK(s.dropped_trades == 0);
  CHECK(s.conflated == 0);
  CHECK(count(h, "A") == 1'024 - 101);
  CHECK(ask(h, [](const Store& st) { return st.trades("A", 0, now_ms + 1'000, 1'000, std::nullopt).rows.size(); }) == 100);
}

TEST_CASE("stop drains what is queued and closes; a reopened store has every row") {
  TempDir dir;
  {
    HistoryService h(config(dir, app::HistoryOnFull::drop), [](std::function<void()> f) { f(); });
    for (int i = 0; i < 1'000; ++i) h.quote(0, "A", QuoteRow{now_ms + i, 100, 101, 1, 1});
    h.stop(1'500);
    CHECK(h.stats().written_rows == 1'000);
  }
  HistoryService again(config(dir, app::HistoryOnFull::drop), [](std::function<void()> f) { f(); });
  CHECK(count(again, "A") == 1'000);
  CHECK(again.knows_symbol("A"));
}

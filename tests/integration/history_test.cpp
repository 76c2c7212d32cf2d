// Market-data history end to end (docs/history.md): the real daemon, real sockets, RocksDB on
// disk; restarts, kill -9, partitions rolling over, archive and restore, a full disk.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/mount.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "fixture.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
const char* kToken = "change-me-admin-token-0123";

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json tick(const std::string& sym, std::int64_t ts, int i) {
  const auto bid = std::to_string(50'000 + i % 50) + ".5";
  const auto ask = std::to_string(50'001 + i % 50) + ".5";
  return {{"type", "tick"}, {"symbol", sym}, {"bid", bid}, {"ask", ask}, {"bid_size", "1.5"}, {"ask_size", "2"}, {"ts", ts}};
}

// Sends ticks and waits for a pong: every tick before it has been processed by the loop.
void send_ticks(LineClient& c, const std::string& sym, std::int64_t from_ts, int n, std::int64_t step = 1) {
  std::string batch;
  for (int i = 0; i < n; ++i) {
    batch += tick(sym, from_ts + i * step, i).dump() + "\n";
    if (batch.size() > 64 * 1024) {
      c.send_raw(batch);
      batch.clear();
    }
  }
  batch += R"({"type":"ping"})" "\n";
  c.send_raw(batch);
  REQUIRE(c.read_until("pong", "", 10'000ms));
}

json get(const DaemonProcess& d, const std::string& target) {
  const auto r = http_request(d.http_port(), "GET", target);
  INFO(target << " -> " << r.status << " " << r.body);
  REQUIRE(r.status == 200);
  return r.body_json();
}

// All rows of a range, following `next` pages of `limit`.
std::vector<json> all_rows(const DaemonProcess& d, const std::string& what, const std::string& sym, std::int64_t from,
                           std::int64_t to, int limit, int* pages = nullptr) {
  std::vector<json> rows;
  std::string cursor;
  int n = 0;
  while (true) {
    auto page = get(d, "/history/" + what + "/" + sym + "?from=" + std::to_string(from) + "&to=" + std::to_string(to) +
                           "&limit=" + std::to_string(limit) + (cursor.empty() ? "" : "&cursor=" + cursor));
    ++n;
    for (auto& r : page[what]) rows.push_back(r);
    if (page["next"].is_null()) break;
    cursor = page["next"].get<std::string>();
  }
  if (pages) *pages = n;
  return rows;
}

json partition_of(const DaemonProcess& d, std::int64_t start) {
  const json all = get(d, "/history/partitions");
  for (const auto& p : all["partitions"]) {
    if (p["start"] == start) return p;
  }
  return nullptr;
}

// Polls until the partition reaches `state` (or is gone, for "deleted"); false after 15 s.
bool wait_state(const DaemonProcess& d, std::int64_t start, const std::string& state) {
  for (int i = 0; i < 150; ++i) {
    const auto p = partition_of(d, start);
    if (state == "deleted" ? p.is_null() : (!p.is_null() && p["state"] == state)) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

json crossing_orders(LineClient& s, LineClient& b, int n) {
  json fills = json::array();
  for (int i = 0; i < n; ++i) {
    const auto id = std::to_string(i);
    s.send({{"type", "order"}, {"id", "s" + id}, {"account", "S"}, {"symbol", "BTCUSDT"}, {"side", "sell"},
            {"price", "100.0" + std::to_string(i % 10)}, {"qty", "0.00002"}});
    REQUIRE(s.read_until("ack", "s" + id, 3000ms));  // resting before the buy arrives: the buyer takes
    b.send({{"type", "order"}, {"id", "b" + id}, {"account", "B"}, {"symbol", "BTCUSDT"}, {"side", "buy"},
            {"price", "100.09"}, {"qty", "0.00002"}});
    auto f = b.read_until("fill", "b" + id, 3000ms);
    REQUIRE(f);
    fills.push_back(*f);
  }
  return fills;
}

}  // namespace

TEST_CASE("History: trades, quotes and bars survive a restart and are served before any new tick") {
  DaemonProcess d(test_config());
  const std::int64_t t0 = wall_ms() - 90'000;  // ticks over the last ~90 s: 1s and 1m bars close
  {
    LineClient c(d.tcp_port());
    send_ticks(c, "BTCUSDT", t0, 9'000, 10);
  }
  json fills;
  {
    LineClient s(d.tcp_port()), b(d.tcp_port());
    fills = crossing_orders(s, b, 20);
  }
  const std::int64_t t1 = wall_ms() + 1;
  const auto trades = all_rows(d, "trades", "BTCUSDT", t0, t1, 7);
  REQUIRE(trades.size() == 20);
  for (std::size_t i = 0; i < trades.size(); ++i) {
    CHECK(trades[i]["trade_id"] == fills[i]["trade_id"]);
    CHECK(trades[i]["price"] == fills[i]["price"]);
    CHECK(trades[i]["qty"] == "0.00002");
    CHECK(trades[i]["aggressor"] == "buy");
  }
  int pages = 0;
  const auto quotes = all_rows(d, "quotes", "BTCUSDT", t0, t1, 2'000, &pages);
  CHECK(pages == 5);
  REQUIRE(quotes.size() == 9'000);
  CHECK(quotes[0] == json{{"ts", t0}, {"bid", "50000.5"}, {"ask", "50001.5"}, {"bid_size", "1.5"}, {"ask_size", "2"}});
  CHECK(quotes[8'999]["ts"] == t0 + 89'990);
  const auto bars_before = get(d, "/bars/BTCUSDT?interval=1s&from=" + std::to_string(t0) + "&to=" + std::to_string(t1) +
                                      "&limit=1000")["bars"];
  CHECK(bars_before.size() >= 90);

  REQUIRE(d.stop(SIGTERM) == 0);
  d.restart();
  // Before any new tick: the same trades, quotes and bars, from disk.
  CHECK(all_rows(d, "trades", "BTCUSDT", t0, t1, 10'000) == trades);
  CHECK(all_rows(d, "quotes", "BTCUSDT", t0, t1, 10'000) == quotes);
  const auto bars_after = get(d, "/bars/BTCUSDT?interval=1s&from=" + std::to_string(t0) + "&to=" + std::to_string(t1) +
                                     "&limit=1000")["bars"];
  CHECK(bars_after == bars_before);  // the open bar was stored at the SIGTERM
  std::uint64_t ticks = 0;
  for (const auto& b : bars_after) ticks += b["ticks"].get<std::uint64_t>();
  CHECK(ticks == 9'000);
  const auto hourly = get(d, "/bars/BTCUSDT?interval=1h&from=" + std::to_string(t0) + "&to=" + std::to_string(t1));
  CHECK(hourly["interval"] == "1h");
  std::uint64_t hourly_ticks = 0;
  for (const auto& b : hourly["bars"]) hourly_ticks += b["ticks"].get<std::uint64_t>();
  CHECK(hourly_ticks == 9'000);  // rolled up from the stored minute bars
  const auto daily = get(d, "/bars/BTCUSDT?interval=1d&from=" + std::to_string(t0) + "&to=" + std::to_string(t1));
  CHECK(daily["bars"].size() >= 1);  // two when the test runs across midnight UTC
  CHECK(daily["bars"][0]["open"] == "50001");  // the first tick's mid
}

TEST_CASE("History: bad ranges, limits, cursors and unknown symbols get a specific error; disabled history says so") {
  DaemonProcess d(test_config({{"history", {{"max_query_rows", 10'000}}}}));
  const auto expect = [&](const std::string& target, int status, const std::string& code) {
    const auto r = http_request(d.http_port(), "GET", target);
    INFO(target << " -> " << r.body);
    CHECK(r.status == status);
    CHECK(r.body_json()["error"] == code);
  };
  expect("/history/trades/BTCUSDT?from=10&to=5", 400, "bad_range");
  expect("/history/trades/BTCUSDT?from=-1", 400, "bad_range");
  expect("/history/trades/BTCUSDT?from=abc", 400, "bad_range");
  expect("/history/quotes/BTCUSDT?limit=0", 400, "bad_limit");
  expect("/history/quotes/BTCUSDT?limit=10001", 400, "bad_limit");
  expect("/history/quotes/BTCUSDT?cursor=zzz", 400, "bad_cursor");
  expect("/history/quotes/NOPE", 404, "unknown_symbol");
  expect("/bars/NOPE?interval=1h", 404, "unknown_symbol");
  expect("/bars/BTCUSDT?interval=1w", 400, "bad_field");
  expect("/bars/BTCUSDT?interval=1h&from=9&to=1", 400, "bad_range");
  CHECK(get(d, "/history/quotes/BTCUSDT?limit=10000")["quotes"].empty());  // known, nothing yet
  const auto r = http_request(d.http_port(), "POST", "/admin/history/partitions/123/restore", "", kToken);
  CHECK(r.status == 404);
  CHECK(r.body_json()["error"] == "unknown_partition");
  CHECK(http_request(d.http_port(), "POST", "/admin/history/partitions/123/restore").status == 401);

  DaemonProcess off(test_config({{"history", {{"enabled", false}}}}));
  const auto o = http_request(off.http_port(), "GET", "/history/partitions");
  CHECK(o.status == 404);
  CHECK(o.body_json()["error"] == "history_disabled");
  CHECK(http_request(off.http_port(), "GET", "/bars/BTCUSDT?interval=1s").status == 200);  // memory, as before
  CHECK(http_request(off.http_port(), "GET", "/bars/BTCUSDT?interval=1h").status == 400);
}

TEST_CASE("History: partitions roll over at the window edge, close, archive, restore and expire") {
  // 1 s partitions; closed 2 s after their end, archived 4 s after, deleted 15 s after.
  DaemonProcess d(test_config({{"history",
                                {{"partition_ms", 1'000}, {"archive_after_ms", 4'000}, {"retention_ms", 15'000},
                                 {"restore_keep_ms", 1'000}}}}));
  LineClient c(d.tcp_port());
  // A: rows straddling a window edge land in two partitions, split exactly at the edge.
  const std::int64_t edge = (wall_ms() / 1'000 + 1) * 1'000;
  send_ticks(c, "ETHUSDT", edge - 300, 600, 1);
  const std::int64_t a = edge - 1'000;
  // Each holds its 300 quotes (and the bars that closed in it).
  CHECK(partition_of(d, a)["rows"].get<int>() >= 300);
  CHECK(partition_of(d, edge)["rows"].get<int>() >= 300);
  CHECK(all_rows(d, "quotes", "ETHUSDT", a, edge - 1, 1'000).size() == 300);
  CHECK(all_rows(d, "quotes", "ETHUSDT", edge, edge + 999, 1'000).size() == 300);
  // A reaches the archive; the file is there.
  REQUIRE(wait_state(d, a, "archived"));
  CHECK(fs::exists(d.dir() + "/history-archive/p-" + std::to_string(a) + ".sst"));
  // B: a partition that is closed (cold) but not yet archived.
  const std::int64_t b_ts = wall_ms();
  const std::int64_t b = b_ts - b_ts % 1'000;
  send_ticks(c, "ETHUSDT", b_ts, 10, 1);
  REQUIRE(wait_state(d, b, "cold"));
  // C: the open partition.
  const std::int64_t c_ts = wall_ms();
  send_ticks(c, "ETHUSDT", c_ts, 10, 1);
  CHECK(partition_of(d, a)["state"] == "archived");
  CHECK(partition_of(d, b)["state"] == "cold");
  // One query across archived, cold and hot partitions, in time order.
  const auto rows = all_rows(d, "quotes", "ETHUSDT", edge - 300, c_ts + 9, 10'000);
  REQUIRE(rows.size() == 620);
  CHECK(rows.front()["ts"] == edge - 300);
  CHECK(rows[599]["ts"] == edge + 299);
  CHECK(rows[600]["ts"] == b_ts);
  CHECK(rows.back()["ts"] == c_ts + 9);
  // Restore A: live again (cold, restored), then dropped again after restore_keep_ms.
  const auto r = http_request(d.http_port(), "POST", "/admin/history/partitions/" + std::to_string(a) + "/restore", "", kToken);
  if (r.status == 404) {
    MESSAGE("partition A expired before the restore (a slow machine): " << r.body);
  } else {
    CHECK(r.status == 200);
    const auto again = http_request(d.http_port(), "POST", "/admin/history/partitions/" + std::to_string(a) + "/restore", "", kToken);
    CHECK((again.status == 409 || again.status == 200));
    CHECK(all_rows(d, "quotes", "ETHUSDT", edge - 300, edge - 1, 100).size() == 300);
  }
  // Retention: A is deleted, its archive file too.
  REQUIRE(wait_state(d, a, "deleted"));
  CHECK_FALSE(fs::exists(d.dir() + "/history-archive/p-" + std::to_string(a) + ".sst"));
  CHECK(all_rows(d, "quotes", "ETHUSDT", edge - 300, edge - 1, 100).empty());
  const auto stats = get(d, "/stats")["history"];
  CHECK(stats["written_rows"].get<int>() >= 620);
  CHECK(stats["error"].is_null());
  CHECK(d.log().find("archived to") != std::string::npos);
}

TEST_CASE("History: kill -9 while ticks stream loses nothing written before; the store reopens") {
  DaemonProcess d(test_config());
  const std::int64_t t0 = wall_ms() - 60'000;
  {
    LineClient c(d.tcp_port());
    send_ticks(c, "BTCUSDT", t0, 20'000, 1);
  }
  std::this_thread::sleep_for(300ms);  // past the 20 ms hand-off and the 100 ms flush
  std::atomic<bool> stop{false};
  std::thread streamer([&] {
    try {
      LineClient c(d.tcp_port());
      for (int i = 0; !stop; ++i) c.send_raw(tick("BTCUSDT", t0 + 20'000 + i, i).dump() + "\n");
    } catch (...) {
    }
  });
  std::this_thread::sleep_for(500ms);
  REQUIRE(d.stop(SIGKILL).has_value());
  stop = true;
  streamer.join();
  d.restart();
  const auto rows = all_rows(d, "quotes", "BTCUSDT", t0, t0 + 19'999, 100'000);
  CHECK(rows.size() == 20'000);
  const auto more = get(d, "/history/quotes/BTCUSDT?from=" + std::to_string(t0 + 20'000) + "&limit=100000")["quotes"];
  MESSAGE("rows of the stream cut by kill -9 that were kept: " << more.size());
  for (std::size_t i = 1; i < more.size(); ++i) REQUIRE(more[i]["ts"] > more[i - 1]["ts"]);
  CHECK(http_request(d.http_port(), "GET", "/health").status == 200);
}

TEST_CASE("History: a full disk makes /health degraded, the daemon keeps trading, and recovers") {
  const std::string mnt = fs::temp_directory_path() / ("tradeshard-full-" + std::to_string(::getpid()));
  fs::create_directories(mnt);
  if (::geteuid() != 0 || ::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=3m") != 0) {
    fs::remove(mnt);
    MESSAGE("skipped: mounting a small tmpfs needs root");
    return;
  }
  struct Unmount {
    std::string path;
    ~Unmount() {
      ::umount2(path.c_str(), MNT_DETACH);
      std::error_code ec;
      fs::remove(path, ec);
    }
  } unmount{mnt};
  // 1 MiB kept free: the 3 MiB fill up to it, then the history stops writing before RocksDB
  // could meet a full disk (docs/history.md, "A full disk").
  DaemonProcess d(test_config({{"history", {{"dir", mnt + "/live"}, {"archive_dir", mnt + "/archive"}, {"min_free_mb", 1}}}}));
  LineClient c(d.tcp_port());
  bool degraded = false;
  const std::int64_t t0 = wall_ms() - 3'000'000;
  for (int round = 0; round < 200 && !degraded; ++round) {
    // Random-ish prices compress badly: the 3 MiB fill up quickly.
    std::string batch;
    for (int i = 0; i < 5'000; ++i) {
      const std::int64_t k = round * 5'000 + i;
      const auto bid = std::to_string(10'000 + (k * 7919) % 9973) + "." + std::to_string((k * 104729) % 100'000'000);
      batch += json{{"type", "tick"}, {"symbol", "BTCUSDT"}, {"bid", bid}, {"ask", "30000"}, {"bid_size", std::to_string(k % 977 + 1)},
                    {"ask_size", "1"}, {"ts", t0 + k}}.dump() + "\n";
    }
    c.send_raw(batch + R"({"type":"ping"})" "\n");
    INFO("round " << round << "; daemon log tail: " << d.log().substr(d.log().size() > 3000 ? d.log().size() - 3000 : 0));
    REQUIRE(c.read_until("pong", "", 10'000ms));
    const auto h = http_request(d.http_port(), "GET", "/health");
    degraded = h.status == 503 && h.body.find("history storage failing") != std::string::npos;
  }
  REQUIRE(degraded);
  // Trading goes on: orders match and fill, the ledger is elsewhere.
  {
    LineClient s(d.tcp_port()), b(d.tcp_port());
    crossing_orders(s, b, 5);
  }
  CHECK(get(d, "/stats")["history"]["lost_rows"].get<std::uint64_t>() > 0);
  CHECK(d.log().find("history: disk space low") != std::string::npos);
  // Space comes back: the store resumes by itself and /health is ok again.
  REQUIRE(::mount("tmpfs", mnt.c_str(), "tmpfs", MS_REMOUNT, "size=1g") == 0);  // tmpfs pages only as used
  bool healthy = false;
  for (int i = 0; i < 100 && !healthy; ++i) {
    send_ticks(c, "BTCUSDT", wall_ms() - 1'000'000, 1, 1);  // the next write finds room and clears it
    std::this_thread::sleep_for(100ms);
    healthy = http_request(d.http_port(), "GET", "/health").status == 200;
  }
  CHECK(healthy);
  const std::int64_t now = wall_ms();
  send_ticks(c, "BTCUSDT", now, 10, 1);
  CHECK(get(d, "/history/quotes/BTCUSDT?from=" + std::to_string(now) + "&to=" + std::to_string(now + 9))["quotes"].size() == 10);
}

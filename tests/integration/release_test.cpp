// The order path's one release point: no client hears of a fill before the fill's change set is
// in the ledger's log file, over TCP and over WebSocket. The daemon runs with a test hook that
// sleeps the loop before every log write (or fails the writes); on receiving a fill, the test reads
// the log file at once and checks that the trade's record is already there.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

#include "fixture.hpp"
#include "ws_client.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::uint64_t le(const std::string& b, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(b[at + i])} << (8 * i);
  return v;
}

// The highest version whose record is whole in the log's segments, read without touching them
// (the daemon is writing): frames are [u32 length][u64 checksum][u64 version][payload].
std::uint64_t logged_version(const std::string& dir) {
  std::uint64_t last = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".log") continue;
    std::ifstream in(e.path(), std::ios::binary);
    const std::string b((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (std::size_t at = 0; at + 20 <= b.size();) {
      const auto len = le(b, at, 4);
      if (at + 20 + len > b.size()) break;
      last = std::max(last, le(b, at + 12, 8));
      at += 20 + len;
    }
  }
  return last;
}

json order(const std::string& id, const std::string& account, const std::string& side) {
  return {{"type", "order"}, {"id", id},          {"account", account}, {"symbol", "BTCUSDT"},
          {"side", side},    {"price", "100.00"}, {"qty", "0.00001"}};
}

// The next WebSocket message of `type` for `id`; others are skipped.
json ws_read_until(WsClient& c, const std::string& type, const std::string& id) {
  for (;;) {
    json m = c.read();
    if (m.value("type", "") == type && m.value("id", "") == id) return m;
  }
}

}  // namespace

// Ensure a fill reaches neither a WebSocket nor a TCP client before its change set is written:
// each trade's record (trade k is version k: a fresh ledger, no deposits) must be in the log file
// when each side's fill arrives. The loop sleeps 40 ms before every log write, so a frame sent
// ahead of the write would arrive well before it. The maker's fill is the first frame of its
// turn (a taker's fill follows its ack, whose write is still in flight), so each transport takes
// the maker's side in turn.
TEST_CASE("Release point: no fill reaches a client before the ledger's log has it") {
  DaemonProcess d(test_config(), {"TRADESHARD_TEST_LEDGER_WRITE_DELAY_MS=40"});
  const std::string ledger_dir = d.dir() + "/ledger";
  WsClient ws(d.http_port());
  LineClient tcp(d.tcp_port());
  std::uint64_t version = 0;
  for (int i = 0; i < 6; ++i) {
    const std::string n = std::to_string(i);
    const bool ws_makes = i % 2 == 0;
    const std::string ws_id = (ws_makes ? "s" : "b") + n, tcp_id = (ws_makes ? "b" : "s") + n;
    const auto ws_order = order(ws_id, ws_makes ? "S" : "B", ws_makes ? "sell" : "buy");
    const auto tcp_order = order(tcp_id, ws_makes ? "B" : "S", ws_makes ? "buy" : "sell");
    if (ws_makes) {
      ws.send(ws_order);
      (void)ws_read_until(ws, "ack", ws_id);
      tcp.send(tcp_order);
    } else {
      tcp.send(tcp_order);
      REQUIRE(tcp.read_until("ack", tcp_id).has_value());
      ws.send(ws_order);
    }
    ++version;
    // Whichever fill comes first, the record must already be in the file.
    const json ws_fill = ws_read_until(ws, "fill", ws_id);
    CHECK_MESSAGE(logged_version(ledger_dir) >= version,
                  "WebSocket " << (ws_makes ? "maker" : "taker") << " fill of trade " << version << " arrived before its record");
    CHECK(ws_fill["liquidity"] == (ws_makes ? "maker" : "taker"));
    const auto tcp_fill = tcp.read_until("fill", tcp_id);
    REQUIRE(tcp_fill.has_value());
    CHECK_MESSAGE(logged_version(ledger_dir) >= version,
                  "TCP " << (ws_makes ? "taker" : "maker") << " fill of trade " << version << " arrived before its record");
  }
  CHECK(logged_version(ledger_dir) == 6);
  CHECK(d.log().find("TEST HOOK") != std::string::npos);
}

// Ensure that when the log write of a trade fails, no client hears of that trade: the
// connections it was about to be told on are closed without it, the daemon stays up and reports
// the failure, and refuses further orders.
TEST_CASE("Release point: a failed log write releases nothing of its turn") {
  DaemonProcess d(test_config(), {"TRADESHARD_TEST_LEDGER_FAIL_WRITE_AFTER=2"});
  const std::string ledger_dir = d.dir() + "/ledger";
  LineClient maker(d.tcp_port());
  LineClient taker(d.tcp_port());
  for (int i = 0; i < 2; ++i) {
    const std::string n = std::to_string(i);
    maker.send(order("s" + n, "S", "sell"));
    REQUIRE(maker.read_until("ack", "s" + n).has_value());
    taker.send(order("b" + n, "B", "buy"));
    REQUIRE(taker.read_until("fill", "b" + n).has_value());
    REQUIRE(maker.read_until("fill", "s" + n).has_value());
  }
  CHECK(logged_version(ledger_dir) == 2);
  // The third trade's write fails.
  maker.send(order("s2", "S", "sell"));
  REQUIRE(maker.read_until("ack", "s2").has_value());
  taker.send(order("b2", "B", "buy"));
  // Nothing of that turn is released: no fill for b2 (nor its ack), and the connection closes.
  CHECK_FALSE(taker.read_until("fill", "b2", 1500ms).has_value());
  CHECK(taker.closed_by_peer(2000ms));
  CHECK_FALSE(maker.read_until("fill", "s2", 500ms).has_value());
  CHECK(maker.closed_by_peer(2000ms));
  CHECK(logged_version(ledger_dir) == 2);
  // The daemon serves on, degraded, and refuses orders.
  const auto health = http_request(d.http_port(), "GET", "/health");
  CHECK(health.body.find("ledger storage failed") != std::string::npos);
  LineClient late(d.tcp_port());
  late.send({{"type", "ping"}});
  CHECK(late.read_until("pong").has_value());
  late.send(order("x", "X", "buy"));
  const auto refused = late.read_until("reject", "x");
  REQUIRE(refused.has_value());
  CHECK(d.log().find("ledger write failed") != std::string::npos);
}

// ledger.ack_after "fsync": a fill reaches neither side before an fsync covered its change set.
// Every fsync round takes 300 ms more (test hook: a slow disk). When each fill arrives, /replicas
// must already say durable_version >= the trade's version (mark_durable runs on the loop before
// the held bytes are released). With ack_after "write" the same check fails: the fills arrive
// about 300 ms sooner, before the fsync (the second case shows it, so this test can fail).
TEST_CASE("ack_after fsync: no fill reaches a client before an fsync covered it; acks of nothing pending are not held") {
  DaemonProcess d(test_config({{"ledger", {{"ack_after", "fsync"}, {"fsync", "every_commit"}}}}),
                  {"TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS=300"});
  WsClient ws(d.http_port());
  LineClient tcp(d.tcp_port());
  const auto durable = [&] { return json::parse(http_request(d.http_port(), "GET", "/replicas").body)["durable_version"].get<std::uint64_t>(); };
  for (int i = 0; i < 3; ++i) {
    const std::string n = std::to_string(i);
    const bool ws_makes = i % 2 == 0;
    const std::string ws_id = (ws_makes ? "s" : "b") + n, tcp_id = (ws_makes ? "b" : "s") + n;
    // The maker's ack: nothing of its connection waits for the disk (the last fsync covered all).
    const auto start = std::chrono::steady_clock::now();
    if (ws_makes) {
      ws.send(order(ws_id, "S", "sell"));
      (void)ws_read_until(ws, "ack", ws_id);
    } else {
      tcp.send(order(tcp_id, "S", "sell"));
      REQUIRE(tcp.read_until("ack", tcp_id).has_value());
    }
    CHECK(std::chrono::steady_clock::now() - start < 250ms);
    const auto sent = std::chrono::steady_clock::now();
    if (ws_makes) {
      tcp.send(order(tcp_id, "B", "buy"));
    } else {
      ws.send(order(ws_id, "B", "buy"));
    }
    const auto version = static_cast<std::uint64_t>(i + 1);
    const json ws_fill = ws_read_until(ws, "fill", ws_id);
    CHECK_MESSAGE(durable() >= version, "WebSocket fill of trade " << version << " arrived before its fsync");
    REQUIRE(tcp.read_until("fill", tcp_id, 5000ms).has_value());
    CHECK_MESSAGE(durable() >= version, "TCP fill of trade " << version << " arrived before its fsync");
    CHECK(std::chrono::steady_clock::now() - sent >= 300ms);
  }
  CHECK(d.log().find("TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS") != std::string::npos);
}

TEST_CASE("ack_after write (the default): with the same slow fsync, fills arrive before it") {
  DaemonProcess d(test_config({{"ledger", {{"fsync", "every_commit"}}}}), {"TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS=300"});
  LineClient maker(d.tcp_port()), taker(d.tcp_port());
  maker.send(order("s", "S", "sell"));
  REQUIRE(maker.read_until("ack", "s").has_value());
  const auto sent = std::chrono::steady_clock::now();
  taker.send(order("b", "B", "buy"));
  REQUIRE(taker.read_until("fill", "b").has_value());
  CHECK(std::chrono::steady_clock::now() - sent < 250ms);
  CHECK(json::parse(http_request(d.http_port(), "GET", "/replicas").body)["durable_version"] == 0);
}

// A connection that keeps receiving while fills keep committing is never starved: the bytes whose
// commit is on disk go out even while later ones wait. A quotes subscriber hears every tick's
// quote while 40 crossing pairs trade on other connections, and every fill arrives.
TEST_CASE("ack_after fsync: steady traffic is delayed by at most an fsync round, never starved") {
  DaemonProcess d(test_config({{"ledger", {{"ack_after", "fsync"}, {"fsync", "every_commit"}}}}),
                  {"TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS=20"});
  LineClient maker(d.tcp_port()), taker(d.tcp_port()), feed(d.tcp_port()), watcher(d.tcp_port());
  watcher.send({{"type", "subscribe"}, {"channels", {"quotes:BTCUSDT"}}});
  REQUIRE(watcher.read_until("subscribed").has_value());
  constexpr int kPairs = 40;
  for (int i = 0; i < kPairs; ++i) {
    const std::string n = std::to_string(i);
    maker.send(order("s" + n, "S", "sell"));
    taker.send(order("b" + n, "B", "buy"));
    feed.send({{"type", "tick"}, {"symbol", "BTCUSDT"}, {"bid", 99.0}, {"ask", 101.0}, {"bid_size", 1 + i},
               {"ask_size", 1}, {"ts", 1'700'000'000'000 + i}});
    std::this_thread::sleep_for(5ms);
  }
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kPairs; ++i) {
    const std::string n = std::to_string(i);
    REQUIRE_MESSAGE(taker.read_until("fill", "b" + n, 5000ms).has_value(), "taker fill " << i);
    REQUIRE_MESSAGE(maker.read_until("fill", "s" + n, 5000ms).has_value(), "maker fill " << i);
  }
  int quotes = 0;
  while (quotes < kPairs && watcher.read_until("quote", "", 2000ms)) ++quotes;
  CHECK(quotes == kPairs);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(json::parse(http_request(d.http_port(), "GET", "/replicas").body)["durable_version"] == kPairs);
}

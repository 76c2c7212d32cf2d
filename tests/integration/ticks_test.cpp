// The tick path end to end: both schemas, channels, bars, symbol table bound, rebalance ordering.
#include <doctest/doctest.h>

#include <map>
#include <set>

#include "fixture.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;

namespace {
const char* kToken = "change-me-admin-token-0123";

json tick(const std::string& sym, const std::string& bid, const std::string& ask, long ts = 0) {
  json t = {{"type", "tick"}, {"symbol", sym}, {"bid", bid}, {"ask", ask}, {"bid_size", "1"}, {"ask_size", "1"}};
  if (ts) t["ts"] = ts;
  return t;
}
}  // namespace

// Ensure a tick reaches quotes subscribers, both seed strategies signal, and bars close on ts.
TEST_CASE("Ticks: quotes, signals and bars over TCP") {
  DaemonProcess d(test_config());
  LineClient sub(d.tcp_port()), feed(d.tcp_port());
  sub.send({{"type", "subscribe"}, {"channels", {"signals", "quotes:BTCUSDT", "bars:BTCUSDT:1s"}}});
  REQUIRE(sub.read_until("subscribed"));
  feed.send({{"type", "tick"}, {"symbol", "BTCUSDT"}, {"bid", 50000.12}, {"ask", "50001.34"}, {"bid_size", 3},
             {"ask_size", "1"}, {"ts", 1700000000123}});
  auto q = sub.read_until("quote");
  REQUIRE(q);
  CHECK((*q)["bid"] == "50000.12");
  CHECK((*q)["ask"] == "50001.34");
  CHECK((*q)["ts"] == 1700000000123);
  auto s1 = sub.read_until("signal");
  auto s2 = sub.read_until("signal");
  REQUIRE(s1);
  REQUIRE(s2);
  std::set<std::string> strategies = {(*s1)["strategy"], (*s2)["strategy"]};
  CHECK(strategies == std::set<std::string>{"spread", "imbalance"});
  CHECK((*s1)["side"] == "buy");
  CHECK((*s1)["price"] == "50001.34");
  feed.send(tick("BTCUSDT", "50000.00", "50000.02", 1700000001500));
  auto bar = sub.read_until("bar");
  REQUIRE(bar);
  CHECK((*bar)["start"] == 1700000000000);
  CHECK((*bar)["open"] == "50000.73");
  CHECK((*bar)["ticks"] == 1);
  auto bars = http_request(d.http_port(), "GET", "/bars/BTCUSDT?interval=1s").body_json();
  REQUIRE(bars["bars"].size() == 2);
  CHECK(bars["bars"][1]["close"] == "50000.01");  // the open bar is included
  CHECK(http_request(d.http_port(), "GET", "/bars/BTCUSDT?interval=5m").status == 400);
  CHECK(http_request(d.http_port(), "GET", "/bars/NOPE").status == 404);
}

// Ensure Binance bookTicker ticks are accepted verbatim and update-id gaps and replays are counted.
TEST_CASE("Ticks: Binance bookTicker, gaps and stale updates") {
  DaemonProcess d(test_config());
  LineClient feed(d.tcp_port());
  for (long u : {100L, 101L, 105L, 104L}) {
    feed.send({{"u", u}, {"s", "BNBUSDT"}, {"b", "25.35190000"}, {"B", "31.21000000"}, {"a", "25.36520000"},
               {"A", "40.66000000"}});
  }
  feed.send({{"type", "ping"}});
  REQUIRE(feed.read_until("pong"));
  auto stats = http_request(d.http_port(), "GET", "/stats").body_json()["ticks"];
  CHECK(stats["ticks_processed"] == 4);
  CHECK(stats["gaps"] == 1);
  CHECK(stats["stale"] == 1);
}

// Ensure the symbol table is bounded and bad quotes are refused with a reason.
TEST_CASE("Ticks: symbol table bound and invalid quotes") {
  DaemonProcess d(test_config({{"partitioning", {{"max_symbols", 9}}}}));  // 8 instruments + 1
  LineClient feed(d.tcp_port());
  feed.send(tick("NEW1", "1", "2"));
  feed.send(tick("NEW2", "1", "2"));
  auto e = feed.read_until("error");
  REQUIRE(e);
  CHECK((*e)["error"] == "symbol_table_full");
  feed.send(tick("BTCUSDT", "2", "1"));
  auto c = feed.read_until("error");
  REQUIRE(c);
  CHECK((*c)["message"] == "crossed");
}

// Ensure adding and removing a node moves whole partitions, and no tick is lost or reordered.
TEST_CASE("Ticks: rebalance keeps every symbol's ticks in order") {
  DaemonProcess d(test_config());
  LineClient sub(d.tcp_port()), feed(d.tcp_port());
  const std::vector<std::string> syms = {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT", "EURUSD", "GBPUSD"};
  json channels = json::array();
  for (const auto& s : syms) channels.push_back("quotes:" + s);
  sub.send({{"type", "subscribe"}, {"channels", channels}});
  REQUIRE(sub.read_until("subscribed"));
  const int per_symbol = 300;
  for (int i = 1; i <= per_symbol; ++i) {
    for (const auto& s : syms) feed.send(tick(s, std::to_string(i) + ".00", std::to_string(i) + ".01"));
    if (i == 100) {
      auto add = http_request(d.http_port(), "POST", "/admin/nodes", R"({"id":"node-3"})", kToken);
      CHECK(add.status == 200);
      CHECK(add.body_json()["plan"]["kind"] == "add_node");
      const json plan = add.body_json();
      for (const auto& m : plan["plan"]["moves"]) CHECK(m["to"] == "node-3");
    }
    if (i == 200) CHECK(http_request(d.http_port(), "DELETE", "/admin/nodes/node-1", "", kToken).status == 200);
  }
  std::map<std::string, int> last;
  for (int n = 0; n < per_symbol * static_cast<int>(syms.size()); ++n) {
    auto q = sub.read_until("quote");
    REQUIRE_MESSAGE(q, "quote " << n << " missing");
    const std::string sym = (*q)["symbol"];
    const int price = std::stoi((*q)["bid"].get<std::string>());
    CHECK_MESSAGE(price == last[sym] + 1, sym << " went from " << last[sym] << " to " << price);
    last[sym] = price;
  }
  auto parts = http_request(d.http_port(), "GET", "/partitions").body_json();
  CHECK(parts["last_plan"]["kind"] == "remove_node");
  for (const auto& a : parts["assignment"]) CHECK(a["id"] != "node-1");
  auto procs = http_request(d.http_port(), "GET", "/processors").body_json()["nodes"];
  long total = 0;
  for (const auto& n : procs) total += n["ticks_processed"].get<long>();
  CHECK(total >= per_symbol * static_cast<long>(syms.size()) * 2 / 3);  // node-1's count left with it
  CHECK(http_request(d.http_port(), "DELETE", "/admin/nodes/nope", "", kToken).status == 404);
}

// The dashboard's server side over real sockets: GET / and its assets from the binary, and the
// `stats` channel (a full snapshot on subscribe, then one update a second with live counts).
// The page itself is driven in a real browser by tests/browser (CTest entry `browser`).
#include <doctest/doctest.h>

#include <set>

#include "fixture.hpp"
#include "ws_client.hpp"

using namespace tradeshard::testing;

TEST_CASE("Dashboard: the page and its assets are served from the binary; the stats channel is live") {
  DaemonProcess d(test_config());
  const auto page = http_request(d.http_port(), "GET", "/");
  REQUIRE(page.status == 200);
  CHECK(page.body.find("<title>tradeshard</title>") != std::string::npos);
  // Every asset the page names is there, with a content type a browser accepts.
  std::set<std::string> names;
  const std::string marker = "=\"/assets/";
  for (auto at = page.body.find(marker); at != std::string::npos; at = page.body.find(marker, at + 1)) {
    const auto from = at + marker.size();
    names.insert(page.body.substr(from, page.body.find('"', from) - from));
  }
  CHECK(names == std::set<std::string>{"app.css", "app.js", "uPlot.iife.min.js", "uPlot.min.css"});
  for (const auto& n : names) {
    CAPTURE(n);
    const auto a = http_request(d.http_port(), "GET", "/assets/" + n);
    CHECK(a.status == 200);
    CHECK(a.body.size() > 100);
  }
  CHECK(http_request(d.http_port(), "GET", "/assets/nope.js").status == 404);

  WsClient ws(d.http_port());
  ws.send({{"type", "subscribe"}, {"channels", {"stats"}}});
  CHECK(ws.read()["type"] == "subscribed");
  const json first = ws.read();
  REQUIRE(first["type"] == "stats");
  const json& s = first["data"];
  CHECK(s["health"]["status"] == "ok");
  std::set<std::string> workers;
  for (const auto& w : s["workers"]) workers.insert(w["id"].get<std::string>());
  CHECK(workers == std::set<std::string>{"worker-1", "worker-2", "worker-3"});
  CHECK(s["history"].is_array());  // the snapshot carries the history; updates do not
  CHECK(s["symbol_map"]["partition_load"].size() == s["symbol_map"]["partition_owner"].size());
  CHECK(s["totals"]["orders"] == 0);
  // Orders and ticks flow; the next updates show them.
  LineClient c(d.tcp_port());
  c.send({{"type", "order"}, {"id", "s-1"}, {"account", "a"}, {"symbol", "BTCUSDT"}, {"side", "sell"}, {"price", "100"}, {"qty", "1"}});
  c.send({{"type", "order"}, {"id", "b-1"}, {"account", "b"}, {"symbol", "BTCUSDT"}, {"side", "buy"}, {"price", "100"}, {"qty", "1"}});
  c.send({{"type", "tick"}, {"symbol", "BTCUSDT"}, {"bid", "99"}, {"ask", "100"}, {"bid_size", "1"}, {"ask_size", "1"}});
  REQUIRE(c.read_until("done", "b-1"));
  json update;
  for (int i = 0; i < 5; ++i) {
    update = ws.read();
    REQUIRE(update["type"] == "stats");
    if (update["data"]["totals"]["fills"] == 2) break;
  }
  CHECK_FALSE(update["data"].contains("history"));
  CHECK(update["data"]["totals"]["orders"] == 2);
  CHECK(update["data"]["totals"]["ticks"] == 1);
  CHECK(update["data"]["totals"]["trades"] == 1);
  REQUIRE(update["data"]["trades"].size() == 1);
  CHECK(update["data"]["trades"][0]["symbol"] == "BTCUSDT");
  CHECK(update["data"]["trades"][0]["price"] == "100.00");
  CHECK(update["data"]["sample"]["ts"].is_number());
}

// Front door over real sockets: TCP JSON lines, bad input of every kind, limits, HTTP errors.
#include <doctest/doctest.h>

#include <random>
#include <thread>

#include "fixture.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;

// Ensure ping gets pong with seq counting up from 1, and nothing is sent unsolicited on connect.
TEST_CASE("TCP: ping/pong, per-connection seq, no unsolicited message") {
  DaemonProcess d(test_config());
  LineClient c(d.tcp_port());
  CHECK_FALSE(c.read_line(200ms).has_value());
  for (int i = 1; i <= 3; ++i) {
    c.send({{"type", "ping"}});
    auto r = c.read_json();
    REQUIRE(r);
    CHECK((*r)["type"] == "pong");
    CHECK((*r)["seq"] == i);
  }
  LineClient other(d.tcp_port());
  other.send({{"type", "ping"}});
  CHECK((*other.read_json())["seq"] == 1);
}

// Ensure every kind of bad input gets a specific error while another client keeps being served.
TEST_CASE("TCP: bad input never stalls the daemon") {
  DaemonProcess d(test_config());
  LineClient bad(d.tcp_port());
  LineClient good(d.tcp_port());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{not json", "bad_json"},
      {"[1,2,3]", "bad_json"},
      {"\"just a string\"", "bad_json"},
      {R"({"type":"teleport"})", "unknown_type"},
      {R"({"symbol":"BTCUSDT"})", "missing_field"},
      {R"({"type":42})", "bad_field"},
      {R"({"type":"subscribe","channels":"signals"})", "bad_field"},
      {R"({"type":"subscribe","channels":["nonsense"]})", "bad_field"},
      {"{\"type\":\"p\xc3\x28ng\"}", "bad_json"},
      {std::string("\x00\x01\x02\xff\xfe", 5), "bad_json"},
  };
  for (const auto& [line, code] : cases) {
    bad.send_raw(line + "\n");
    auto r = bad.read_json();
    REQUIRE_MESSAGE(r, "no reply to: " << line);
    CHECK_MESSAGE((*r)["type"] == "error", line);
    CHECK_MESSAGE((*r)["error"] == code, line);
    good.send({{"type", "ping"}});
    auto p = good.read_json();
    REQUIRE(p);
    CHECK((*p)["type"] == "pong");
  }
  // An order that decodes far enough to have an id is rejected with that id, not an error.
  bad.send_raw(R"({"type":"order","id":"o-7","symbol":"BTCUSDT","side":"sideways","price":"1","qty":"1"})" "\n");
  auto r = bad.read_json();
  REQUIRE(r);
  CHECK((*r)["type"] == "reject");
  CHECK((*r)["id"] == "o-7");
  CHECK((*r)["reason"] == "bad_field");
  // Random binary garbage with newlines: every line answered, connection still usable.
  std::mt19937 rng(7);
  std::string garbage;
  for (int i = 0; i < 4000; ++i) garbage.push_back(static_cast<char>(rng() % 256));
  bad.send_raw(garbage + "\n");
  bad.send({{"type", "ping"}});
  CHECK(bad.read_until("pong", "", 5000ms).has_value());
  auto stats = http_request(d.http_port(), "GET", "/stats").body_json();
  CHECK(stats["errors"]["bad_json"].get<int>() >= 3);
}

// Ensure an oversize line gets too_large and is skipped; the next line is served.
TEST_CASE("TCP: oversize line is skipped with an error") {
  DaemonProcess d(test_config({{"limits", {{"max_line_bytes", 1024}}}}));
  LineClient c(d.tcp_port());
  c.send_raw(std::string(5000, 'x') + "\n");
  auto r = c.read_json();
  REQUIRE(r);
  CHECK((*r)["error"] == "too_large");
  c.send({{"type", "ping"}});
  auto p = c.read_until("pong");
  CHECK(p.has_value());
}

// Ensure a client that never reads is disconnected once its queue passes the bound, and others go on.
TEST_CASE("TCP: slow consumer is disconnected at the outbound bound") {
  DaemonProcess d(test_config({{"limits", {{"outbound_queue_bytes", 65536}}}}));
  LineClient slow(d.tcp_port(), 4096);
  LineClient good(d.tcp_port());
  std::string burst;
  for (int i = 0; i < 2000; ++i) burst += R"({"type":"ping"})" "\n";
  bool closed = false;
  for (int round = 0; round < 400 && !closed; ++round) {
    try {
      slow.send_raw(burst);
    } catch (const std::exception&) {
      closed = true;
    }
    if (round % 20 == 19) {
      auto s = http_request(d.http_port(), "GET", "/stats").body_json();
      closed = s["connections"]["slow_consumer_disconnects"].get<int>() >= 1;
    }
  }
  CHECK(closed);
  good.send({{"type", "ping"}});
  CHECK(good.read_until("pong").has_value());
  CHECK(d.log().find("slow consumer") != std::string::npos);
}

// Ensure a silent TCP client is closed after limits.idle_timeout_ms.
TEST_CASE("TCP: idle timeout") {
  DaemonProcess d(test_config({{"limits", {{"idle_timeout_ms", 300}}}}));
  LineClient c(d.tcp_port());
  CHECK(c.closed_by_peer(4000ms));
  CHECK(d.log().find("idle timeout") != std::string::npos);
}

// Ensure limits.messages_per_second answers the excess with rate_limited.
TEST_CASE("TCP: rate limit per connection") {
  DaemonProcess d(test_config({{"limits", {{"messages_per_second", 5}}}}));
  LineClient c(d.tcp_port());
  std::string burst;
  for (int i = 0; i < 30; ++i) burst += R"({"type":"ping"})" "\n";
  c.send_raw(burst);
  int pongs = 0, limited = 0;
  for (int i = 0; i < 30; ++i) {
    auto r = c.read_json();
    REQUIRE(r);
    if ((*r)["type"] == "pong") ++pongs;
    if ((*r)["type"] == "error" && (*r)["error"] == "rate_limited") ++limited;
  }
  CHECK(pongs >= 5);
  CHECK(pongs <= 7);
  CHECK(limited == 30 - pongs);
}

// Ensure connections past limits.max_connections are refused while existing ones work.
TEST_CASE("TCP: max connections") {
  DaemonProcess d(test_config({{"limits", {{"max_connections", 2}}}}));
  LineClient a(d.tcp_port());
  LineClient b(d.tcp_port());
  a.send({{"type", "ping"}});
  REQUIRE(a.read_json());
  b.send({{"type", "ping"}});
  REQUIRE(b.read_json());
  LineClient c(d.tcp_port());
  CHECK(c.closed_by_peer(2000ms));
  a.send({{"type", "ping"}});
  CHECK(a.read_until("pong").has_value());
}

// Ensure HTTP errors are JSON with the right status codes.
TEST_CASE("HTTP: 404, 405, 413, health, stats, metrics") {
  DaemonProcess d(test_config({{"limits", {{"http_max_body_bytes", 64}}}}));
  auto h = http_request(d.http_port(), "GET", "/health");
  CHECK(h.status == 200);
  CHECK(h.body_json()["status"] == "ok");
  CHECK(h.headers["content-type"] == "application/json");
  auto nf = http_request(d.http_port(), "GET", "/no/such/thing");
  CHECK(nf.status == 404);
  CHECK(nf.body_json()["error"] == "not_found");
  auto m = http_request(d.http_port(), "DELETE", "/stats");
  CHECK(m.status == 405);
  CHECK(m.body_json()["error"] == "method_not_allowed");
  CHECK(m.headers["allow"] == "GET");
  auto big = http_request(d.http_port(), "POST", "/admin/workers", std::string(1000, 'x'), "t");
  CHECK(big.status == 413);
  CHECK(big.body_json()["error"] == "too_large");
  auto s = http_request(d.http_port(), "GET", "/stats");
  CHECK(s.status == 200);
  CHECK(s.body_json()["connections"]["total"].get<int>() >= 4);
  auto metrics = http_request(d.http_port(), "GET", "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("# TYPE tradeshard_connections_total counter") != std::string::npos);
}

// Ensure a slowloris HTTP client (headers never finished) is cut off by the request timeout.
TEST_CASE("HTTP: slowloris is timed out") {
  DaemonProcess d(test_config({{"limits", {{"http_timeout_ms", 400}}}}));
  LineClient c(d.http_port());
  c.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n");
  std::this_thread::sleep_for(150ms);
  c.send_raw("X-Slow: 1\r\n");
  CHECK(c.closed_by_peer(3000ms));
  auto h = http_request(d.http_port(), "GET", "/health");
  CHECK(h.status == 200);
}

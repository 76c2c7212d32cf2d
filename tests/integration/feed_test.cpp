// The WebSocket market-data feed client: its pure parts (URL, backoff, conflation batch, frame
// decoding) directly, then the real daemon against a scripted local feed server (ws:// and wss://).
#include <doctest/doctest.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <random>
#include <thread>

#include "../src/net/feed_frame.hpp"
#include "../src/net/feed_policy.hpp"
#include "feed_server.hpp"
#include "fixture.hpp"

using namespace tradeshard::testing;
namespace net = tradeshard::net;
using namespace std::chrono_literals;

namespace {

json feed_config(const json& feed) { return test_config({{"feeds", json::array({feed})}}); }

// Polls /stats until pred(stats) holds; returns the last stats seen either way.
template <class Pred>
json wait_stats(unsigned short http_port, Pred pred, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  json s;
  for (;;) {
    s = http_request(http_port, "GET", "/stats").body_json();
    if (pred(s) || std::chrono::steady_clock::now() > deadline) return s;
    std::this_thread::sleep_for(20ms);
  }
}

const json& feed0(const json& stats) { return stats["ticks"]["feeds"][0]; }

// A throw-away CA, and a server certificate it signs for `host` (subjectAltName DNS:host).
struct TestPki {
  std::string dir, ca, cert, key;
  explicit TestPki(const std::string& host) {
    char tmpl[] = "/tmp/tradeshard-pki-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    ca = dir + "/ca.pem";
    cert = dir + "/server.pem";
    key = dir + "/server.key";
    std::ofstream(dir + "/ext.cnf") << "subjectAltName=DNS:" << host << "\nbasicConstraints=CA:FALSE\n";
    const std::vector<std::vector<std::string>> steps = {
        {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
         dir + "/ca.key", "-out", ca, "-days", "1", "-subj", "/CN=tradeshard test CA", "-addext",
         "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"},
        {"openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", key,
         "-out", dir + "/server.csr", "-subj", "/CN=" + host},
        {"openssl", "x509", "-req", "-in", dir + "/server.csr", "-CA", ca, "-CAkey", dir + "/ca.key",
         "-CAcreateserial", "-out", cert, "-days", "1", "-extfile", dir + "/ext.cnf"},
    };
    for (const auto& argv : steps) {
      const auto [rc, out] = run_command(argv);
      INFO(out);
      REQUIRE(rc == 0);
    }
  }
  ~TestPki() {
    const std::string cmd = "rm -rf '" + dir + "'";
    if (std::system(cmd.c_str()) != 0) { /* best effort */ }
  }
};

}  // namespace

// Ensure feed URLs split into scheme, host, port and target, and malformed ones are refused.
TEST_CASE("Feed: URL parsing") {
  const auto a = net::parse_feed_url("wss://stream.binance.com:9443/stream?streams=bnbusdt@bookTicker");
  REQUIRE(a);
  CHECK(a->tls);
  CHECK(a->host == "stream.binance.com");
  CHECK(a->port == "9443");
  CHECK(a->target == "/stream?streams=bnbusdt@bookTicker");
  CHECK(a->host_header() == "stream.binance.com:9443");
  const auto b = net::parse_feed_url("ws://[::1]");
  REQUIRE(b);
  CHECK(b->host == "::1");
  CHECK(b->port == "80");
  CHECK(b->target == "/");
  CHECK(b->host_header() == "[::1]");
  CHECK_FALSE(net::parse_feed_url("http://x/"));
  CHECK_FALSE(net::parse_feed_url("ws://:80/"));
  CHECK_FALSE(net::parse_feed_url("ws://h:99999/"));
  CHECK_FALSE(net::parse_feed_url("ws://user:pw@h/"));
}

// Ensure the backoff doubles from 100 ms up to the cap, draws within [0, ceiling], and resets.
TEST_CASE("Feed: backoff is capped exponential with full jitter") {
  net::Backoff b(100, 1000);
  std::mt19937_64 rng(42);
  const std::uint32_t ceilings[] = {100, 200, 400, 800, 1000, 1000, 1000};
  std::uint32_t max_seen = 0;
  for (const auto c : ceilings) {
    CHECK(b.ceiling_ms() == c);
    const auto d = b.next_ms(rng);
    CHECK(d <= c);
    max_seen = std::max(max_seen, d);
  }
  CHECK(max_seen > 100);  // jitter spreads over the range, not pinned to 0 or the base
  b.reset();
  CHECK(b.ceiling_ms() == 100);
  // Same seed, same delays: reconnect timing is reproducible in tests.
  net::Backoff x(100, 30000), y(100, 30000);
  std::mt19937_64 r1(7), r2(7);
  for (int i = 0; i < 10; ++i) CHECK(x.next_ms(r1) == y.next_ms(r2));
}

// Ensure the batch keeps only the latest tick per symbol, in first-seen order, and counts replacements.
TEST_CASE("Feed: conflation batch keeps the latest tick per symbol") {
  net::ConflationBatch batch;
  std::string sym = "AAA";
  tradeshard::app::TickCmd t;
  t.symbol = sym;
  t.bid = 1;
  CHECK_FALSE(batch.put(t));
  sym = "BBB";  // the batch must own its copy: the caller's buffer is reused for the next frame
  t.bid = 2;
  CHECK_FALSE(batch.put(t));
  sym = "AAA";
  t.bid = 3;
  CHECK(batch.put(t));
  CHECK(batch.size() == 2);
  std::vector<std::pair<std::string, std::int64_t>> seen;
  batch.drain([&](const tradeshard::app::TickCmd& k) { seen.emplace_back(std::string(k.symbol), k.bid); });
  CHECK(seen == std::vector<std::pair<std::string, std::int64_t>>{{"AAA", 3}, {"BBB", 2}});
  CHECK(batch.empty());
}

// Ensure frames decode as bare bookTicker, combined-stream wrapper, control reply or bad.
TEST_CASE("Feed: frame decoding") {
  net::FeedFrameDecoder d;
  const std::string bare =
      R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})";
  auto r = d.decode(bare);
  REQUIRE(r.kind == net::FrameKind::tick);
  CHECK(r.tick.symbol == "BNBUSDT");
  CHECK(r.tick.update_id == 400900217);
  CHECK(r.tick.bid == 2535190000);
  CHECK(r.tick.ask_size == 4066000000);
  r = d.decode(R"({"stream":"bnbusdt@bookTicker","data":)" + bare + "}");
  REQUIRE(r.kind == net::FrameKind::tick);
  CHECK(r.tick.symbol == "BNBUSDT");
  CHECK(r.tick.ask == 2536520000);
  CHECK(d.decode(R"({"result":null,"id":1})").kind == net::FrameKind::control);
  CHECK(d.decode(R"({"stream":"x","data":"nope"})").kind == net::FrameKind::bad);
  CHECK(d.decode(R"({"type":"ping"})").kind == net::FrameKind::bad);
  CHECK(d.decode("{oops").kind == net::FrameKind::bad);
  CHECK(d.decode(R"({"stream":"x","data":{"s":"BNBUSDT","b":"x","a":"1"}})").kind == net::FrameKind::bad);
}

// Ensure the daemon connects, sends the subscribe frame, and turns bare and wrapped bookTicker
// frames into ticks visible in /stats and /bars.
TEST_CASE("Feed: daemon connects, subscribes and receives bookTicker frames") {
  std::mutex mu;
  std::string subscribe_seen;
  FeedServer server([&](FeedServer::Session& s, int) {
    auto sub = s.read(5s);
    {
      std::lock_guard lock(mu);
      subscribe_seen = sub.value_or("");
    }
    s.send(R"({"result":null,"id":1})");
    s.send(book_ticker("BNBUSDT", 100, "25.35", "25.37"));
    s.send(R"({"stream":"bnbusdt@bookTicker","data":)" + book_ticker("BNBUSDT", 101, "25.36", "25.38") + "}");
    s.send(R"({"nonsense":true})");
    s.hold();
  });
  const std::string sub = R"({"method":"SUBSCRIBE","params":["bnbusdt@bookTicker"],"id":1})";
  DaemonProcess d(feed_config({{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws"},
                               {"subscribe", sub}, {"conflate", false}}));
  const auto s = wait_stats(d.http_port(), [](const json& j) { return feed0(j)["messages"] == 4; });
  INFO(s.dump());
  const auto& f = feed0(s);
  CHECK(f["url"] == "ws://127.0.0.1:" + std::to_string(server.port()) + "/ws");
  CHECK(f["state"] == "connected");
  CHECK(f["ticks"] == 2);
  CHECK(f["processed"] == 2);
  CHECK(f["control"] == 1);
  CHECK(f["bad_frames"] == 1);
  CHECK(f["reconnects"] == 0);
  CHECK(s["ticks"]["ticks_processed"] == 2);
  CHECK(s["ticks"]["gaps"] == 0);
  {
    std::lock_guard lock(mu);
    CHECK(subscribe_seen == sub);
  }
  const auto bars = http_request(d.http_port(), "GET", "/bars/BNBUSDT?interval=1m").body_json();
  REQUIRE(bars["bars"].size() >= 1);
  CHECK(bars["bars"].back()["close"] == "25.37");  // mid of the wrapped tick: (25.36 + 25.38) / 2
  CHECK(d.log().find("feed ws://127.0.0.1") != std::string::npos);
}

// Ensure a feed dropped mid-stream is reconnected, delivery continues, and the jump in `u`
// across the two connections shows in ticks.gaps.
TEST_CASE("Feed: reconnects after the server drops the connection mid-stream") {
  FeedServer server([](FeedServer::Session& s, int index) {
    if (index == 0) {
      for (std::uint64_t u = 1; u <= 5; ++u) s.send(book_ticker("ETHUSDT", u, "2000.1", "2000.3"));
      std::this_thread::sleep_for(100ms);  // let the client read them before the socket goes away
      s.drop();
      return;
    }
    for (std::uint64_t u = 10; u <= 12; ++u) s.send(book_ticker("ETHUSDT", u, "2001.1", "2001.3"));
    s.hold();
  });
  DaemonProcess d(feed_config({{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/"},
                               {"conflate", false}, {"max_backoff_ms", 500}}));
  const auto s = wait_stats(d.http_port(), [](const json& j) { return feed0(j)["ticks"] == 8; });
  INFO(s.dump());
  INFO(d.log());
  const auto& f = feed0(s);
  CHECK(f["ticks"] == 8);
  CHECK(f["reconnects"] >= 1);
  CHECK(f["errors"] >= 1);
  CHECK(f["state"] == "connected");
  CHECK(server.opened() >= 2);
  CHECK(s["ticks"]["ticks_processed"] == 8);
  CHECK(s["ticks"]["gaps"] == 1);  // 5 -> 10
  CHECK(s["ticks"]["stale"] == 0);
  CHECK(d.log().find("reconnecting in") != std::string::npos);
}

// Ensure wss:// verifies the server against the configured CA and host name: a certificate
// from our CA for "localhost" is accepted and delivers ticks.
TEST_CASE("Feed: wss:// with the configured CA connects and delivers") {
  TestPki pki("localhost");
  FeedServer server(
      [](FeedServer::Session& s, int) {
        s.send(book_ticker("SOLUSDT", 7, "150.1", "150.3"));
        s.hold();
      },
      pki.cert, pki.key);
  DaemonProcess d(feed_config({{"url", "wss://localhost:" + std::to_string(server.port()) + "/ws"},
                               {"ca_file", pki.ca}}));
  const auto s = wait_stats(d.http_port(), [](const json& j) { return feed0(j)["ticks"] == 1; });
  INFO(s.dump());
  INFO(d.log());
  CHECK(feed0(s)["ticks"] == 1);
  CHECK(feed0(s)["state"] == "connected");
  CHECK(feed0(s)["errors"] == 0);
  CHECK(s["ticks"]["ticks_processed"] == 1);
}

// Ensure a certificate for another host name fails verification: errors counted and logged,
// no tick delivered, and the client keeps retrying.
TEST_CASE("Feed: wss:// certificate for the wrong host is refused") {
  TestPki pki("wrong.example");
  FeedServer server(
      [](FeedServer::Session& s, int) {
        s.send(book_ticker("SOLUSDT", 7, "150.1", "150.3"));
        s.hold();
      },
      pki.cert, pki.key);
  DaemonProcess d(feed_config({{"url", "wss://localhost:" + std::to_string(server.port()) + "/ws"},
                               {"ca_file", pki.ca}, {"max_backoff_ms", 200}}));
  const auto s = wait_stats(d.http_port(), [](const json& j) { return feed0(j)["errors"] >= 2; });
  INFO(s.dump());
  const auto& f = feed0(s);
  CHECK(f["errors"] >= 2);
  CHECK(f["ticks"] == 0);
  CHECK(f["state"] != "connected");
  CHECK(f["last_error"].get<std::string>().find("tls handshake") != std::string::npos);
  CHECK(s["ticks"]["ticks_processed"] == 0);
  CHECK(server.opened() == 0);
  CHECK(d.log().find("does not match host name \"localhost\"") != std::string::npos);
}

// Ensure a ca_file that cannot be read stops the daemon at start-up with a clear message.
TEST_CASE("Feed: unreadable ca_file fails start-up") {
  CHECK_THROWS_WITH_AS(DaemonProcess(feed_config({{"url", "wss://localhost:1/"}, {"ca_file", "/nonexistent/ca.pem"}})),
                       doctest::Contains("ca_file"), std::runtime_error);
}

// Ensure a burst queued faster than it is processed is conflated to the latest tick per symbol
// (conflated > 0, the last quote is the burst's last), and that without conflation every tick
// is processed.
TEST_CASE("Feed: conflation keeps the latest tick of a burst") {
  constexpr int n = 20000;
  std::vector<std::string> burst;
  for (int i = 1; i < n; ++i) {
    burst.push_back(book_ticker("BNBUSDT", static_cast<std::uint64_t>(i), "25." + std::to_string(1000 + i % 1000),
                                "26.0"));
  }
  burst.push_back(book_ticker("BNBUSDT", n, "30.00", "30.02"));
  for (const bool conflate : {true, false}) {
    CAPTURE(conflate);
    FeedServer server([&](FeedServer::Session& s, int) {
      s.send_burst(burst);
      s.hold();
    });
    DaemonProcess d(feed_config({{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/"},
                                 {"conflate", conflate}}));
    const auto s = wait_stats(d.http_port(), [](const json& j) { return feed0(j)["ticks"] == n; }, 30s);
    INFO(s.dump());
    const auto& f = feed0(s);
    REQUIRE(f["ticks"] == n);
    CHECK(f["processed"].get<std::uint64_t>() + f["conflated"].get<std::uint64_t>() == n);
    CHECK(s["ticks"]["ticks_processed"] == f["processed"]);
    if (conflate) {
      CHECK(f["conflated"] > 0);
    } else {
      CHECK(f["conflated"] == 0);
      CHECK(s["ticks"]["gaps"] == 0);
    }
    const auto bars = http_request(d.http_port(), "GET", "/bars/BNBUSDT?interval=1m").body_json();
    REQUIRE(bars["bars"].size() >= 1);
    CHECK(bars["bars"].back()["close"] == "30.01");
  }
}

// Ensure SIGTERM with a connected feed and a feed waiting to retry stops the daemon cleanly
// (exit 0): the clients are stopped before the loop ends and destroyed without touching it.
TEST_CASE("Feed: SIGTERM with live feeds exits cleanly") {
  FeedServer server([](FeedServer::Session& s, int) {
    s.send(book_ticker("BTCUSDT", 1, "50000.1", "50000.3"));
    s.hold();
  });
  DaemonProcess d(test_config({{"feeds", json::array({{{"url", "ws://127.0.0.1:" + std::to_string(server.port()) + "/"}},
                                                      {{"url", "ws://127.0.0.1:1/"}, {"max_backoff_ms", 100}}})}}));
  const auto s = wait_stats(d.http_port(), [](const json& j) {
    return j["ticks"]["feeds"][0]["ticks"] == 1 && j["ticks"]["feeds"][1]["errors"] >= 2;
  });
  INFO(s.dump());
  CHECK(s["ticks"]["feeds"][1]["last_error"].get<std::string>().find("connect") != std::string::npos);
  CHECK(d.stop(SIGTERM) == 0);
  CHECK(d.log().find("AddressSanitizer") == std::string::npos);
  CHECK(d.log().find("runtime error") == std::string::npos);
}

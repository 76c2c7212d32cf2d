// Strict input over real sockets (issue 14, item 5): JSON's non-numbers (NaN, Infinity) are not
// JSON, and HTTP requests with ambiguous framing or headers are refused before anything reads a
// body (RFC 9112 §3.2, §5.2, §6.1). Every refusal is specific, logged once, and leaves the daemon
// serving other clients.
#include <doctest/doctest.h>
#include <poll.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <cerrno>
#include <cstddef>
#include <string>
#include <vector>

#include "fixture.hpp"
#include "ws_client.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

namespace {

// Lines that are not JSON because of a NaN / Infinity / -Infinity literal (or another bare word
// where a value must be), in every numeric position the protocol reads and in ones it ignores.
const std::vector<std::string> kNotJson = {
    R"({"type":"tick","symbol":"BTCUSDT","bid":NaN,"ask":"50001.34"})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":Infinity,"ask":"50001.34"})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":-Infinity,"ask":"50001.34"})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":-Infinity})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","bid_size":NaN})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","ask_size":-Infinity})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","ts":NaN})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","ts":-Infinity})",
    R"({"type":"tick","symbol":"BTCUSDT","ts":Infinity,"bid":"50000.12","ask":"50001.34"})",
    // A field the message type does not read, and a key the protocol does not know.
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","price":-Infinity})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","extra":NaN})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":"1","ask":"2","extra":[1,{"deep":[-Infinity]}]})",
    // A key given twice: the first value is not read (the last wins) but must still be JSON.
    R"({"type":"tick","symbol":"BTCUSDT","bid":"1","ask":"2","ts":-Infinity,"ts":1700000000123})",
    // Binance bookTicker.
    R"({"u":NaN,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66000000"})",
    R"({"u":400900217,"s":"BNBUSDT","b":Infinity,"B":"31.21000000","a":"25.36520000","A":"40.66000000"})",
    R"({"u":400900217,"s":"BNBUSDT","b":"25.35190000","B":"31.21000000","a":"25.36520000","A":"40.66","E":-Infinity})",
    // Orders (with an id: still an error, not a reject, since the message is not JSON).
    R"({"type":"order","id":"n-1","symbol":"BTCUSDT","side":"buy","price":NaN,"qty":"0.5"})",
    R"({"type":"order","id":"n-2","symbol":"BTCUSDT","side":"buy","price":"50000.10","qty":Infinity})",
    R"({"type":"order","id":"n-3","symbol":"BTCUSDT","side":"buy","price":-Infinity,"qty":"0.5"})",
    R"({"type":"replace","id":"n-4","qty":-Infinity})",
    R"({"type":"cancel","id":-Infinity})",
    R"({"type":NaN})",
    R"({"type":"ping","seq":Infinity})",
    R"({"type":"subscribe","channels":["signals",NaN]})",
    // Other non-JSON number and literal spellings in the same positions.
    R"({"type":"tick","symbol":"BTCUSDT","bid":"1","ask":"2","ts":0123})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":1.,"ask":"2"})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":-,"ask":"2"})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":+1,"ask":"2"})",
    R"({"type":"tick","symbol":"BTCUSDT","bid":.5,"ask":"2"})",
    R"({"type":"ping","flag":tru})",
    R"({"type":"ping","flag":nan})",
};

// The same values as JSON strings are JSON: refused as bad fields (an order's with its id).
struct Quoted {
  std::string line, type, code, id;
};
const std::vector<Quoted> kQuoted = {
    {R"({"type":"tick","symbol":"BTCUSDT","bid":"NaN","ask":"50001.34"})", "error", "bad_field", ""},
    {R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"Infinity"})", "error", "bad_field", ""},
    {R"({"type":"tick","symbol":"BTCUSDT","bid":"1","ask":"2","ts":"-Infinity"})", "error", "bad_field", ""},
    {R"({"type":"order","id":"q-1","symbol":"BTCUSDT","side":"buy","price":"NaN","qty":"0.5"})", "reject",
     "bad_field", "q-1"},
    {R"({"type":"order","id":"q-2","symbol":"BTCUSDT","side":"buy","price":"50000.10","qty":"-Infinity"})",
     "reject", "bad_field", "q-2"},
};


// One HTTP exchange over a raw socket: the exact request bytes, then everything the daemon
// sends until it closes the connection (or `wait` passes).
struct RawExchange {
  std::string raw;      // every byte received
  bool closed = false;  // the daemon closed the connection
  int status = 0;       // of the first response
  std::string head;     // the first response's header block
  std::string body;     // the first response's body (by Content-Length)
  [[nodiscard]] json body_json() const { return json::parse(body, nullptr, false); }
  [[nodiscard]] int responses() const {  // each response has one Server header
    int n = 0;
    for (auto p = raw.find("\r\nServer: "); p != std::string::npos; p = raw.find("\r\nServer: ", p + 1)) ++n;
    return n;
  }
  [[nodiscard]] bool has_header(const std::string& line) const { return head.find("\r\n" + line + "\r\n") != std::string::npos; }
};

// Parses the first response of `raw` into `r`; false while it is incomplete.
bool parse_first(RawExchange& r) {
  const auto end = r.raw.find("\r\n\r\n");
  if (end == std::string::npos || r.raw.size() < 12) return false;
  r.head = r.raw.substr(0, end + 2);
  r.status = std::stoi(r.raw.substr(9, 3));
  std::size_t length = 0;
  const auto cl = r.head.find("\r\nContent-Length: ");
  if (cl != std::string::npos) length = std::stoul(r.head.substr(cl + 18));
  if (r.raw.size() < end + 4 + length) return false;
  r.body = r.raw.substr(end + 4, length);
  return true;
}

void receive(LineClient& c, RawExchange& r, std::chrono::milliseconds wait, bool until_close) {
  const auto deadline = std::chrono::steady_clock::now() + wait;
  for (;;) {
    if (!until_close && parse_first(r)) return;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{c.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char tmp[65536];
    const ssize_t n = ::recv(c.fd(), tmp, sizeof tmp, 0);
    if (n <= 0) {
      r.closed = true;  // EOF, or a reset after the reply
      break;
    }
    r.raw.append(tmp, static_cast<std::size_t>(n));
  }
  parse_first(r);
}

// Sends `bytes` on a new connection and reads until the daemon closes it.
RawExchange exchange(unsigned short port, const std::string& bytes) {
  LineClient c(port);
  c.send_raw(bytes);
  RawExchange r;
  receive(c, r, 3000ms, true);
  return r;
}

// Ensure the refusal is a 400 with a specific JSON error, one response only, and a closed connection.
void check_bad_request(const RawExchange& r, const std::string& what, const std::string& message_part) {
  INFO(what);
  INFO(r.raw);
  CHECK(r.status == 400);
  CHECK(r.body_json().value("error", "") == "bad_request");
  CHECK(r.body_json().value("message", "").find(message_part) != std::string::npos);
  CHECK(r.has_header("Connection: close"));
  CHECK(r.has_header("Content-Type: application/json"));
  CHECK(r.closed);
  CHECK(r.responses() == 1);  // nothing behind the header was served as a second request
}

std::size_t count(const std::string& hay, const std::string& needle) {
  std::size_t n = 0;
  for (auto p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

}  // namespace

// Ensure NaN / Infinity / -Infinity (and other bare words and non-JSON numbers) anywhere in a
// line are bad_json errors over TCP, quoted ones bad fields, valid numbers still accepted, and
// another client served throughout.
TEST_CASE("Strict: NaN and Infinity are not JSON over TCP") {
  DaemonProcess d(test_config());
  LineClient bad(d.tcp_port());
  LineClient good(d.tcp_port());
  for (const auto& line : kNotJson) {
    // A ping behind each line: a line taken silently shows as a pong first, not as a stall.
    bad.send_raw(line + "\n" R"({"type":"ping"})" "\n");
    auto r = bad.read_json();
    REQUIRE_MESSAGE(r, "no reply to: " << line);
    CHECK_MESSAGE((*r)["type"] == "error", line);
    CHECK_MESSAGE((*r)["error"] == "bad_json", line);
    CHECK_MESSAGE(!r->contains("id"), line);
    if ((*r)["type"] != "pong") {
      auto pong = bad.read_json();
      REQUIRE(pong);
      CHECK((*pong)["type"] == "pong");
    }
    good.send({{"type", "ping"}});
    auto p = good.read_json();
    REQUIRE(p);
    CHECK((*p)["type"] == "pong");
  }
  for (const auto& q : kQuoted) {
    bad.send_raw(q.line + "\n");
    auto r = bad.read_json();
    REQUIRE_MESSAGE(r, "no reply to: " << q.line);
    CHECK_MESSAGE((*r)["type"] == q.type, q.line);
    CHECK_MESSAGE((*r)[q.type == "error" ? "error" : "reason"] == q.code, q.line);
    if (!q.id.empty()) CHECK_MESSAGE((*r)["id"] == q.id, q.line);
  }
  // Valid JSON numbers in the same positions are still read (a tick has no reply; the pong after
  // it is the next message), and so is an order with number price and qty.
  bad.send_raw(R"({"type":"tick","symbol":"BTCUSDT","bid":50000.12,"ask":5.000134e4,"bid_size":0,"ask_size":1.5,"ts":1700000000123,"extra":[-0.5,1E-3,true,null,{"k":false}]})" "\n");
  bad.send_raw(R"({"u":400900217,"s":"BNBUSDT","b":25.3519,"B":"31.21000000","a":"25.36520000","A":40.66,"E":1700000000123})" "\n");
  bad.send({{"type", "ping"}});
  auto p = bad.read_json();
  REQUIRE(p);
  CHECK((*p)["type"] == "pong");
  bad.send_raw(R"({"type":"order","id":"v-1","account":"alice","symbol":"BTCUSDT","side":"buy","price":50000.1,"qty":0.5})" "\n");
  auto ack = bad.read_json();
  REQUIRE(ack);
  CHECK((*ack)["type"] == "ack");
  CHECK((*ack)["id"] == "v-1");
  // Several lines arriving in one read (the decoder's batched path) give the same answers.
  std::string burst;
  for (const auto& line : kNotJson) burst += R"({"type":"ping"})" "\n" + line + "\n";
  burst += R"({"type":"ping"})" "\n";
  bad.send_raw(burst);
  for (std::size_t i = 0; i < kNotJson.size(); ++i) {
    auto a = bad.read_json();
    REQUIRE(a);
    CHECK((*a)["type"] == "pong");
    auto b = bad.read_json();
    REQUIRE(b);
    CHECK_MESSAGE((*b)["error"] == "bad_json", kNotJson[i]);
  }
  auto last = bad.read_json();
  REQUIRE(last);
  CHECK((*last)["type"] == "pong");
  auto stats = http_request(d.http_port(), "GET", "/stats").body_json();
  CHECK(stats["errors"]["bad_json"].get<std::size_t>() == 2 * kNotJson.size());
}

// Ensure the same over WebSocket text frames.
TEST_CASE("Strict: NaN and Infinity are not JSON over WebSocket") {
  DaemonProcess d(test_config());
  WsClient c(d.http_port());
  for (const auto& line : kNotJson) {
    c.ws.write(boost::asio::buffer(line));
    const json r = c.roundtrip(R"({"type":"ping"})");  // the line's reply; a pong if it was taken silently
    CHECK_MESSAGE(r["type"] == "error", line);
    CHECK_MESSAGE(r["error"] == "bad_json", line);
    if (r["type"] != "pong") CHECK(c.read()["type"] == "pong");
  }
  for (const auto& q : kQuoted) {
    const json r = c.roundtrip(q.line);
    CHECK_MESSAGE(r["type"] == q.type, q.line);
    CHECK_MESSAGE(r[q.type == "error" ? "error" : "reason"] == q.code, q.line);
  }
  c.ws.write(boost::asio::buffer(std::string(R"({"type":"tick","symbol":"BTCUSDT","bid":50000.12,"ask":50001,"ts":1700000000123})")));
  CHECK(c.roundtrip(R"({"type":"ping"})")["type"] == "pong");
}

// Ensure a WebSocket upgrade with another method than GET is 405 with Allow: GET (not 404), a
// GET upgrade still works, and an upgrade elsewhere than /ws is still 404.
TEST_CASE("Strict: WebSocket upgrade with a method other than GET is 405") {
  DaemonProcess d(test_config());
  const std::string upgrade_headers =
      " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
  int refused = 0;
  for (const std::string method : {"POST", "PUT", "DELETE", "HEAD", "OPTIONS"}) {
    const auto r = exchange(d.http_port(), method + " /ws" + upgrade_headers + "Content-Length: 0\r\n\r\n");
    INFO(method);
    INFO(r.raw);
    CHECK(r.status == 405);
    CHECK(r.has_header("Allow: GET"));
    if (method != "HEAD") {
      CHECK(r.body_json()["error"] == "method_not_allowed");
      CHECK(r.body_json()["message"].get<std::string>().find("GET") != std::string::npos);
    }
    CHECK(r.closed);
    ++refused;
  }
  LineClient other(d.http_port());
  other.send_raw("POST /other" + upgrade_headers + "Content-Length: 0\r\n\r\n");
  RawExchange elsewhere;
  receive(other, elsewhere, 3000ms, false);
  CHECK(elsewhere.status == 404);
  WsClient ok(d.http_port());
  CHECK(ok.roundtrip(R"({"type":"ping"})")["type"] == "pong");
  CHECK(count(d.log(), "upgrade with method") == static_cast<std::size_t>(refused));
  auto stats = http_request(d.http_port(), "GET", "/stats").body_json();
  CHECK(stats["http"]["method_not_allowed"].get<int>() >= refused);
}

// Ensure every Transfer-Encoding but a single plain `chunked`, and Transfer-Encoding with
// Content-Length, is refused with 400 and a close before any body byte is read as a request;
// plain chunked bodies still work on a kept-alive connection.
TEST_CASE("Strict: Transfer-Encoding other than chunked is 400 and closes") {
  DaemonProcess d(test_config());
  // Whatever a lenient server would take for the body, or for the next request.
  const std::string smuggled = "0\r\n\r\nGET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string start = "POST /admin/balancer HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  struct Case {
    std::string headers, message;
  };
  const std::vector<Case> cases = {
      {"Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: identity, chunked\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: xchunked\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: chunkedx\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: identity\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: \r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding:\tchunked\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: chunked\t\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: \tchunked \r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: chun\tked\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: \"chunked\"\r\n", "Transfer-Encoding must be exactly \"chunked\""},
      {"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", "more than one Transfer-Encoding"},
      {"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n", "more than one Transfer-Encoding"},
      {"Transfer-Encoding: chunked\r\ntransfer-encoding: identity\r\n", "more than one Transfer-Encoding"},
      {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding together with Content-Length"},
      {"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", "Transfer-Encoding together with Content-Length"},
      {"TRANSFER-ENCODING: chunked\r\ncontent-length: 0\r\n", "Transfer-Encoding together with Content-Length"},
      {"Transfer-Encoding: gzip\r\nContent-Length: 5\r\n", "Transfer-Encoding"},
  };
  for (const auto& c : cases) {
    const auto r = exchange(d.http_port(), start + c.headers + "\r\n" + smuggled);
    check_bad_request(r, c.headers, c.message);
  }
  // HTTP/1.0 has no chunked coding: its framing is faulty with any Transfer-Encoding (§6.1).
  const std::string old_te = "POST /admin/balancer HTTP/1.0\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  check_bad_request(exchange(d.http_port(), old_te + smuggled), old_te, "Transfer-Encoding in an HTTP/1.0 request");
  // A plain chunked body (any case of the coding's name, as RFC 9112 §7 has it) is read as one,
  // and the connection stays open for the next request.
  LineClient keep(d.http_port());
  keep.send_raw("GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n");
  RawExchange first;
  receive(keep, first, 3000ms, false);
  CHECK(first.status == 200);
  CHECK_FALSE(first.closed);
  keep.send_raw("GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\n\r\n0\r\n\r\n");
  RawExchange second;
  receive(keep, second, 3000ms, false);
  CHECK(second.status == 200);
  CHECK(count(d.log(), "bad request: ") == cases.size() + 1);
  // Other clients were served throughout.
  CHECK(http_request(d.http_port(), "GET", "/health").status == 200);
  auto stats = http_request(d.http_port(), "GET", "/stats").body_json();
  CHECK(stats["http"]["bad_request"].get<std::size_t>() >= cases.size() + 1);
}

// Ensure an HTTP/1.1 request without Host (or with two), and obsolete line folding anywhere in
// the header, are 400 and a close; HTTP/1.0 without Host is still served.
TEST_CASE("Strict: HTTP/1.1 without Host and obsolete line folding are 400") {
  DaemonProcess d(test_config());
  LineClient bystander(d.tcp_port());
  struct Case {
    std::string request, message;
  };
  const std::vector<Case> cases = {
      {"GET /health HTTP/1.1\r\n\r\n", "HTTP/1.1 request without Host"},
      {"GET /health HTTP/1.1\r\nAccept: */*\r\n\r\n", "HTTP/1.1 request without Host"},
      {"GET /health HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "more than one Host"},
      {"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n b\r\n\r\n", "obsolete line folding"},
      {"GET /health HTTP/1.1\r\nHost: x\r\nX-Long: a\r\n\tb\r\n\r\n", "obsolete line folding"},
      {"GET /health HTTP/1.1\r\n Host: x\r\n\r\n", "obsolete line folding"},
      {"GET /health HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: identity\r\n chunked\r\n\r\n0\r\n\r\n",
       "obsolete line folding"},
      {"GET /health HTTP/1.0\r\nX-Long: a\r\n b\r\n\r\n", "obsolete line folding"},
  };
  for (const auto& c : cases) {
    const auto r = exchange(d.http_port(), c.request);
    check_bad_request(r, c.request, c.message);
    bystander.send({{"type", "ping"}});
    CHECK(bystander.read_until("pong").has_value());
  }
  const auto old = exchange(d.http_port(), "GET /health HTTP/1.0\r\n\r\n");
  CHECK(old.status == 200);
  CHECK(old.body_json()["status"] == "ok");
  const auto empty_host = exchange(d.http_port(), "GET /health HTTP/1.1\r\nHost:\r\nConnection: close\r\n\r\n");
  CHECK(empty_host.status == 200);  // RFC 9110 §7.2: an empty Host is allowed
  CHECK(count(d.log(), "bad request: ") == cases.size());
  CHECK(http_request(d.http_port(), "GET", "/health").status == 200);
}

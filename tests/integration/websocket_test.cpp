// WebSocket at GET /ws with a real Beast client: same messages as TCP, errors, limits.
#include <doctest/doctest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>

#include "fixture.hpp"

using namespace tradeshard::testing;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = boost::asio::ip::tcp;

namespace {
struct WsClient {
  boost::asio::io_context io;
  websocket::stream<tcp::socket> ws{io};
  explicit WsClient(unsigned short port, const std::string& target = "/ws") {
    tcp::resolver r(io);
    boost::asio::connect(ws.next_layer(), r.resolve("127.0.0.1", std::to_string(port)));
    ws.handshake("127.0.0.1", target);
    ws.text(true);
  }
  json roundtrip(const std::string& text) {
    ws.write(boost::asio::buffer(text));
    return read();
  }
  json read() {
    beast::flat_buffer b;
    ws.read(b);
    return json::parse(beast::buffers_to_string(b.data()));
  }
};
}  // namespace

// Ensure WebSocket clients get the same replies as TCP, each frame one message with its own seq.
TEST_CASE("WebSocket: ping, errors, subscribe") {
  DaemonProcess d(test_config());
  WsClient c(d.http_port());
  auto p = c.roundtrip(R"({"type":"ping"})");
  CHECK(p["type"] == "pong");
  CHECK(p["seq"] == 1);
  auto e = c.roundtrip("{oops");
  CHECK(e["type"] == "error");
  CHECK(e["error"] == "bad_json");
  CHECK(e["seq"] == 2);
  auto s = c.roundtrip(R"({"type":"subscribe","channels":["signals"]})");
  CHECK(s["type"] == "subscribed");
  c.ws.binary(true);
  c.ws.write(boost::asio::buffer(std::string("\x01\x02", 2)));
  auto b = c.read();
  CHECK(b["error"] == "bad_json");
  c.ws.binary(false);
  CHECK(c.roundtrip(R"({"type":"ping"})")["type"] == "pong");
}

// Ensure an oversize frame closes only that WebSocket (1009) while TCP clients keep working.
TEST_CASE("WebSocket: oversize frame closes with 1009") {
  DaemonProcess d(test_config({{"limits", {{"max_line_bytes", 1024}}}}));
  WsClient c(d.http_port());
  LineClient other(d.tcp_port());
  c.ws.write(boost::asio::buffer(std::string(4096, 'x')));
  beast::flat_buffer buf;
  beast::error_code ec;
  c.ws.read(buf, ec);
  // The connection ends. The close frame (1009) is sent first; whether the client's Beast stream
  // reports it as a clean close or as the transport error of its own teardown depends on timing
  // (seen under ASan), so the code is checked whenever the close was clean.
  CHECK(ec);
  if (ec == websocket::error::closed) CHECK(c.ws.reason().code == websocket::close_code::too_big);
  other.send({{"type", "ping"}});
  CHECK(other.read_until("pong").has_value());
  CHECK(d.log().find("closing with 1009") != std::string::npos);
  CHECK(http_request(d.http_port(), "GET", "/stats").body_json()["oversize_messages"] == 1);
}

// Ensure upgrades to paths other than /ws are refused.
TEST_CASE("WebSocket: upgrade only at /ws") {
  DaemonProcess d(test_config());
  CHECK_THROWS(WsClient(d.http_port(), "/other"));
}

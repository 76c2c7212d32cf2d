#pragma once
// A blocking Beast WebSocket client for the integration tests: the daemon's /ws (or another
// target), text frames, one JSON message per frame.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <string>

#include "fixture.hpp"

namespace tradeshard::testing {

struct WsClient {
  boost::asio::io_context io;
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws{io};
  explicit WsClient(unsigned short port, const std::string& target = "/ws") {
    boost::asio::ip::tcp::resolver r(io);
    boost::asio::connect(ws.next_layer(), r.resolve("127.0.0.1", std::to_string(port)));
    ws.handshake("127.0.0.1", target);
    ws.text(true);
  }
  void send(const json& message) { ws.write(boost::asio::buffer(message.dump())); }
  json roundtrip(const std::string& text) {
    ws.write(boost::asio::buffer(text));
    return read();
  }
  json read() {
    boost::beast::flat_buffer b;
    ws.read(b);
    return json::parse(boost::beast::buffers_to_string(b.data()));
  }
};

}  // namespace tradeshard::testing

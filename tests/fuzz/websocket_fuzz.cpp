// libFuzzer target: the WebSocket message path. The input is what a peer sends after a good
// upgrade: raw frame bytes (masked client frames, any opcode, fragmented or not, control frames,
// garbage), into a Beast websocket server stream over Beast's in-memory test stream, set up as
// WsSession::start sets its stream up (read_message_max = limits.max_line_bytes, text replies).
// Each message then takes WsSession's path: text decoded in place in the reused flat_buffer with
// the padding the buffer has after it (WsSession::handle_frame), binary answered with an error,
// then SessionBase::handle_message -> the Server's decoder -> the Gateway (orders matched,
// ticks processed, subscriptions), with replies encoded and written back as frames, one write in
// flight. A real Gateway/Server graph from config/tradeshard.json (graph.hpp: reused across
// inputs; each input's connection closes at its end, which cancels its orders and subscriptions).
// Seeds use the mask key 00 00 00 00, so their payloads read as plain JSON.
#include <boost/asio/post.hpp>
#include <boost/beast/_experimental/test/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket.hpp>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "graph.hpp"

using namespace tradeshard;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

namespace {
constexpr std::size_t kPadding = 64;     // as ws_session.cpp
constexpr std::size_t kReadSlack = 4096;  // as ws_session.cpp

http::request<http::string_body> upgrade_request() {
  http::request<http::string_body> req{http::verb::get, "/ws", 11};
  req.set(http::field::host, "127.0.0.1:8080");
  req.set(http::field::upgrade, "websocket");
  req.set(http::field::connection, "Upgrade");
  req.set(http::field::sec_websocket_key, "dGhlIHNhbXBsZSBub25jZQ==");
  req.set(http::field::sec_websocket_version, "13");
  return req;
}

struct Connection {
  Connection(fuzz::Graph& g, const app::Config& config)
      : graph(g),
        ws(io),
        peer(beast::test::connect(ws.next_layer())),
        session(g.server, 1, "ws", [this](std::string frame) { queue(std::move(frame)); }) {
    buffer.reserve(config.limits.max_line_bytes + kPadding + kReadSlack);
    ws.read_message_max(config.limits.max_line_bytes);
    ws.text(true);
  }

  void read() {
    ws.async_read(buffer, [this](const beast::error_code& ec, std::size_t) {
      if (ec) {
        open = false;
        return;
      }
      if (!ws.got_text()) {
        session.send(app::ErrorOut{"bad_json", "binary frames are not accepted; send JSON text frames"});
      } else {
        // WsSession::handle_frame: the message in place, the buffer's free tail as padding.
        const std::size_t size = buffer.size();
        const std::size_t tail = buffer.prepare(std::max(kPadding, buffer.capacity() - size)).size();
        const auto data = buffer.cdata();
        at.mono_ns += 1000;
        session.handle_message(std::string_view(static_cast<const char*>(data.data()), size), tail, at);
        graph.server.schedule_pump();
      }
      buffer.consume(buffer.size());
      read();
    });
  }

  void queue(std::string frame) {
    if (!open) return;
    frames.push_back(std::move(frame));
    if (!writing) write();
  }
  void write() {
    if (frames.empty() || !open) return;
    writing = true;
    ws.async_write(boost::asio::buffer(frames.front()), [this](const beast::error_code& ec, std::size_t) {
      writing = false;
      frames.pop_front();
      if (!ec) write();
    });
  }

  // The session unregisters from the Gateway first (declared last); nothing is written after.
  ~Connection() { open = false; }

  fuzz::Graph& graph;
  // The connection's own loop (the graph's is shared by every input): destroyed last, so any
  // handler of this connection still queued then is destroyed, never run.
  boost::asio::io_context io{1};
  websocket::stream<beast::test::stream> ws;
  beast::test::stream peer;
  beast::flat_buffer buffer;
  std::deque<std::string> frames;
  app::Now at{1'700'000'000'000, 1'000'000'000};
  bool open = true, writing = false;
  fuzz::Session session;
};

// Runs both loops until neither has a ready handler (replies and pumps feed each other).
void settle(boost::asio::io_context& a, boost::asio::io_context& b) {
  for (;;) {
    a.restart();
    b.restart();
    if (a.poll() + b.poll() == 0) return;
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::default_config();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static fuzz::Reused<fuzz::Graph> graphs;
  const app::Config& config = fuzz::default_config();
  fuzz::Graph& graph = graphs.get();
  {
    Connection c(graph, config);
    bool accepted = false;
    c.ws.async_accept(upgrade_request(), [&](const beast::error_code& ec) { accepted = !ec; });
    settle(c.io, graph.io);
    if (!accepted) std::abort();  // the harness's own upgrade must succeed
    c.peer.clear();  // the 101 response
    c.ws.next_layer().append(std::string_view(reinterpret_cast<const char*>(data), size));
    c.read();
    settle(c.io, graph.io);
    // End of input: the peer goes away (EOF after the bytes), as a closed TCP connection does.
    c.peer.close();
    settle(c.io, graph.io);
  }
  graph.io.restart();
  graph.io.poll();  // what closing the session queued (a pump for its cancels)
  return 0;
}

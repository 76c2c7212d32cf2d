#pragma once
// One WebSocket client (upgraded from GET /ws): JSON text frames carrying the same messages as
// TCP. One frame write in flight; queued frames bounded by limits.outbound_queue_bytes.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <deque>
#include <memory>
#include <string>

#include "session_base.hpp"

namespace tradeshard::net {

class WsSession : public SessionBase, public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(Server& server, std::uint64_t id, boost::beast::tcp_stream stream);
  void start(boost::beast::http::request<boost::beast::http::string_body> upgrade);

  void send(const app::Outbound& message) override;
  void pause_reading() override { paused_ = true; }
  void resume_reading() override;
  void check_idle(std::chrono::steady_clock::time_point now) override;
  void shutdown() override;

 private:
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void do_write();
  void close(const char* reason);

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::string frame_;  // padded copy for the decoder
  std::deque<std::string> queue_;
  std::size_t queued_bytes_ = 0;
  bool reading_ = false, writing_ = false, paused_ = false, open_ = false, closed_ = false, closing_ = false,
       close_sent_ = false;
};

}  // namespace tradeshard::net

#pragma once
// One WebSocket client (upgraded from GET /ws): JSON text frames carrying the same messages as
// TCP. Beast reads each message into one reused flat_buffer and the decoder parses it in place
// (the buffer keeps simdjson's padding free after the payload); the socket underneath is read in
// large chunks (ws_stream.hpp). One frame write in flight; queued frames bounded by
// limits.outbound_queue_bytes. Idle peers are pinged and then closed by check_idle().
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <vector>
#include <memory>
#include <string>
#include <string_view>

#include "session_base.hpp"
#include "ws_stream.hpp"

namespace tradeshard::net {

class WsSession final : public SessionBase {
 public:
  // `already_read`: bytes the HTTP session read past the upgrade request (early frames).
  WsSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket, std::string_view already_read);
  void start(boost::beast::http::request<boost::beast::http::string_body> upgrade);

 private:
  boost::asio::ip::tcp::socket& lowest_socket() override { return boost::beast::get_lowest_layer(ws_); }
  void encoded(std::size_t from) override {
    pending_sizes_.push_back(static_cast<std::uint32_t>(pending_.size() - from));
  }
  void drop_pending() override {
    std::string().swap(pending_);
    std::vector<std::uint32_t>().swap(pending_sizes_);
  }
  void do_write() override;
  void do_read() override;
  void resumed() override;
  void idle_half_way() override;
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void handle_frame();
  void on_write(const boost::system::error_code& ec, std::size_t n);

  boost::beast::websocket::stream<BufferedSocket> ws_;
  boost::beast::flat_buffer buffer_;  // one message at a time, reused; capacity kept for padding
  std::uint64_t clock_batch_ = ~std::uint64_t{0};  // ws_ socket read count when at_ was taken
  app::Now at_;
  // Frames are encoded back to back in pending_ (one allocation, not one per frame), their sizes
  // in pending_sizes_; writing_ is the batch the writes in flight hold, sent one frame at a time
  // and swapped with pending_ when done.
  std::vector<std::uint32_t> pending_sizes_, writing_sizes_;
  std::size_t write_frame_ = 0, write_offset_ = 0;  // next frame of writing_ and where it starts
  bool reading_ = false, close_sent_ = false, ping_in_flight_ = false;
  std::chrono::steady_clock::time_point pinged_silence_{};  // last_active_ when the idle ping went out
};

}  // namespace tradeshard::net

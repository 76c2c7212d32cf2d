#pragma once
// The next layer under a WebSocket session's beast::websocket::stream: a TCP socket read through
// one large buffer. Beast's stream reads into its own 1536-byte buffer, so over a bare socket a
// burst of small frames costs one recv() per ~10 frames; here one recv() takes up to the buffer's
// capacity and Beast's reads are served from memory (each completion still posted, never inline).
// It also counts the socket reads, so a session can read the clock once per batch, as TCP does.
// Loop thread only, like the session that owns it.
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core/role.hpp>
#include <boost/beast/websocket/teardown.hpp>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <utility>

namespace tradeshard::net {

class BufferedSocket {
 public:
  using executor_type = boost::asio::ip::tcp::socket::executor_type;
  using next_layer_type = boost::asio::ip::tcp::socket;

  // `already_read`: bytes the HTTP parser read past the upgrade request; they are served first.
  BufferedSocket(boost::asio::ip::tcp::socket socket, std::size_t capacity, std::string_view already_read = {})
      : socket_(std::move(socket)),
        capacity_(std::max(capacity, already_read.size())),
        buf_(std::make_unique<char[]>(capacity_)) {
    std::memcpy(buf_.get(), already_read.data(), already_read.size());
    end_ = already_read.size();
  }

  executor_type get_executor() noexcept { return socket_.get_executor(); }
  next_layer_type& next_layer() noexcept { return socket_; }
  // recv() calls that returned data so far.
  [[nodiscard]] std::uint64_t socket_reads() const noexcept { return socket_reads_; }

  template <class MutableBuffers, class Handler>
  auto async_read_some(const MutableBuffers& buffers, Handler&& handler) {
    return boost::asio::async_initiate<Handler, void(boost::system::error_code, std::size_t)>(
        [this](auto h, const MutableBuffers& b) { this->start_read(std::move(h), b); }, handler, buffers);
  }

  template <class ConstBuffers, class Handler>
  auto async_write_some(const ConstBuffers& buffers, Handler&& handler) {
    return socket_.async_write_some(buffers, std::forward<Handler>(handler));
  }

 private:
  template <class Handler, class MutableBuffers>
  void start_read(Handler h, const MutableBuffers& b) {
    if (begin_ < end_ || boost::asio::buffer_size(b) == 0) {
      const std::size_t n = take(b);
      boost::asio::post(socket_.get_executor(),
                        [h = std::move(h), n]() mutable { h(boost::system::error_code{}, n); });
      return;
    }
    socket_.async_read_some(boost::asio::buffer(buf_.get(), capacity_),
                            [this, h = std::move(h), b](const boost::system::error_code& ec, std::size_t n) mutable {
                              begin_ = 0;
                              end_ = n;
                              if (n > 0) ++socket_reads_;
                              if (ec && n == 0) {
                                h(ec, 0);
                                return;
                              }
                              const std::size_t copied = take(b);
                              h(boost::system::error_code{}, copied);
                            });
  }

  template <class MutableBuffers>
  std::size_t take(const MutableBuffers& b) {
    const std::size_t n = boost::asio::buffer_copy(b, boost::asio::const_buffer(buf_.get() + begin_, end_ - begin_));
    begin_ += n;
    return n;
  }

  boost::asio::ip::tcp::socket socket_;
  std::size_t capacity_;
  std::unique_ptr<char[]> buf_;
  std::size_t begin_ = 0, end_ = 0;
  std::uint64_t socket_reads_ = 0;
};

// Closing handshake teardown (found by Beast through argument-dependent lookup): the socket's.
inline void teardown(boost::beast::role_type role, BufferedSocket& s, boost::system::error_code& ec) {
  boost::beast::websocket::teardown(role, s.next_layer(), ec);
}

template <class TeardownHandler>
void async_teardown(boost::beast::role_type role, BufferedSocket& s, TeardownHandler&& handler) {
  boost::beast::websocket::async_teardown(role, s.next_layer(), std::forward<TeardownHandler>(handler));
}

}  // namespace tradeshard::net

#pragma once
// Closing a socket whose receive buffer still holds unread bytes makes the kernel send RST, and
// the peer may then lose what we sent last (a WebSocket close frame, a final error reply). So a
// deliberate close shuts our sending side, drains the peer's input until it closes too (or a
// deadline passes), then closes.
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <array>
#include <chrono>
#include <memory>

namespace tradeshard::net {

inline void linger_close(boost::asio::ip::tcp::socket& socket, std::chrono::milliseconds deadline) {
  struct Drain : std::enable_shared_from_this<Drain> {
    Drain(boost::asio::ip::tcp::socket s) : socket(std::move(s)), timer(socket.get_executor()) {}
    boost::asio::ip::tcp::socket socket;
    boost::asio::steady_timer timer;
    std::array<char, 4096> buf{};
    void read() {
      socket.async_read_some(boost::asio::buffer(buf), [self = shared_from_this()](auto ec, std::size_t) {
        if (ec) {
          self->timer.cancel();
          boost::system::error_code ignored;
          self->socket.close(ignored);
          return;
        }
        self->read();
      });
    }
  };
  if (!socket.is_open()) return;
  boost::system::error_code ec;
  // The session's own pending reads/writes finish with operation_aborted before the socket moves.
  socket.cancel(ec);
  socket.shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  auto d = std::make_shared<Drain>(std::move(socket));
  d->timer.expires_after(deadline);
  d->timer.async_wait([d](const boost::system::error_code& e) {
    if (e) return;
    boost::system::error_code ignored;
    d->socket.close(ignored);  // the peer never closed: stop waiting
  });
  d->read();
}

}  // namespace tradeshard::net

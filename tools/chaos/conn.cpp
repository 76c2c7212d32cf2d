#include "conn.hpp"

#include <iterator>
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/websocket/error.hpp>

#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

namespace tradeshard::chaos {

namespace websocket = boost::beast::websocket;
using boost::system::error_code;

Conn::Conn(asio::io_context& io, ConnOptions opts) : opts_(std::move(opts)), sock_(io), guard_(io) {}

Conn::~Conn() { close_socket(); }

tcp::socket& Conn::socket() { return ws_ ? ws_->next_layer() : sock_; }

void Conn::connect(const Target& t, OpenFn on_open) {
  error_code ec;
  sock_.open(t.host.is_v6() ? tcp::v6() : tcp::v4(), ec);
  if (!ec && opts_.rcvbuf > 0) sock_.set_option(asio::socket_base::receive_buffer_size(opts_.rcvbuf), ec);
  if (!ec && !opts_.source.is_unspecified()) {
    // Spread over 127.0.0.x sources: without IP_BIND_ADDRESS_NO_PORT, bind() would pick the
    // ephemeral port before the destination is known and exhaust the range much sooner.
    const int one = 1;
    ::setsockopt(sock_.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
    sock_.bind(tcp::endpoint(opts_.source, 0), ec);
  }
  if (ec) {
    finish("socket setup: " + ec.message(), false);
    on_open(false, "socket setup: " + ec.message());
    return;
  }
  const std::uint16_t port = opts_.websocket ? t.http_port : t.tcp_port;
  const std::string host = t.host.to_string() + ":" + std::to_string(port);
  sock_.async_connect(tcp::endpoint(t.host, port), [self = shared_from_this(), on_open = std::move(on_open),
                                                     host](const error_code& ec) mutable {
    if (self->closed_) return on_open(false, "closed before connect");
    if (ec) {
      self->finish("connect: " + ec.message(), false);
      return on_open(false, "connect: " + ec.message());
    }
    error_code ignored;
    self->sock_.set_option(tcp::no_delay(true), ignored);
    if (!self->opts_.websocket) {
      self->open_ = true;
      on_open(true, {});
      if (!self->closed_) {
        self->start_read();
        self->write_next();
      }
      return;
    }
    self->ws_ = std::make_unique<websocket::stream<tcp::socket>>(std::move(self->sock_));
    self->ws_->read_message_max(64u << 20);
    self->ws_->auto_fragment(false);  // an oversize message goes out as one frame
    self->ws_->async_handshake(host, "/ws", [self, on_open = std::move(on_open)](const error_code& ec) {
      if (self->closed_) return on_open(false, "closed during handshake");
      if (ec) {
        self->finish("websocket handshake: " + ec.message(), false);
        return on_open(false, "websocket handshake: " + ec.message());
      }
      self->open_ = true;
      on_open(true, {});
      if (!self->closed_) {
        self->start_read();
        self->write_next();
      }
    });
  });
}

void Conn::start_read() {
  if (!open_ || closed_ || !reading_ || read_pending_) return;
  read_pending_ = true;
  if (!ws_) {
    sock_.async_read_some(asio::buffer(rbuf_), [self = shared_from_this()](const error_code& ec, std::size_t n) {
      self->on_read_tcp(ec, n);
    });
    return;
  }
  ws_->async_read(wsbuf_, [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->read_pending_ = false;
    if (self->closed_) return;
    if (ec) {
      // Nothing of ours is closing it: whatever the error (eof, reset, a broken pipe while Beast
      // answers the daemon's close frame), the daemon ended it.
      const bool peer = !self->closing_ && ec != asio::error::operation_aborted;
      std::string why = ec == websocket::error::closed
                            ? "ws close " + std::to_string(self->ws_->reason().code) + " " +
                                  std::string(self->ws_->reason().reason.c_str())
                            : ec.message();
      return self->finish(why, peer);
    }
    const auto data = self->wsbuf_.cdata();
    ++self->messages_in_;
    if (self->on_message) {
      auto fn = self->on_message;
      fn(std::string_view(static_cast<const char*>(data.data()), data.size()));
    }
    self->wsbuf_.consume(self->wsbuf_.size());
    self->start_read();
  });
}

void Conn::on_read_tcp(const error_code& ec, std::size_t n) {
  read_pending_ = false;
  if (closed_) return;
  if (ec) return finish(ec == asio::error::eof ? "eof" : ec.message(), !closing_ && ec != asio::error::operation_aborted);
  std::string_view chunk(rbuf_.data(), n);
  auto fn = on_message;
  while (!chunk.empty()) {
    const auto nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      line_.append(chunk);
      break;
    }
    std::string_view msg;
    if (line_.empty()) {
      msg = chunk.substr(0, nl);
    } else {
      line_.append(chunk.substr(0, nl));
      msg = line_;
    }
    ++messages_in_;
    if (fn) fn(msg);
    line_.clear();
    chunk.remove_prefix(nl + 1);
    if (closed_) return;
  }
  start_read();
}

void Conn::send(std::string_view message) {
  if (ws_ || opts_.websocket) {
    queue(std::string(message), Out::text);
  } else {
    std::string line(message);
    line.push_back('\n');
    queue(std::move(line), Out::raw);
  }
}

void Conn::send_binary(std::string_view message) {
  if (opts_.websocket) queue(std::string(message), Out::binary);
  else send(message);
}

void Conn::send_raw(std::string bytes) { queue(std::move(bytes), Out::raw); }

void Conn::queue(std::string data, Out::Kind kind) {
  if (closed_ || closing_ || half_close_) return;
  queued_bytes_ += data.size();
  out_.push_back({std::move(data), kind});
  write_next();
}

void Conn::write_next() {
  if (!open_ || closed_ || writing_) return;
  if (out_.empty()) {
    if (half_close_) {
      error_code ignored;
      socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    return;
  }
  writing_ = true;
  auto done = [self = shared_from_this()](const error_code& ec, std::size_t) {
    self->writing_ = false;
    if (self->closed_) return;
    if (ec) {
      return self->finish("write: " + ec.message(), !self->closing_ && ec != asio::error::operation_aborted);
    }
    self->queued_bytes_ -= self->out_.front().data.size();
    self->out_.pop_front();
    self->write_next();
  };
  Out& o = out_.front();
  if (o.kind == Out::raw) {
    asio::async_write(socket(), asio::buffer(o.data), std::move(done));
  } else {
    ws_->text(o.kind == Out::text);
    ws_->async_write(asio::buffer(o.data), std::move(done));
  }
}

void Conn::set_reading(bool on) {
  reading_ = on;
  if (on) start_read();
}

void Conn::half_close() {
  if (closed_ || half_close_) return;
  half_close_ = true;
  write_next();
}

void Conn::close() {
  if (closed_ || closing_) return;
  closing_ = true;
  if (!ws_ || !open_) return finish("local close", false);
  ws_->async_close(websocket::close_code::normal,
                   [self = shared_from_this()](const error_code&) { self->finish("local close", false); });
  guard_.expires_after(std::chrono::seconds(1));
  guard_.async_wait([self = shared_from_this()](const error_code& ec) {
    if (!ec) self->finish("local close (close frame not answered within 1 s)", false);
  });
}

void Conn::reset() {
  if (closed_) return;
  error_code ignored;
  socket().set_option(asio::socket_base::linger(true, 0), ignored);
  finish("local reset", false);
}

void Conn::finish(const std::string& why, bool by_peer) {
  if (closed_) return;
  closed_ = true;
  closed_by_peer_ = by_peer;
  close_reason_ = why;
  close_socket();
  guard_.cancel();
  // The message a write holds stays until that write's handler has run (it holds this Conn):
  // a WebSocket write keeps reading it to mask the next chunk even after the socket closed.
  if (writing_ && !out_.empty()) out_.erase(std::next(out_.begin()), out_.end());
  else out_.clear();
  queued_bytes_ = 0;
  if (on_close) {
    auto fn = on_close;
    fn(why);
  }
}

void Conn::close_socket() {
  error_code ignored;
  if (ws_) ws_->next_layer().close(ignored);
  else sock_.close(ignored);
}

}  // namespace tradeshard::chaos

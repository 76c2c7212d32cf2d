#include "ws_session.hpp"

#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/websocket.hpp>

#include "tradeshard/net/server.hpp"
#include "linger.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {
namespace beast = boost::beast;
namespace websocket = beast::websocket;

WsSession::WsSession(Server& server, std::uint64_t id, beast::tcp_stream stream)
    : SessionBase(server, id, "ws"), ws_(std::move(stream)) {}

void WsSession::start(beast::http::request<beast::http::string_body> upgrade) {
  const auto& limits = server_.config().limits;
  beast::get_lowest_layer(ws_).expires_never();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::milliseconds(limits.http_timeout_ms);
  t.idle_timeout = std::chrono::milliseconds(limits.idle_timeout_ms);
  t.keep_alive_pings = true;
  ws_.set_option(t);
  ws_.read_message_max(limits.max_line_bytes);
  ws_.text(true);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "tradeshard/" TRADESHARD_VERSION);
  }));
  ws_.async_accept(upgrade, [self = shared_from_this()](const beast::error_code& ec) {
    if (ec) {
      self->log_->info("conn {} ws handshake failed: {}", self->id_, ec.message());
      self->closed_ = true;
      self->server_.remove(self->id_);
      return;
    }
    self->open_ = true;
    self->register_with_gateway();
    self->log_->info("conn {} ws open", self->id_);
    self->do_read();
  });
}

void WsSession::do_read() {
  if (reading_ || paused_ || closed_ || closing_) return;
  reading_ = true;
  ws_.async_read(buffer_, [self = shared_from_this()](const beast::error_code& ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void WsSession::on_read(const beast::error_code& ec, std::size_t n) {
  reading_ = false;
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      ++server_.stats().oversize_messages;
      log_->warn("conn {} ws frame over {} bytes; closing with 1009", id_, server_.config().limits.max_line_bytes);
    }
    close(ec == websocket::error::closed ? "peer closed" : ec.message().c_str());
    return;
  }
  server_.stats().bytes_in += n;
  touch(std::chrono::steady_clock::now());
  if (!ws_.got_text()) {
    send(app::ErrorOut{"bad_json", "binary frames are not accepted; send JSON text frames"});
  } else {
    const auto data = buffer_.cdata();
    frame_.assign(static_cast<const char*>(data.data()), data.size());
    const std::size_t len = frame_.size();
    frame_.resize(len + 64, '\0');
    handle_message(std::string_view(frame_.data(), len), 64, now());
    server_.schedule_pump();
  }
  buffer_.consume(buffer_.size());
  do_read();
}

void WsSession::resume_reading() {
  if (!paused_) return;
  paused_ = false;
  do_read();
}

void WsSession::send(const app::Outbound& message) {
  if (closed_ || !open_) return;
  ++server_.stats().out_by_type[message.index()];
  std::string frame;
  protocol::encode(frame, message, ++seq_);
  queued_bytes_ += frame.size();
  if (queued_bytes_ > server_.config().limits.outbound_queue_bytes) {
    ++server_.stats().slow_consumer_disconnects;
    log_->warn("conn {} ws slow consumer: {} bytes queued; disconnecting", id_, queued_bytes_);
    queue_.clear();
    close("slow consumer");
    return;
  }
  queue_.push_back(std::move(frame));
  if (!writing_) do_write();
}

void WsSession::do_write() {
  if (writing_ || closed_) return;
  if (queue_.empty()) {
    if (closing_ && !close_sent_) {
      close_sent_ = true;
      ws_.async_close(websocket::close_code::going_away,
                      [self = shared_from_this()](const beast::error_code&) { self->close("shutdown"); });
    }
    return;
  }
  writing_ = true;
  ws_.async_write(boost::asio::buffer(queue_.front()),
                  [self = shared_from_this()](const beast::error_code& ec, std::size_t n) {
                    self->writing_ = false;
                    if (ec) {
                      self->close("write error");
                      return;
                    }
                    self->server_.stats().bytes_out += n;
                    self->queued_bytes_ -= self->queue_.front().size();
                    self->queue_.pop_front();
                    self->do_write();
                  });
}

void WsSession::check_idle(std::chrono::steady_clock::time_point) {
  // Beast's idle timeout (with keep-alive pings) closes silent WebSocket peers itself.
}

void WsSession::shutdown() {
  if (closed_ || !open_) return;
  closing_ = true;
  paused_ = true;
  if (!writing_) do_write();
}

void WsSession::close(const char* reason) {
  if (closed_) return;
  closed_ = true;
  log_->info("conn {} ws closed: {}", id_, reason);
  unregister_from_gateway();
  linger_close(beast::get_lowest_layer(ws_).socket(), std::chrono::seconds(1));
  server_.remove(id_);
}

}  // namespace tradeshard::net

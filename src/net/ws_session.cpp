#include "ws_session.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "tradeshard/net/server.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
constexpr std::size_t kPadding = 64;             // simdjson reads up to 64 bytes past a document
constexpr std::size_t kSocketChunk = 64 * 1024;  // one recv() for a burst of frames
// Beast's read prepares at most one of its own reads (1536 bytes) past the message so far.
constexpr std::size_t kReadSlack = 4096;

std::chrono::steady_clock::time_point steady_at(const app::Now& at) {
  return std::chrono::steady_clock::time_point(
      std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::nanoseconds(at.mono_ns)));
}
}  // namespace

WsSession::WsSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket,
                     std::string_view already_read)
    : SessionBase(server, id, "ws"), ws_(std::move(socket), kSocketChunk, already_read) {
  boost::system::error_code ec;
  // Replies of one request (ack, fill, done) go out as separate frames: without this each waits
  // for the peer's delayed ACK.
  beast::get_lowest_layer(ws_).set_option(boost::asio::ip::tcp::no_delay(true), ec);
  // Sized once so a message never moves and the decoder's padding is free after it.
  buffer_.reserve(server.config().limits.max_line_bytes + kPadding + kReadSlack);
}

void WsSession::start(beast::http::request<beast::http::string_body> upgrade) {
  const auto& limits = server_.config().limits;
  websocket::stream_base::timeout t{};
  t.handshake_timeout = std::chrono::milliseconds(limits.http_timeout_ms);  // upgrade and closing handshakes
  // Idle peers are pinged and closed by check_idle() on the server's sweep: Beast's idle timer
  // would be re-armed on every message read.
  t.idle_timeout = websocket::stream_base::none();
  t.keep_alive_pings = false;
  ws_.set_option(t);
  ws_.read_message_max(limits.max_line_bytes);
  ws_.text(true);
  ws_.set_option(websocket::stream_base::decorator([](websocket::response_type& res) {
    res.set(beast::http::field::server, "tradeshard/" TRADESHARD_VERSION);
  }));
  // A peer's pong (or ping) is activity too; Beast answers pings itself.
  ws_.control_callback([this](websocket::frame_type, beast::string_view) { touch(std::chrono::steady_clock::now()); });
  ws_.async_accept(upgrade, [self = self<WsSession>()](const beast::error_code& ec) {
    if (ec) {
      self->log_->info("conn {} ws handshake failed: {}", self->id_, ec.message());
      self->closed_ = true;
      self->server_.remove(self->id_);
      return;
    }
    self->touch(std::chrono::steady_clock::now());
    self->register_with_gateway();  // open from here on
    self->log_->info("conn {} ws open", self->id_);
    self->do_read();
  });
}

void WsSession::do_read() {
  if (reading_ || paused_ || closed_ || closing_) return;
  reading_ = true;
  ws_.async_read(buffer_, [self = self<WsSession>()](const beast::error_code& ec, std::size_t n) {
    self->on_read(ec, n);
  });
}

void WsSession::on_read(const beast::error_code& ec, std::size_t n) {
  reading_ = false;
  if (closed_) return;
  if (ec) {
    if (ec == websocket::error::message_too_big) {
      ++server_.stats().oversize_messages;
      log_->warn("conn {} ws frame over {} bytes; closing with 1009", id_, server_.config().limits.max_line_bytes);
    }
    close(ec == websocket::error::closed ? "peer closed" : ec.message().c_str());
    return;
  }
  server_.stats().bytes_in += n;
  // One clock read per socket read (a batch of frames), like TCP's once per read.
  if (const auto reads = ws_.next_layer().socket_reads(); reads != clock_batch_) {
    clock_batch_ = reads;
    at_ = now();
    touch(steady_at(at_));
  }
  if (!ws_.got_text()) {
    send(app::ErrorOut{"bad_json", "binary frames are not accepted; send JSON text frames"});
  } else {
    handle_frame();
    server_.schedule_pump();
  }
  buffer_.consume(buffer_.size());
  do_read();
}

void WsSession::handle_frame() {
  // Decoded in place: prepare() exposes the buffer's free tail right after the message (moving
  // the message to the front first if it must; growing only when the tail is under kPadding).
  const std::size_t size = buffer_.size();
  const std::size_t tail = buffer_.prepare(std::max(kPadding, buffer_.capacity() - size)).size();
  const auto data = buffer_.cdata();
  handle_message(std::string_view(static_cast<const char*>(data.data()), size), tail, at_);
}

void WsSession::resumed() {
  clock_batch_ = ~std::uint64_t{0};  // frames still buffered were read before the pause: re-read the clock
  do_read();
}

void WsSession::do_write() {
  if (write_in_flight_ || closed_ || failed_) return;
  if (write_frame_ == writing_sizes_.size()) {
    // The batch being written is done: the frames queued meanwhile become the next one.
    writing_.clear();
    writing_sizes_.clear();
    write_frame_ = write_offset_ = 0;
    if (writing_.capacity() > (1u << 20)) std::string().swap(writing_);
    if (pending_sizes_.empty()) {
      if (closing_ && !close_sent_) {
        close_sent_ = true;
        ws_.async_close(websocket::close_code::going_away,
                        [self = self<WsSession>()](const beast::error_code&) { self->close("shutdown"); });
      }
      return;
    }
    const std::size_t n = releasable();
    if (n == 0) return;  // ledger.ack_after "fsync": waits for the ledger's fsync
    if (n == pending_.size()) {
      writing_.swap(pending_);
      writing_sizes_.swap(pending_sizes_);
    } else {  // the frames before the first one that waits (marks are at frame starts)
      std::size_t frames = 0;
      for (std::size_t bytes = 0; bytes < n; ++frames) bytes += pending_sizes_[frames];
      writing_.assign(pending_, 0, n);
      pending_.erase(0, n);
      writing_sizes_.assign(pending_sizes_.begin(), pending_sizes_.begin() + static_cast<std::ptrdiff_t>(frames));
      pending_sizes_.erase(pending_sizes_.begin(), pending_sizes_.begin() + static_cast<std::ptrdiff_t>(frames));
    }
    taken(n);
  }
  write_in_flight_ = true;
  // writing_ is not touched until on_write: sends append to pending_ alone.
  ws_.async_write(boost::asio::buffer(writing_.data() + write_offset_, writing_sizes_[write_frame_]),
                  [self = self<WsSession>()](const beast::error_code& ec, std::size_t n) { self->on_write(ec, n); });
}

void WsSession::on_write(const beast::error_code& ec, std::size_t n) {
  write_offset_ += writing_sizes_[write_frame_];
  ++write_frame_;
  if (write_done(ec, n)) do_write();
}

// One ping per silence: a live peer's pong (control_callback) counts as activity.
void WsSession::idle_half_way() {
  if (ping_in_flight_ || pinged_silence_ == last_active_) return;
  ping_in_flight_ = true;
  pinged_silence_ = last_active_;
  ws_.async_ping({}, [self = self<WsSession>()](const beast::error_code&) { self->ping_in_flight_ = false; });
}

}  // namespace tradeshard::net

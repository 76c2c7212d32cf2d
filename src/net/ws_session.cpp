#include "ws_session.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/beast/websocket.hpp>

#include "tradeshard/net/server.hpp"
#include "linger.hpp"
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
  ws_.async_accept(upgrade, [self = shared_from_this()](const beast::error_code& ec) {
    if (ec) {
      self->log_->info("conn {} ws handshake failed: {}", self->id_, ec.message());
      self->closed_ = true;
      self->server_.remove(self->id_);
      return;
    }
    self->open_ = true;
    self->touch(std::chrono::steady_clock::now());
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

void WsSession::resume_reading() {
  if (!paused_ || failed_) return;
  paused_ = false;
  clock_batch_ = ~std::uint64_t{0};  // frames still buffered were read before the pause: re-read the clock
  do_read();
}

void WsSession::send(const app::Outbound& message) {
  // Called from inside the Gateway (a reply, or a broadcast iterating the subscribers): must not
  // close here (see the ownership rule in session_base.hpp).
  if (closed_ || !open_ || failed_) return;
  ++server_.stats().out_by_type[message.index()];
  const std::size_t before = pending_.size();
  protocol::encode(pending_, message, ++seq_);
  pending_sizes_.push_back(static_cast<std::uint32_t>(pending_.size() - before));
  // Everything held for this client counts, the batch being written included: the bound is on
  // memory, not only on bytes not yet sent.
  const std::size_t held = pending_.size() + writing_.size();
  if (held > server_.config().limits.outbound_queue_bytes) {
    ++server_.stats().slow_consumer_disconnects;
    log_->warn("conn {} ws slow consumer: {} bytes queued, limit {}; disconnecting", id_, held,
               server_.config().limits.outbound_queue_bytes);
    // Frames no write holds are dropped now; the batch a write holds stays with it until its
    // completion handler runs.
    std::string().swap(pending_);
    std::vector<std::uint32_t>().swap(pending_sizes_);
    fail("slow consumer");
    return;
  }
  schedule_write();
}

// The write starts from a handler of its own, after the Gateway's release point (its ledger
// flush) has run: Asio may send() inside async_write's initiation, so writing from send() could
// put a fill on the wire before its change set is in the log. Also batches a turn's frames.
void WsSession::schedule_write() {
  if (write_scheduled_ || write_in_flight_) return;
  write_scheduled_ = true;
  boost::asio::post(ws_.get_executor(), [self = shared_from_this()] {
    self->write_scheduled_ = false;
    self->do_write();
  });
}

void WsSession::abandon(std::string_view /*reason*/) {
  if (closed_ || failed_) return;
  log_->error("conn {} ws: the ledger's log write failed; closing without sending {} queued bytes", id_,
              pending_.size());
  std::string().swap(pending_);  // the batch a write holds stays with it (ownership rule 3)
  std::vector<std::uint32_t>().swap(pending_sizes_);
  fail("ledger write failed");
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
                        [self = shared_from_this()](const beast::error_code&) { self->close("shutdown"); });
      }
      return;
    }
    writing_.swap(pending_);
    writing_sizes_.swap(pending_sizes_);
  }
  write_in_flight_ = true;
  // writing_ is not touched until on_write: sends append to pending_ alone.
  ws_.async_write(boost::asio::buffer(writing_.data() + write_offset_, writing_sizes_[write_frame_]),
                  [self = shared_from_this()](const beast::error_code& ec, std::size_t n) { self->on_write(ec, n); });
}

void WsSession::on_write(const beast::error_code& ec, std::size_t n) {
  write_in_flight_ = false;
  write_offset_ += writing_sizes_[write_frame_];
  ++write_frame_;
  if (closed_) return;
  if (ec) {
    close("write error");
    return;
  }
  server_.stats().bytes_out += n;
  if (failed_) return;
  do_write();
}

void WsSession::check_idle(std::chrono::steady_clock::time_point t) {
  if (!open_ || closed_ || closing_ || failed_) return;
  const auto limit = std::chrono::milliseconds(server_.config().limits.idle_timeout_ms);
  const auto idle = t - last_active_;
  if (idle > limit) {
    ++server_.stats().idle_disconnects;
    log_->info("conn {} ws idle for {} ms; closing", id_, server_.config().limits.idle_timeout_ms);
    close("idle timeout");
    return;
  }
  // Half way, one ping per silence: a live peer's pong (control_callback) counts as activity.
  if (idle > limit / 2 && !ping_in_flight_ && pinged_silence_ != last_active_) {
    ping_in_flight_ = true;
    pinged_silence_ = last_active_;
    ws_.async_ping({}, [self = shared_from_this()](const beast::error_code&) { self->ping_in_flight_ = false; });
  }
}

void WsSession::shutdown() {
  if (closed_ || !open_ || failed_) return;
  closing_ = true;
  paused_ = true;
  if (!write_in_flight_) do_write();
}

void WsSession::fail(const char* reason) {
  failed_ = true;
  paused_ = true;
  boost::asio::post(ws_.get_executor(), [self = shared_from_this(), reason] { self->close(reason); });
}

void WsSession::close(const char* reason) {
  if (closed_) return;
  closed_ = true;
  log_->info("conn {} ws closed: {}", id_, reason);
  unregister_from_gateway();
  linger_close(beast::get_lowest_layer(ws_), std::chrono::seconds(1));
  server_.remove(id_);
}

}  // namespace tradeshard::net

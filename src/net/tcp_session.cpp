#include "tcp_session.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "tradeshard/net/server.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {
namespace {
constexpr std::size_t kPadding = 64;       // simdjson reads up to 64 bytes past a document
constexpr std::size_t kReadChunk = 64 * 1024;
}  // namespace

TcpSession::TcpSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket)
    : SessionBase(server, id, "tcp"), socket_(std::move(socket)) {
  boost::system::error_code ec;
  const auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "?" : ep.address().to_string() + ":" + std::to_string(ep.port());
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ec);
  in_.resize(server.config().limits.max_line_bytes + kReadChunk + kPadding);
}

void TcpSession::start() {
  register_with_gateway();  // open from here on
  log_->info("conn {} tcp open from {}", id_, peer_);
  do_read();
}

void TcpSession::do_read() {
  if (reading_ || closed_ || closing_ || paused_) return;
  // Keep room for a whole read chunk plus simdjson's padding after the last byte.
  if (in_.size() - kPadding - in_end_ < kReadChunk / 2 && in_begin_ > 0) {
    std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
    in_end_ -= in_begin_;
    in_begin_ = 0;
  }
  reading_ = true;
  socket_.async_read_some(boost::asio::buffer(in_.data() + in_end_, in_.size() - kPadding - in_end_),
                          [self = self<TcpSession>()](const boost::system::error_code& ec, std::size_t n) {
                            self->on_read(ec, n);
                          });
}

void TcpSession::on_read(const boost::system::error_code& ec, std::size_t n) {
  reading_ = false;
  if (ec == boost::asio::error::eof) {
    // Half-close (e.g. `nc` at end of input): no more requests, but the replies to what was
    // sent are still owed. Posted behind the pump already scheduled for those requests.
    boost::asio::post(socket_.get_executor(), [self = self<TcpSession>()] { self->shutdown(); });
    return;
  }
  if (ec) {
    close("read error");
    return;
  }
  server_.stats().bytes_in += n;
  in_end_ += n;
  touch(std::chrono::steady_clock::now());
  process_lines();
  server_.pump_now();
  // The replies this read produced (acks and fills included) leave now, before the read is
  // re-armed: re-arming first cost a speculative recv() (EAGAIN while the client waits for them)
  // and one or two trips through the loop's queue (pump, then flush): ~4 us per round trip.
  if (!pending_.empty() && !write_in_flight_ && !closed_) do_write();
  if (!closed_) do_read();
}

void TcpSession::process_lines() {
  const auto max_line = server_.config().limits.max_line_bytes;
  char* base = in_.data();
  const app::Now at = now();
  // Several complete lines at hand: the decoder parses them in one simdjson pass.
  struct LinesPass {
    protocol::Decoder& decoder;
    ~LinesPass() { decoder.end_lines(); }
  } pass{server_.decoder()};
  {
    char* start = base + in_begin_;
    const auto avail = in_end_ - in_begin_;
    const auto* first = static_cast<const char*>(std::memchr(start, '\n', avail));
    const auto* last = first ? static_cast<const char*>(::memrchr(start, '\n', avail)) : nullptr;
    if (last != first) {
      pass.decoder.begin_lines(std::string_view(start, static_cast<std::size_t>(last + 1 - start)),
                               static_cast<std::size_t>(base + in_.size() - (last + 1)));
    }
  }
  while (!closed_ && !paused_) {
    char* start = base + in_begin_;
    char* end = base + in_end_;
    char* nl = static_cast<char*>(std::memchr(start, '\n', static_cast<std::size_t>(end - start)));
    if (!nl) {
      if (static_cast<std::size_t>(end - start) > max_line) {
        // Oversize: tell the client once, drop what we have and skip to the next newline.
        if (!discarding_) {
          ++server_.stats().oversize_messages;
          log_->warn("conn {} tcp line over {} bytes", id_, max_line);
          send(app::ErrorOut{"too_large", "line exceeds limits.max_line_bytes; skipped"});
          if (server_.config().limits.close_on_oversize) {
            closing_ = true;
            schedule_write();
            return;
          }
          discarding_ = true;
        }
        in_begin_ = in_end_ = 0;
      }
      return;
    }
    std::size_t len = static_cast<std::size_t>(nl - start);
    in_begin_ += len + 1;
    if (discarding_) {
      discarding_ = false;
      continue;
    }
    if (len > 0 && start[len - 1] == '\r') --len;
    if (len == 0) continue;  // blank lines are keep-alives
    if (len > max_line) {
      ++server_.stats().oversize_messages;
      send(app::ErrorOut{"too_large", "line exceeds limits.max_line_bytes; skipped"});
      continue;
    }
    handle_message(std::string_view(start, len), static_cast<std::size_t>(base + in_.size() - (start + len)), at);
  }
  if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
}

void TcpSession::resumed() {
  process_lines();
  do_read();
}

void TcpSession::do_write() {
  if (write_in_flight_ || closed_ || failed_) return;
  if (pending_.empty()) {
    if (closing_) close("closed after flushing replies");
    return;
  }
  const std::size_t n = releasable();
  if (n == 0) return;  // ledger.ack_after "fsync": waits for the ledger's fsync
  if (n == pending_.size()) {
    writing_.swap(pending_);
  } else {
    writing_.assign(pending_, 0, n);
    pending_.erase(0, n);
  }
  taken(n);
  write_in_flight_ = true;
  boost::asio::async_write(socket_, boost::asio::buffer(writing_),
                           [self = self<TcpSession>()](const boost::system::error_code& ec, std::size_t n) {
                             self->on_write(ec, n);
                           });
}

void TcpSession::on_write(const boost::system::error_code& ec, std::size_t n) {
  if (!write_done(ec, n)) return;  // writing_ stays as it is: nothing reuses it after a close
  writing_.clear();
  if (writing_.capacity() > (1u << 20)) writing_.shrink_to_fit();
  do_write();
}

}  // namespace tradeshard::net

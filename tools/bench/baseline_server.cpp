#include "baseline_server.hpp"

#include "parse_floor.hpp"

#include <array>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket.hpp>
#include <cstdio>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>

#include "tradeshard/storage/wal.hpp"

namespace tradeshard::bench {
namespace {

using boost::asio::ip::tcp;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
constexpr std::size_t kBuffer = 64 * 1024;
constexpr std::string_view kPing = R"({"type":"ping")";

struct Counters {
  std::uint64_t lines = 0, bytes = 0, connections = 0, parsed = 0;
};

// echo-wal's log, shared by its sessions (one loop thread).
struct EchoLog {
  std::unique_ptr<storage::Wal> wal;
  std::uint64_t version = 0;
  bool append(std::string_view bytes) { return wal->append(++version, bytes) == storage::AppendError::ok; }
};

class EchoSession : public std::enable_shared_from_this<EchoSession> {
 public:
  EchoSession(tcp::socket s, Counters& c, EchoLog* log = nullptr) : socket_(std::move(s)), counters_(c), log_(log) {}
  void start() { do_read(); }

 private:
  void do_read() {
    socket_.async_read_some(boost::asio::buffer(buf_), [self = shared_from_this()](auto ec, std::size_t n) {
      if (ec) return;
      self->counters_.bytes += n;
      if (self->log_ && !self->log_->append(std::string_view(self->buf_.data(), n))) {
        std::fprintf(stderr, "tradeshard-bench: echo-wal: the log refused an append\n");
        return;
      }
      boost::asio::async_write(self->socket_, boost::asio::buffer(self->buf_.data(), n),
                               [self](auto wec, std::size_t) {
                                 if (!wec) self->do_read();
                               });
    });
  }
  tcp::socket socket_;
  Counters& counters_;
  EchoLog* log_;
  std::array<char, kBuffer> buf_{};
};

// Counts lines and answers pings. With a ParseFloor (parse-floor) it also runs one simdjson pass
// over each read's complete lines; the incomplete last line moves to the front for the next read.
class DiscardSession : public std::enable_shared_from_this<DiscardSession> {
 public:
  DiscardSession(tcp::socket s, Counters& c, bool parse = false)
      : socket_(std::move(s)), counters_(c), floor_(parse ? std::make_unique<ParseFloor>() : nullptr) {}
  void start() { do_read(); }

 private:
  void do_read() {
    socket_.async_read_some(boost::asio::buffer(buf_.data() + carry_, kBuffer),
                            [self = shared_from_this()](auto ec, std::size_t n) {
                              if (ec) return;
                              self->on_data(n);
                            });
  }
  // Counts lines; keeps the first bytes of the current line to recognise a ping split across reads.
  void on_data(std::size_t n) {
    counters_.bytes += n;
    const char* p = buf_.data() + carry_;
    const char* end = p + n;
    while (p < end) {
      const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
      const char* stop = nl ? nl : end;
      if (head_.size() < kPing.size()) head_.append(p, std::min<std::size_t>(kPing.size() - head_.size(), static_cast<std::size_t>(stop - p)));
      if (!nl) break;
      ++counters_.lines;
      if (head_ == kPing) pongs_.append(R"({"type":"pong","seq":)" + std::to_string(++seq_) + "}\n");
      head_.clear();
      p = nl + 1;
    }
    if (floor_ && n > 0) parse_complete_lines(carry_ + n);
    if (!pongs_.empty() && !writing_) {
      writing_ = true;
      out_.swap(pongs_);
      boost::asio::async_write(socket_, boost::asio::buffer(out_), [self = shared_from_this()](auto ec, std::size_t) {
        self->writing_ = false;
        self->out_.clear();
        if (!ec && !self->pongs_.empty()) self->on_data(0);
      });
    }
    if (n > 0) do_read();
  }
  void parse_complete_lines(std::size_t filled) {
    char* b = buf_.data();
    const auto* last = static_cast<const char*>(::memrchr(b, '\n', filled));
    if (!last) {
      carry_ = filled < kBuffer ? filled : 0;  // a line longer than a read is dropped unparsed
      return;
    }
    const auto len = static_cast<std::size_t>(last + 1 - b);
    counters_.parsed += floor_->walk(b, len);
    carry_ = filled - len;
    std::memmove(b, b + len, carry_);
  }
  tcp::socket socket_;
  Counters& counters_;
  std::unique_ptr<ParseFloor> floor_;
  // A carried partial line, one read, and simdjson's padding.
  std::array<char, 2 * kBuffer + ParseFloor::padding> buf_{};
  std::size_t carry_ = 0;
  std::string head_, pongs_, out_;
  bool writing_ = false;
  std::uint64_t seq_ = 0;
};

class ParseFloorSession : public DiscardSession {
 public:
  ParseFloorSession(tcp::socket s, Counters& c) : DiscardSession(std::move(s), c, true) {}
};

// Plain Beast: the daemon's stream type (websocket::stream over beast::tcp_stream) with Beast's
// defaults (no timeouts, no compression), one async_read per message into a reused flat_buffer,
// then consume. Accepts the upgrade at /ws only, like the daemon; answers {"type":"ping"...}
// messages with a pong text frame (one write in flight) so the client's barrier works unchanged.
class WsDiscardSession : public std::enable_shared_from_this<WsDiscardSession> {
 public:
  WsDiscardSession(tcp::socket s, Counters& c) : ws_(beast::tcp_stream(std::move(s))), counters_(c) {}
  void start() {
    http::async_read(ws_.next_layer(), buf_, req_, [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->on_request();
    });
  }

 private:
  void on_request() {
    if (!websocket::is_upgrade(req_) || req_.target() != "/ws" || buf_.size() != 0) {
      // Not a clean upgrade at /ws (or frames sent before the 101): refuse, like the daemon's 404.
      auto res = std::make_shared<http::response<http::string_body>>(http::status::not_found, 11);
      res->body() = "WebSocket endpoint is /ws\n";
      res->keep_alive(false);
      res->prepare_payload();
      http::async_write(ws_.next_layer(), *res, [self = shared_from_this(), res](beast::error_code, std::size_t) {
        beast::error_code ignored;
        self->ws_.next_layer().socket().shutdown(tcp::socket::shutdown_both, ignored);
      });
      return;
    }
    ws_.text(true);
    ws_.async_accept(req_, [self = shared_from_this()](beast::error_code ec) {
      if (!ec) self->do_read();
    });
  }
  void do_read() {
    ws_.async_read(buf_, [self = shared_from_this()](beast::error_code ec, std::size_t n) {
      if (ec) return;
      self->on_message(n);
    });
  }
  void on_message(std::size_t n) {
    ++counters_.lines;
    counters_.bytes += n;
    const auto data = buf_.cdata();
    const std::string_view text(static_cast<const char*>(data.data()), data.size());
    if (text.substr(0, kPing.size()) == kPing) {
      pongs_.push_back(R"({"type":"pong","seq":)" + std::to_string(++seq_) + "}");
      if (pongs_.size() == 1) do_write();
    }
    buf_.consume(buf_.size());
    do_read();
  }
  void do_write() {
    ws_.async_write(boost::asio::buffer(pongs_.front()), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (ec) return;
      self->pongs_.pop_front();
      if (!self->pongs_.empty()) self->do_write();
    });
  }
  websocket::stream<beast::tcp_stream> ws_;
  Counters& counters_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  std::deque<std::string> pongs_;
  std::uint64_t seq_ = 0;
};

template <class Session, class... Extra>
void do_accept(tcp::acceptor& acceptor, Counters& counters, Extra... extra) {
  acceptor.async_accept([&acceptor, &counters, extra...](auto ec, tcp::socket s) {
    if (!ec) {
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      ++counters.connections;
      std::make_shared<Session>(std::move(s), counters, extra...)->start();
    }
    do_accept<Session>(acceptor, counters, extra...);
  });
}

// A fresh log in `dir` (anything there before is removed: a baseline measures from empty).
bool open_log(EchoLog& log, const Options& o) {
  std::error_code ec;
  std::filesystem::remove_all(o.wal_dir, ec);
  storage::WalOptions w;
  w.dir = o.wal_dir;
  w.policy = o.fsync_interval_ms == 0 ? storage::FsyncPolicy::every_commit : storage::FsyncPolicy::interval;
  w.interval_ms = o.fsync_interval_ms;
  auto opened = storage::Wal::open(w, [](std::uint64_t) {},
                                   [](std::string_view m) { std::fprintf(stderr, "tradeshard-bench: %.*s\n",
                                                                         static_cast<int>(m.size()), m.data()); });
  if (!opened.error.empty()) {
    std::fprintf(stderr, "tradeshard-bench: echo-wal: %s\n", opened.error.c_str());
    return false;
  }
  log.wal = std::move(opened.wal);
  return true;
}

}  // namespace

int run_baseline_server(const Options& o) {
  const std::string& kind = o.serve;
  const std::uint16_t port = o.port;
  const std::string& ports_file = o.ports_file;
  boost::asio::io_context io(1);
  tcp::acceptor acceptor(io);
  boost::system::error_code ec;
  const tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), port);
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    std::fprintf(stderr, "tradeshard-bench --serve %s: cannot listen on 127.0.0.1:%u: %s\n", kind.c_str(), port,
                 ec.message().c_str());
    return 1;
  }
  Counters counters;
  EchoLog log;
  if (kind == "echo-wal" && !open_log(log, o)) return 1;
  if (kind == "echo") do_accept<EchoSession>(acceptor, counters);
  else if (kind == "echo-wal") do_accept<EchoSession>(acceptor, counters, &log);
  else if (kind == "ws-discard") do_accept<WsDiscardSession>(acceptor, counters);
  else if (kind == "parse-floor") do_accept<ParseFloorSession>(acceptor, counters);
  else do_accept<DiscardSession>(acceptor, counters);
  const auto bound = acceptor.local_endpoint().port();
  if (!ports_file.empty()) {
    // Written whole then renamed, so a poller never reads half a file.
    const std::string tmp = ports_file + ".tmp";
    std::ofstream(tmp) << "{\"tcp\":" << bound << "}\n";
    std::rename(tmp.c_str(), ports_file.c_str());
  }
  std::fprintf(stderr, "tradeshard-bench: %s server on 127.0.0.1:%u\n", kind.c_str(), bound);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&io](auto, int) { io.stop(); });
  io.run();
  std::fprintf(stderr, "tradeshard-bench: %s server stopped: %llu connections, %llu messages, %llu bytes, %llu parsed\n",
               kind.c_str(), static_cast<unsigned long long>(counters.connections),
               static_cast<unsigned long long>(counters.lines), static_cast<unsigned long long>(counters.bytes),
               static_cast<unsigned long long>(counters.parsed));
  return 0;
}

}  // namespace tradeshard::bench

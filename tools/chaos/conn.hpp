#pragma once
// One asynchronous client connection of tradeshard-chaos, on the tool's single io_context thread:
// TCP JSON lines or WebSocket text frames (Beast client). Besides sending and reading it can
// misbehave on purpose: stop reading (with a small SO_RCVBUF set before connect), half-close,
// write raw bytes under the WebSocket framing, and close abruptly with an RST (SO_LINGER 0).
//
// Lifetime: a Conn is owned by shared_ptr; every pending handler holds one, so a Conn lives until
// its socket is closed and its last handler has run. Callbacks run on the loop thread only.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace tradeshard::chaos {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

struct Target {
  asio::ip::address host = asio::ip::make_address("127.0.0.1");
  std::uint16_t tcp_port = 0;
  std::uint16_t http_port = 0;
};

struct ConnOptions {
  bool websocket = false;
  int rcvbuf = 0;                  // SO_RCVBUF set before connect (0 = kernel default)
  asio::ip::address source;        // bind() address before connect (unspecified = let the kernel pick)
};

class Conn : public std::enable_shared_from_this<Conn> {
 public:
  using MessageFn = std::function<void(std::string_view)>;
  using CloseFn = std::function<void(const std::string& why)>;
  using OpenFn = std::function<void(bool ok, const std::string& error)>;

  Conn(asio::io_context& io, ConnOptions opts);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // Connects (and upgrades to WebSocket on GET /ws); then reads unless set_reading(false) was called.
  void connect(const Target& t, OpenFn on_open);
  // One message in this connection's framing: a line + '\n', or one WebSocket text frame.
  void send(std::string_view message);
  // A WebSocket binary frame (TCP: same as send).
  void send_binary(std::string_view message);
  // Raw bytes straight onto the TCP socket, under any WebSocket framing.
  void send_raw(std::string bytes);
  void set_reading(bool on);
  // shutdown(SHUT_WR) once everything queued has been written; keeps reading.
  void half_close();
  // TCP: close; WebSocket: close frame (code 1000), then the socket (at most 1 s later).
  void close();
  // RST: SO_LINGER {1, 0} and close, whatever is queued.
  void reset();

  [[nodiscard]] bool is_open() const noexcept { return open_ && !closed_; }
  [[nodiscard]] bool closed() const noexcept { return closed_; }
  [[nodiscard]] bool closed_by_peer() const noexcept { return closed_by_peer_; }
  [[nodiscard]] bool websocket() const noexcept { return opts_.websocket; }
  [[nodiscard]] std::size_t queued_bytes() const noexcept { return queued_bytes_; }
  [[nodiscard]] std::uint64_t messages_in() const noexcept { return messages_in_; }
  [[nodiscard]] const std::string& close_reason() const noexcept { return close_reason_; }

  MessageFn on_message;  // every complete message read
  CloseFn on_close;      // once, when the connection ends for any reason (peer, error, local)

 private:
  struct Out {
    std::string data;
    enum Kind { raw, text, binary } kind;
  };
  tcp::socket& socket();
  void start_read();
  void on_read_tcp(const boost::system::error_code& ec, std::size_t n);
  void queue(std::string data, Out::Kind kind);
  void write_next();
  void finish(const std::string& why, bool by_peer);
  void close_socket();

  ConnOptions opts_;
  tcp::socket sock_;
  std::unique_ptr<boost::beast::websocket::stream<tcp::socket>> ws_;
  asio::steady_timer guard_;
  std::array<char, 16384> rbuf_{};
  std::string line_;
  boost::beast::flat_buffer wsbuf_;
  std::deque<Out> out_;
  std::size_t queued_bytes_ = 0;
  bool open_ = false, closed_ = false, closed_by_peer_ = false;
  bool reading_ = true, read_pending_ = false, writing_ = false;
  bool half_close_ = false, closing_ = false;
  std::uint64_t messages_in_ = 0;
  std::string close_reason_;
};

}  // namespace tradeshard::chaos

#pragma once
// One non-blocking client connection speaking either TCP JSON lines or WebSocket text frames
// (a minimal RFC 6455 client: masked frames out, unmasked frames in). The load loops own it
// and poll its fd; it never blocks after connect().
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace tradeshard::bench {

struct Endpoint {
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  bool websocket = false;
  std::string path = "/ws";
};

// "HOST:PORT" (tcp) or "ws://HOST:PORT/PATH"; false when malformed.
[[nodiscard]] bool parse_endpoint(std::string_view text, bool websocket, Endpoint& out);

class Connection {
 public:
  // Connects (and for WebSocket does the upgrade handshake, blocking up to 5 s). nullptr + error on failure.
  static std::unique_ptr<Connection> open(const Endpoint& ep, std::string& error);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  [[nodiscard]] int fd() const noexcept { return fd_; }
  [[nodiscard]] bool websocket() const noexcept { return ws_; }
  // Appends one message in this connection's framing (line + '\n', or a masked text frame) to out.
  void frame(std::string& out, std::string_view message);
  // Queues one message for sending.
  void queue(std::string_view message) { frame(out_, message); }
  // Queues bytes already framed by frame().
  void queue_framed(std::string_view bytes) { out_.append(bytes); }
  // Writes as much as the socket takes; false on a write error.
  bool flush();
  [[nodiscard]] bool has_output() const noexcept { return out_off_ < out_.size(); }
  [[nodiscard]] std::size_t output_bytes() const noexcept { return out_.size() - out_off_; }
  // Writes bytes straight from the caller's buffer (nothing may be queued); returns bytes written, -1 on error.
  long write_direct(const char* data, std::size_t len);
  // Reads what is available and calls on_message(std::string_view) per complete message.
  // Returns false when the peer closed or on error.
  template <class F>
  bool read_available(F&& on_message);

 private:
  Connection(int fd, bool ws, std::uint64_t mask_seed);
  long read_some();
  bool next_message(std::string_view& message);  // from in_, consuming it

  int fd_ = -1;
  bool ws_ = false;
  std::uint64_t mask_state_ = 0;
  std::string out_;
  std::size_t out_off_ = 0;
  std::string in_;
  std::size_t in_off_ = 0;
  std::string fragments_;  // WebSocket continuation frames
  std::string assembled_;  // the last fragmented message, valid until the next one
  std::string control_;    // WebSocket pong replies to queue
};

template <class F>
bool Connection::read_available(F&& on_message) {
  for (;;) {
    const long n = read_some();
    if (n == 0) return false;
    if (n < 0) break;  // would block
    std::string_view m;
    while (next_message(m)) on_message(m);
  }
  std::string_view m;
  while (next_message(m)) on_message(m);
  return fd_ >= 0;
}

}  // namespace tradeshard::bench

#pragma once
// A scripted market-data WebSocket server for the feed-client tests: listens on 127.0.0.1 port 0,
// ws:// or wss:// (certificate and key PEM files), on its own thread; each accepted connection is
// handed, in turn, to the test's script together with its index (0 for the first).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace tradeshard::testing {

class FeedServer {
 public:
  class Session {
   public:
    virtual ~Session() = default;
    virtual void send(const std::string& text) = 0;
    // All frames in one socket write, so the client finds them already queued (a burst).
    virtual void send_burst(const std::vector<std::string>& texts) = 0;
    // The next text frame from the client, nullopt on timeout or error.
    virtual std::optional<std::string> read(std::chrono::milliseconds timeout) = 0;
    // Abrupt TCP close: no WebSocket close frame, no TLS close_notify.
    virtual void drop() = 0;
    // Keeps the connection open (silent) until the server stops.
    virtual void hold() = 0;
  };
  using Script = std::function<void(Session&, int index)>;

  // cert_file/key_file empty: plain ws://.
  explicit FeedServer(Script script, std::string cert_file = "", std::string key_file = "");
  ~FeedServer();
  FeedServer(const FeedServer&) = delete;
  FeedServer& operator=(const FeedServer&) = delete;

  [[nodiscard]] unsigned short port() const noexcept { return port_; }
  // Connections accepted so far (TLS and WebSocket handshakes may still have failed).
  [[nodiscard]] int accepted() const noexcept { return accepted_.load(); }
  // Connections that completed the WebSocket handshake.
  [[nodiscard]] int opened() const noexcept { return opened_.load(); }
  [[nodiscard]] bool stopping() const noexcept { return stop_.load(); }

 private:
  struct Impl;
  void run();
  std::unique_ptr<Impl> impl_;
  Script script_;
  unsigned short port_ = 0;
  std::atomic<int> accepted_{0}, opened_{0};
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// One bookTicker object as Binance sends it.
std::string book_ticker(const std::string& symbol, std::uint64_t u, const std::string& bid, const std::string& ask,
                        const std::string& bid_size = "1.5", const std::string& ask_size = "2.5");

}  // namespace tradeshard::testing

#pragma once
// One outbound market-data feed (one `feeds[]` entry): a ws:// or wss:// WebSocket client that
// turns Binance bookTicker frames (bare, or inside the combined-stream {"stream","data"} wrapper)
// into ticks for app::TickFlow as connection 0, and reconnects on any error or close with capped
// exponential backoff and full jitter. wss:// verifies the server certificate (system store plus
// the optional ca_file) and its host name, and sends SNI. Everything runs on the loop thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <random>
#include <string>

#include "feed_frame.hpp"
#include "feed_policy.hpp"
#include "tradeshard/app/config.hpp"

namespace boost::asio::ssl {
class context;
}
namespace tradeshard::app {
class Gateway;
}

namespace tradeshard::net {

enum class FeedState : std::uint8_t { connecting, connected, backoff, stopped };
[[nodiscard]] const char* to_string(FeedState s) noexcept;

// Shown per feed in /stats `ticks.feeds`.
struct FeedCounters {
  std::uint64_t messages = 0;    // WebSocket data frames received
  std::uint64_t ticks = 0;       // frames that decoded to a bookTicker tick
  std::uint64_t processed = 0;   // ticks handed to TickFlow (ticks - conflated)
  std::uint64_t conflated = 0;   // ticks dropped because a newer one of the same symbol replaced it
  std::uint64_t bad_frames = 0;  // frames that were neither a tick nor a control reply
  std::uint64_t control = 0;     // control replies ignored ({"result":…,"id":…})
  std::uint64_t errors = 0;      // bad frames + connections that failed or ended
  std::uint64_t reconnects = 0;  // connection attempts after the first
  std::string last_error;
};

class FeedClient : public std::enable_shared_from_this<FeedClient> {
 public:
  // after_ticks runs after ticks were handed to the gateway (the daemon schedules its pump there).
  // Throws std::runtime_error at start-up for a malformed URL or an unreadable ca_file.
  FeedClient(boost::asio::io_context& io, const app::FeedConfig& config, app::Gateway& gateway,
             std::function<void()> after_ticks, std::uint64_t seed);
  ~FeedClient();
  FeedClient(const FeedClient&) = delete;
  FeedClient& operator=(const FeedClient&) = delete;

  void start();
  // Closes the connection and cancels any pending reconnect; no tick is delivered afterwards.
  void stop();

  [[nodiscard]] FeedState state() const noexcept { return state_; }
  [[nodiscard]] const FeedCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] const std::string& url() const noexcept { return config_.url; }
  [[nodiscard]] nlohmann::json stats_json() const;

  // Frames read while "behind" before the batch is processed anyway (so ticks keep flowing).
  static constexpr std::size_t max_batch_frames = 1024;
  // ... and the longest a batched tick waits for the frame that shows the feed caught up.
  static constexpr std::chrono::milliseconds max_batch_delay{5};
  // Healthy connection (resets the backoff): delivered a frame and stayed up this long.
  static constexpr std::chrono::milliseconds stable_after{1000};

 private:
  struct Conn;
  void connect();
  void on_connected(const std::shared_ptr<Conn>& c);
  void do_read(const std::shared_ptr<Conn>& c);
  void on_frame(const std::shared_ptr<Conn>& c);
  void handle_tick(const app::TickCmd& t, bool behind);
  void flush_batch();
  void fail(const std::shared_ptr<Conn>& c, const std::string& reason);
  bool stale(const std::shared_ptr<Conn>& c) const noexcept { return stopped_ || c != conn_; }

  boost::asio::io_context& io_;
  app::FeedConfig config_;
  FeedUrl url_;
  app::Gateway& gateway_;
  std::function<void()> after_ticks_;
  std::unique_ptr<boost::asio::ssl::context> tls_;
  boost::asio::steady_timer retry_;
  boost::asio::steady_timer flush_timer_;  // bounds a batch's wait for its closing frame
  std::shared_ptr<Conn> conn_;  // the current connection; handlers of older ones see stale()
  FeedFrameDecoder decoder_;
  std::string frame_;  // padded copy of the frame for the decoders
  ConflationBatch batch_;
  std::size_t batch_frames_ = 0;
  Backoff backoff_;
  std::mt19937_64 rng_;
  FeedState state_ = FeedState::connecting;
  bool stopped_ = false;
  FeedCounters counters_;
};

}  // namespace tradeshard::net

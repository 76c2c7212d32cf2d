#pragma once
// The daemon's network edge on one io_context: TCP JSON-lines listener, HTTP listener with the
// WebSocket upgrade at /ws, session registry, idle sweeps and graceful shutdown.
// Everything here runs on the loop thread.
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>
#include <utility>
#include <vector>

#include "tradeshard/app/config.hpp"
#include "tradeshard/net/net_stats.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::app {
class Gateway;
}

namespace tradeshard::net {

class SessionBase;
class HttpSession;
class HttpApi;


class Server {
 public:
  Server(boost::asio::io_context& io, const app::Config& config, app::Gateway& gateway);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds both listeners (throws std::system_error with the endpoint on failure) and accepts;
  // a follower (replica, standby) binds HTTP alone: tcp_port() is then 0. http_fd >= 0: the
  // HTTP listener is that open, listening socket (a standby's, kept across its promotion).
  void start(bool client_listener = true, int http_fd = -1);
  // Hands the HTTP listener's socket over (before stop()); -1 when there is none.
  [[nodiscard]] int release_http();
  // Stops accepting, flushes every session, calls on_done when all are closed (or after 1.5 s).
  void stop(std::function<void()> on_done);

  [[nodiscard]] std::uint16_t tcp_port() const;
  [[nodiscard]] std::uint16_t http_port() const;

  // For sessions.
  boost::asio::io_context& io() noexcept { return io_; }
  const app::Config& config() const noexcept { return config_; }
  app::Gateway& gateway() noexcept { return gateway_; }
  protocol::Decoder& decoder() noexcept { return decoder_; }
  NetStats& stats() noexcept { return stats_; }
  HttpApi& http_api() noexcept { return *http_api_; }
  std::uint64_t next_session_id() noexcept { return ++last_session_id_; }
  bool admit_connection();
  void add(const std::shared_ptr<SessionBase>& s);
  void add(const std::shared_ptr<HttpSession>& s);
  void remove(std::uint64_t id);
  [[nodiscard]] bool stopping() const noexcept { return stopping_; }
  // Runs the Gateway's queued work soon (once per loop turn while work remains).
  void schedule_pump();
  // Runs one batch of it now, unless a pump is already queued (then that one keeps its turn), and
  // schedules the rest: a read's orders are matched and answered before the read is re-armed.
  void pump_now();
  [[nodiscard]] std::chrono::steady_clock::time_point started() const noexcept { return started_; }

  // ledger.ack_after "fsync" / "replicated" (docs/ledger.md): what a session queues after a
  // ledger commit leaves only once that commit is safe (an fsync covered it; etcd committed it).
  // ack_version(): the version a message queued now waits for, 0 when none (ack_after "write",
  // or everything committed is safe).
  [[nodiscard]] std::uint64_t ack_version() const { return ack_gated_ ? undurable_commit() : 0; }
  [[nodiscard]] std::uint64_t durable_version() const noexcept { return durable_; }
  // A session whose queue starts with bytes waiting for `version`: on_durable() resumes it.
  void wait_durable(std::uint64_t version, const std::shared_ptr<SessionBase>& s);
  // Loop thread: the ledger's fsync (or etcd) covered `version` (or, at start, what recovery loaded).
  void on_durable(std::uint64_t version);
  // The ledger's fsync failed: what waits is never sent; those sessions are closed.
  void durability_failed();

 private:
  void accept_tcp();
  void accept_http();
  void sweep();
  void maybe_done();
  [[nodiscard]] std::uint64_t undurable_commit() const;

  boost::asio::io_context& io_;
  const app::Config& config_;
  app::Gateway& gateway_;
  protocol::Decoder decoder_;
  NetStats stats_;
  std::unique_ptr<HttpApi> http_api_;
  boost::asio::ip::tcp::acceptor tcp_acceptor_;
  boost::asio::ip::tcp::acceptor http_acceptor_;
  boost::asio::steady_timer sweep_timer_;
  boost::asio::steady_timer stop_timer_;
  std::unordered_map<std::uint64_t, std::weak_ptr<SessionBase>> sessions_;
  std::unordered_map<std::uint64_t, std::weak_ptr<HttpSession>> http_sessions_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::uint64_t last_session_id_ = 0;
  bool stopping_ = false;
  bool pump_posted_ = false;
  const bool ack_gated_;
  std::uint64_t durable_ = 0;
  bool durability_failed_ = false;
  std::vector<std::pair<std::uint64_t, std::weak_ptr<SessionBase>>> durable_waiters_;
  std::function<void()> on_done_;
};

}  // namespace tradeshard::net

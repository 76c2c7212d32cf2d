#pragma once
// What every client session (TCP, WebSocket) shares: the Gateway port, a per-connection seq,
// a bounded outbound byte budget, rate limiting and idle tracking. Loop thread only.
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/messages.hpp"

namespace tradeshard::net {

class Server;

class SessionBase : public app::ClientPort {
 public:
  SessionBase(Server& server, std::uint64_t id, const char* transport);
  ~SessionBase() override;

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] const char* transport() const noexcept { return transport_; }
  // Closes the connection if it has been silent longer than the idle timeout.
  virtual void check_idle(std::chrono::steady_clock::time_point now) = 0;
  // Graceful stop: no more reads, flush what is queued, then close.
  virtual void shutdown() = 0;

 protected:
  // Decodes and dispatches one message; `at` is when its bytes were read (one clock read per
  // read batch, not per message: the tick path's budget is a few hundred nanoseconds).
  void handle_message(std::string_view text, std::size_t padding, const app::Now& at);
  // Token bucket for limits.messages_per_second; true = allowed.
  bool admit(std::chrono::steady_clock::time_point now);
  void touch(std::chrono::steady_clock::time_point now) { last_active_ = now; }
  void register_with_gateway();
  void unregister_from_gateway();

  Server& server_;
  std::uint64_t id_;
  const char* transport_;
  std::uint64_t seq_ = 0;
  std::uint64_t gateway_conn_ = 0;
  std::chrono::steady_clock::time_point last_active_;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point tokens_at_;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tradeshard::net

#pragma once
// What every client session (TCP, WebSocket) shares: the Gateway port, a per-connection seq,
// a bounded outbound byte budget, rate limiting and idle tracking. Loop thread only.
//
// Ownership rule for every connection object in src/net (TCP, WebSocket, HTTP, feed client):
//  1. A session is owned by the handlers it has pending (each captures shared_from_this()). The
//     Server's registry holds weak_ptrs; the Gateway holds a raw ClientPort* from
//     register_with_gateway() to unregister_from_gateway(), which close() calls exactly once.
//  2. send(), pause_reading() and resume_reading() are called from inside the Gateway: while it
//     handles a command, and while a publish iterates a channel's subscribers. They never call
//     back into the Gateway and never close. A session that must go from there (slow consumer)
//     calls fail(): it stops reading and queuing at once and posts close() to a handler of its
//     own, which runs after the Gateway has returned.
//  3. A buffer handed to an async write belongs to that write until its completion handler runs.
//     No close path frees, clears or reuses it; the handler releases it.
//  4. close() cancels the socket and hands it to the linger drain (linger.hpp). Handlers of the
//     session still queued then run with operation_aborted or find closed_ set, and return
//     without touching the socket, the queues or the Gateway. Timers and the 1 s sweep check
//     closed_/failed_ before they act.
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
  bool failed_ = false;  // fail() was called: nothing more is read or sent; close() is posted
};

}  // namespace tradeshard::net

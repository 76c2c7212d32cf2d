#pragma once
// What every client session (TCP, WebSocket) shares: the Gateway port, a per-connection seq,
// rate limiting, and the whole outbound side: encoding into a bounded queue (slow consumers are
// disconnected past limits.outbound_queue_bytes), the posted write, abandon, idle timeout,
// graceful shutdown, fail and close. A transport supplies only its reads and its write of the
// queued bytes (do_write / write_done). Loop thread only.
//
// Ownership rule for every connection object in src/net (TCP, WebSocket, HTTP, feed client):
//  1. A session is owned by the handlers it has pending (each captures shared_from_this()). The
//     Server's registry and its list of sessions waiting for the ledger (ack_after "fsync" or
//     "replicated") hold weak_ptrs; the Gateway holds a raw ClientPort* from
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

#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "durable_marks.hpp"
#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/messages.hpp"

namespace tradeshard::net {

class Server;

class SessionBase : public app::ClientPort, public std::enable_shared_from_this<SessionBase> {
 public:
  SessionBase(Server& server, std::uint64_t id, const char* transport);
  ~SessionBase() override;

  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  [[nodiscard]] const char* transport() const noexcept { return transport_; }

  // ClientPort: called from inside the Gateway (see rule 2 above).
  void send(const app::Outbound& message) final;
  void abandon(std::string_view reason) final;
  void pause_reading() final { paused_ = true; }
  void resume_reading() final;

  // Closes the connection if it has been silent longer than the idle timeout.
  void check_idle(std::chrono::steady_clock::time_point now);
  // Graceful stop: no more reads, flush what is queued, then close.
  void shutdown();
  // ledger.ack_after "fsync": the commit the head of the queue waited for is on disk (Server).
  void durable_ready();

 protected:
  // --- what a transport supplies ---
  // The TCP socket underneath (for the executor and the linger close).
  virtual boost::asio::ip::tcp::socket& lowest_socket() = 0;
  // One message was encoded at pending_[from, end): TCP ends the line, WebSocket records a frame.
  virtual void encoded(std::size_t from) = 0;
  // Drops what is queued and not yet held by a write (pending_ and what the transport keeps with it).
  virtual void drop_pending() { std::string().swap(pending_); }
  // Starts writing what is queued if no write is in flight; with nothing left and closing_ set,
  // finishes the graceful close.
  virtual void do_write() = 0;
  virtual void do_read() = 0;
  // Reading resumes after pause_reading(): what was buffered meanwhile, then the socket.
  virtual void resumed() { do_read(); }
  // Half way to the idle timeout (WebSocket pings).
  virtual void idle_half_way() {}

  // --- shared ---
  // Decodes and dispatches one message; `at` is when its bytes were read (one clock read per
  // read batch, not per message: the tick path's budget is a few hundred nanoseconds).
  void handle_message(std::string_view text, std::size_t padding, const app::Now& at);
  // Token bucket for limits.messages_per_second; true = allowed.
  bool admit(std::chrono::steady_clock::time_point now);
  void touch(std::chrono::steady_clock::time_point now) { last_active_ = now; }
  void register_with_gateway();
  void unregister_from_gateway();
  // Writes from a handler of its own, after the Gateway's release point (its ledger flush) has
  // run: Asio may send() inside an async write's initiation, so writing from send() could put a
  // fill on the wire before its change set is in the log. Also batches a turn's messages.
  void schedule_write();
  // A write's completion: false when the session must not go on writing (closed, failed, error).
  bool write_done(const boost::system::error_code& ec, std::size_t n);
  // How many bytes from the start of pending_ a write may take now: all of them, or with
  // ledger.ack_after "fsync" those before the first message whose commit is not yet on disk. 0
  // with bytes queued: the session waits, and Server::on_durable resumes it (durable_ready).
  // A transport calls it before taking a batch, then taken() with what it took.
  [[nodiscard]] std::size_t releasable();
  void taken(std::size_t n) { durable_marks_.consumed(n); }
  // Stops sending and reading at once and closes from a handler of its own (never inside send()).
  void fail(const char* reason);
  void close(const char* reason);
  template <class T>
  std::shared_ptr<T> self() {
    return std::static_pointer_cast<T>(shared_from_this());
  }

  Server& server_;
  std::uint64_t id_;
  const char* transport_;
  std::uint64_t seq_ = 0;
  std::uint64_t gateway_conn_ = 0;
  std::chrono::steady_clock::time_point last_active_;
  double tokens_ = 0;
  std::chrono::steady_clock::time_point tokens_at_;
  std::shared_ptr<spdlog::logger> log_;
  // Outbound bytes: pending_ takes new messages; writing_ is what the write in flight holds
  // (rule 3). Both count against limits.outbound_queue_bytes: the bound is on memory.
  std::string pending_, writing_;
  bool open_ = false;     // registered with the Gateway (WebSocket: after the handshake)
  bool failed_ = false;   // fail() was called: nothing more is read or sent; close() is posted
  bool closed_ = false;
  bool closing_ = false;  // graceful: flush, then close
  bool paused_ = false;
  bool write_in_flight_ = false;
  bool write_scheduled_ = false;
  DurableMarks durable_marks_;    // ledger.ack_after "fsync": what in pending_ waits for which version
  bool waiting_durable_ = false;  // registered with Server::wait_durable
};

}  // namespace tradeshard::net

#pragma once
// One TCP client speaking newline-delimited JSON. Reads into a padded buffer and decodes lines in
// place; replies are coalesced into one buffer with a single write in flight, bounded by
// limits.outbound_queue_bytes (then the client is disconnected as a slow consumer).
#include <boost/asio/ip/tcp.hpp>
#include <memory>
#include <string>
#include <vector>

#include "session_base.hpp"

namespace tradeshard::net {

class TcpSession : public SessionBase, public std::enable_shared_from_this<TcpSession> {
 public:
  TcpSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket);
  void start();

  void send(const app::Outbound& message) override;
  void abandon(std::string_view reason) override;
  void pause_reading() override { paused_ = true; }
  void resume_reading() override;
  void check_idle(std::chrono::steady_clock::time_point now) override;
  void shutdown() override;

 private:
  void do_read();
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process_lines();
  void schedule_flush();
  void do_write();
  void on_write(const boost::system::error_code& ec, std::size_t n);
  // Stops sending and reading at once and closes from a handler of its own (never inside send()).
  void fail(const char* reason);
  void close(const char* reason);

  boost::asio::ip::tcp::socket socket_;
  std::string peer_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0, in_end_ = 0;
  bool discarding_ = false;  // skipping the rest of an oversize line
  std::string pending_;      // encoded, waiting for the next write
  std::string writing_;      // owned by the write in flight
  bool write_in_flight_ = false;
  bool flush_scheduled_ = false;
  bool reading_ = false;
  bool paused_ = false;
  bool closing_ = false;  // graceful: flush then close
  bool closed_ = false;
};

}  // namespace tradeshard::net

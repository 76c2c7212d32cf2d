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

class TcpSession final : public SessionBase {
 public:
  TcpSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket);
  void start();

 private:
  boost::asio::ip::tcp::socket& lowest_socket() override { return socket_; }
  void encoded(std::size_t /*from*/) override { pending_.push_back('\n'); }
  void do_write() override;
  void do_read() override;
  void resumed() override;
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void process_lines();
  void on_write(const boost::system::error_code& ec, std::size_t n);

  boost::asio::ip::tcp::socket socket_;
  std::string peer_;
  std::vector<char> in_;
  std::size_t in_begin_ = 0, in_end_ = 0;
  bool discarding_ = false;  // skipping the rest of an oversize line
  bool reading_ = false;
};

}  // namespace tradeshard::net

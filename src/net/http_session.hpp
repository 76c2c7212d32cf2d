#pragma once
// One HTTP/1.1 client: bounded header and body, a whole-request timeout (slowloris guard),
// keep-alive, JSON errors (400/404/405/408/413), strict framing and header checks before any body
// is read (docs/protocol.md, HTTP), and the WebSocket upgrade at GET /ws.
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "session_base.hpp"

namespace tradeshard::net {

class HttpSession : public std::enable_shared_from_this<HttpSession> {
 public:
  HttpSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket);
  ~HttpSession();
  void start();
  [[nodiscard]] std::uint64_t id() const noexcept { return id_; }
  void shutdown();

 private:
  void do_read();
  // A request is read in three steps: its header's bytes (checked raw: read_header), the header
  // parsed by Beast (checked parsed: on_header), then its body (on_read).
  void read_header();
  void on_header(const boost::system::error_code& ec, std::size_t n);
  void on_read(const boost::system::error_code& ec, std::size_t n);
  void reject(unsigned status, std::string_view code, std::string_view message, std::string allow = {});
  void respond(unsigned status, std::string body, std::string content_type, std::string allow, bool keep_alive);
  void close();

  Server& server_;
  std::uint64_t id_;
  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::shared_ptr<void> response_;  // keeps the response alive during the write
  std::size_t header_scanned_ = 0;  // bytes of buffer_ already searched for the header's end
  bool closed_ = false, stopping_ = false, busy_ = false;
  std::shared_ptr<spdlog::logger> log_;
};

}  // namespace tradeshard::net

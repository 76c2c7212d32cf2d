#include "http_session.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/rfc7230.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http_api.hpp"
#include "tradeshard/net/server.hpp"
#include "ws_session.hpp"

namespace tradeshard::net {
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

constexpr std::size_t kHeaderLimit = 16 * 1024;

// Checks on the header's raw bytes, the request line and every field line up to the blank line
// (exclusive). They run before Beast parses the header, which would hide what they look for:
// Beast joins an obsolete folded line into its field's value and trims the whitespace around a
// value. RFC 9112 §5.2 (folding), §6.1 and §6.3 (Transfer-Encoding, request smuggling).
// Returns the reason for a 400, or an empty view.
std::string_view raw_header_problem(std::string_view header) noexcept {
  int transfer_encodings = 0, content_lengths = 0;
  bool bad_coding = false;
  std::size_t pos = header.find("\r\n");  // past the request line
  while (pos != std::string_view::npos && pos + 2 < header.size()) {
    const std::size_t begin = pos + 2;
    pos = header.find("\r\n", begin);
    const std::string_view line = header.substr(begin, pos == std::string_view::npos ? pos : pos - begin);
    if (line.empty()) break;
    if (line[0] == ' ' || line[0] == '\t') {
      return "obsolete line folding (a header line starting with a space or tab) is not accepted";
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) continue;  // Beast refuses it
    const std::string_view name = line.substr(0, colon);
    if (beast::iequals(name, "transfer-encoding")) {
      ++transfer_encodings;
      // Exactly the one coding this server implements, spaces around it at most: no list (where
      // "chunked" would not be the only, or not the final, coding), no tab, no other name.
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
      while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
      if (!beast::iequals(value, "chunked")) bad_coding = true;
    } else if (beast::iequals(name, "content-length")) {
      ++content_lengths;
    }
  }
  if (transfer_encodings > 1) return "more than one Transfer-Encoding header";
  if (transfer_encodings != 0 && content_lengths != 0) return "Transfer-Encoding together with Content-Length";
  if (bad_coding) return "Transfer-Encoding must be exactly \"chunked\"";
  return {};
}

// An Upgrade header naming websocket, whatever the method (websocket::is_upgrade wants GET).
bool asks_for_websocket(const http::request_header<>& h) {
  for (const auto token : http::token_list{h[http::field::upgrade]}) {
    if (beast::iequals(token, "websocket")) return true;
  }
  return false;
}

}  // namespace

HttpSession::HttpSession(Server& server, std::uint64_t id, boost::asio::ip::tcp::socket socket)
    : server_(server), id_(id), stream_(std::move(socket)), log_(spdlog::get("http")) {}

HttpSession::~HttpSession() = default;

void HttpSession::start() { do_read(); }

void HttpSession::do_read() {
  if (closed_ || stopping_) {
    close();
    return;
  }
  parser_.emplace();
  parser_->header_limit(kHeaderLimit);
  parser_->body_limit(server_.config().limits.http_max_body_bytes);
  // One deadline for the whole request: a client trickling bytes cannot hold the slot.
  stream_.expires_after(std::chrono::milliseconds(server_.config().limits.http_timeout_ms));
  busy_ = false;
  header_scanned_ = 0;
  read_header();
}

// Reads until buffer_ holds the whole header (it may already: a pipelined request), checks its
// raw bytes, then lets Beast parse it.
void HttpSession::read_header() {
  const std::string_view in(static_cast<const char*>(buffer_.cdata().data()), buffer_.size());
  const auto end = in.find("\r\n\r\n", header_scanned_);
  if (end != std::string_view::npos || in.size() >= kHeaderLimit) {
    if (end != std::string_view::npos) {
      if (const auto problem = raw_header_problem(in.substr(0, end + 2)); !problem.empty()) {
        busy_ = true;
        return reject(400, "bad_request", problem);
      }
    }
    // The header is complete (or over the limit, which Beast reports): Beast parses it from
    // buffer_ without reading.
    http::async_read_header(stream_, buffer_, *parser_, [self = shared_from_this()](const beast::error_code& ec,
                                                                                   std::size_t n) {
      self->on_header(ec, n);
    });
    return;
  }
  header_scanned_ = in.size() < 3 ? 0 : in.size() - 3;
  stream_.async_read_some(buffer_.prepare(4096), [self = shared_from_this()](const beast::error_code& ec,
                                                                             std::size_t n) {
    self->buffer_.commit(n);
    if (self->closed_) return;
    if (!ec) return self->read_header();
    // As Beast's read reports them: the end of the stream between requests, or inside one.
    if (ec == boost::asio::error::eof) {
      return self->on_read(self->buffer_.size() == 0 ? http::error::end_of_stream : http::error::partial_message, 0);
    }
    self->on_read(ec, 0);
  });
}

// The parsed header's checks, before any body byte is read: RFC 9112 §3.2 (Host), §6.1 (no
// Transfer-Encoding in HTTP/1.0) and the
// WebSocket upgrade's method (RFC 6455 §4.1: GET).
void HttpSession::on_header(const beast::error_code& ec, std::size_t n) {
  if (closed_) return;
  if (ec) return on_read(ec, n);
  server_.stats().bytes_in += n;
  const auto& h = parser_->get().base();
  const auto hosts = h.count(http::field::host);
  if (hosts == 0 && h.version() >= 11) {
    busy_ = true;
    return reject(400, "bad_request", "HTTP/1.1 request without Host");
  }
  if (hosts > 1) {
    busy_ = true;
    return reject(400, "bad_request", "more than one Host header");
  }
  if (h.version() < 11 && h.count(http::field::transfer_encoding) != 0) {
    // RFC 9112 §6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing.
    busy_ = true;
    return reject(400, "bad_request", "Transfer-Encoding in an HTTP/1.0 request");
  }
  if (h.method() != http::verb::get && asks_for_websocket(h) && h.target().substr(0, h.target().find('?')) == "/ws") {
    busy_ = true;
    return reject(405, "method_not_allowed",
                  "the WebSocket upgrade at /ws takes GET, not " + std::string(h.method_string()), "GET");
  }
  if (parser_->is_done()) return on_read({}, 0);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const beast::error_code& e, std::size_t m) { self->on_read(e, m); });
}

// A refused request: its JSON error, one log line, and the connection closed after the reply
// (what follows the header cannot be trusted to be where a body or the next request starts).
void HttpSession::reject(unsigned status, std::string_view code, std::string_view message, std::string allow) {
  server_.stats().count_http_error(status == 405 ? 405 : 400);
  if (status == 405) {
    log_->info("http {} websocket upgrade with method {} refused (405); closing", id_,
               std::string(parser_->get().method_string()));
  } else {
    log_->info("http {} bad request: {}; closing", id_, message);
  }
  respond(status, HttpApi::error(status, code, message).body, "application/json", std::move(allow), false);
}

void HttpSession::on_read(const beast::error_code& ec, std::size_t n) {
  busy_ = true;
  server_.stats().bytes_in += n;
  if (ec == http::error::end_of_stream || ec == boost::asio::error::eof) return close();
  if (ec == beast::error::timeout) {
    ++server_.stats().http_errors.timeouts;
    log_->info("http {} request timeout after {} ms; closing", id_, server_.config().limits.http_timeout_ms);
    return close();
  }
  if (ec == http::error::body_limit) {
    server_.stats().count_http_error(413);
    log_->warn("http {} body over {} bytes", id_, server_.config().limits.http_max_body_bytes);
    return respond(413, HttpApi::error(413, "too_large", "request body exceeds limits.http_max_body_bytes").body,
                   "application/json", "", false);
  }
  if (ec == http::error::header_limit) {
    server_.stats().count_http_error(431);
    return respond(431, HttpApi::error(431, "too_large", "request headers too large").body, "application/json", "",
                   false);
  }
  if (ec) {
    server_.stats().count_http_error(400);
    log_->info("http {} bad request: {}", id_, ec.message());
    return respond(400, HttpApi::error(400, "bad_request", ec.message()).body, "application/json", "", false);
  }
  auto req = parser_->release();
  ++server_.stats().http_requests;
  const std::string_view target = req.target();
  const auto qpos = target.find('?');
  const std::string_view path = target.substr(0, qpos);
  if (beast::websocket::is_upgrade(req)) {
    if (path != "/ws") {
      return respond(404, HttpApi::error(404, "not_found", "WebSocket endpoint is /ws").body, "application/json", "",
                     false);
    }
    if (server_.http_api().read_only()) {  // a follower: clients go to the leading gateway
      log_->info("http {} websocket upgrade refused: not the leader", id_);
      return respond(503, server_.http_api().not_leader().body, "application/json", "", false);
    }
    // No admit_connection() here: this connection was admitted when it was accepted and stays one
    // connection (checking again counted it twice, refusing the last slot under max_connections).
    // Frames a client sent right behind its upgrade request are in buffer_ already: hand them over.
    const auto early = buffer_.cdata();
    auto ws = std::make_shared<WsSession>(server_, server_.next_session_id(), stream_.release_socket(),
                                          std::string_view(static_cast<const char*>(early.data()), early.size()));
    server_.add(ws);
    ws->start(std::move(req));
    closed_ = true;
    server_.remove(id_);
    return;
  }
  HttpRequest r;
  r.method = req.method_string();
  r.path = path;
  r.query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
  r.body = req.body();
  r.authorization = req[http::field::authorization];
  HttpResponse res = server_.http_api().handle(r);
  if (res.deferred) {
    // Answered later, on the loop (see HttpResponse::deferred); busy_ stays set meanwhile, so a
    // graceful shutdown waits for it, and nothing more is read until it is written.
    auto start = std::move(res.deferred);
    start([self = shared_from_this(), keep_alive = req.keep_alive()](HttpResponse done) {
      if (self->closed_) return;
      self->server_.stats().count_http_error(done.status);
      self->respond(done.status, std::move(done.body), std::move(done.content_type), std::move(done.allow), keep_alive);
    });
    return;
  }
  server_.stats().count_http_error(res.status);
  respond(res.status, std::move(res.body), std::move(res.content_type), std::move(res.allow), req.keep_alive());
}

void HttpSession::respond(unsigned status, std::string body, std::string content_type, std::string allow,
                          bool keep_alive) {
  auto res = std::make_shared<http::response<http::string_body>>(static_cast<http::status>(status), 11);
  res->set(http::field::server, "tradeshard/" TRADESHARD_VERSION);
  res->set(http::field::content_type, content_type);
  res->set(http::field::cache_control, "no-store");
  if (!allow.empty()) res->set(http::field::allow, allow);
  res->keep_alive(keep_alive && !stopping_);
  res->body() = std::move(body);
  res->prepare_payload();
  response_ = res;
  stream_.expires_after(std::chrono::milliseconds(server_.config().limits.http_timeout_ms));
  http::async_write(stream_, *res, [self = shared_from_this(), res](const beast::error_code& ec, std::size_t n) {
    self->server_.stats().bytes_out += n;
    self->response_.reset();
    if (ec || !res->keep_alive()) return self->close();
    self->do_read();
  });
}

void HttpSession::shutdown() {
  stopping_ = true;
  if (!busy_) close();
}

void HttpSession::close() {
  if (closed_) return;
  closed_ = true;
  beast::error_code ec;
  stream_.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_send, ec);
  stream_.close();
  server_.remove(id_);
}

}  // namespace tradeshard::net

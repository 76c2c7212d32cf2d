#include "http_session.hpp"

#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "http_api.hpp"
#include "tradeshard/net/server.hpp"
#include "ws_session.hpp"

namespace tradeshard::net {
namespace beast = boost::beast;
namespace http = beast::http;

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
  parser_->header_limit(16 * 1024);
  parser_->body_limit(server_.config().limits.http_max_body_bytes);
  // One deadline for the whole request: a client trickling bytes cannot hold the slot.
  stream_.expires_after(std::chrono::milliseconds(server_.config().limits.http_timeout_ms));
  busy_ = false;
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](const beast::error_code& ec, std::size_t n) { self->on_read(ec, n); });
}

void HttpSession::on_read(const beast::error_code& ec, std::size_t n) {
  busy_ = true;
  server_.stats().bytes_in += n;
  if (ec == http::error::end_of_stream || ec == boost::asio::error::eof) return close();
  if (ec == beast::error::timeout) {
    ++server_.stats().http_errors[5];
    log_->info("http {} request timeout after {} ms; closing", id_, server_.config().limits.http_timeout_ms);
    return close();
  }
  if (ec == http::error::body_limit) {
    ++server_.stats().http_errors[4];
    log_->warn("http {} body over {} bytes", id_, server_.config().limits.http_max_body_bytes);
    return respond(413, HttpApi::error(413, "too_large", "request body exceeds limits.http_max_body_bytes").body,
                   "application/json", "", false);
  }
  if (ec == http::error::header_limit) {
    ++server_.stats().http_errors[4];
    return respond(431, HttpApi::error(431, "too_large", "request headers too large").body, "application/json", "",
                   false);
  }
  if (ec) {
    ++server_.stats().http_errors[0];
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
    if (!server_.admit_connection()) return close();
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
  if (res.status == 401) ++server_.stats().http_errors[1];
  if (res.status == 404) ++server_.stats().http_errors[2];
  if (res.status == 405) ++server_.stats().http_errors[3];
  if (res.status == 400) ++server_.stats().http_errors[0];
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

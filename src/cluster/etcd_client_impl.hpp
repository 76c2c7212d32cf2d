#pragma once
// The etcd client's inside (include/tradeshard/cluster/etcd_client.hpp), private to src/cluster:
// endpoints, the unary calls' connections and queue (EtcdClient::Impl). etcd_client.cpp has the
// unary calls, etcd_stream.cpp the streams (watch, campaign, observe).
#include "tradeshard/cluster/etcd_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <cerrno>
#include <deque>
#include <limits>
#include <optional>
#include <stdexcept>
#include <utility>

#include <sys/socket.h>

namespace tradeshard::cluster {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using etcd::Error;

namespace detail {

struct Endpoint {
  std::string host;
  std::string port;
  std::string text;  // as configured, for messages
};

inline Endpoint parse_endpoint(const std::string& url) {
  std::string_view rest = url;
  if (rest.rfind("https://", 0) == 0) {
    throw std::invalid_argument("etcd endpoint " + url + ": TLS is not supported yet; use http:// on a trusted network");
  }
  if (rest.rfind("http://", 0) == 0) rest.remove_prefix(7);
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string host;
  std::string_view port;
  if (!rest.empty() && rest.front() == '[') {  // [v6]:port
    const auto close = rest.find(']');
    if (close == std::string_view::npos || close + 1 >= rest.size() || rest[close + 1] != ':') {
      throw std::invalid_argument("etcd endpoint " + url + ": expected [address]:port");
    }
    host = std::string(rest.substr(1, close - 1));
    port = rest.substr(close + 2);
  } else {
    const auto colon = rest.rfind(':');
    if (colon == std::string_view::npos) throw std::invalid_argument("etcd endpoint " + url + ": expected host:port");
    host = std::string(rest.substr(0, colon));
    port = rest.substr(colon + 1);
  }
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string_view::npos) {
    throw std::invalid_argument("etcd endpoint " + url + ": expected host:port");
  }
  return Endpoint{host, std::string(port), url};
}

inline Error make_error(Error::Kind kind, std::string message, etcd::Code code = etcd::Code::unavailable) {
  return Error{kind, code, std::move(message)};
}

inline http::request<http::string_body> make_request(const Endpoint& ep, std::string_view path, std::string body,
                                              const std::string& token) {
  http::request<http::string_body> req{http::verb::post, path, 11};
  req.set(http::field::host, ep.host + ":" + ep.port);
  req.set(http::field::content_type, "application/json");
  if (!token.empty()) req.set(http::field::authorization, token);  // the raw token, no scheme
  req.keep_alive(true);
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

inline bool is_auth_failure(const std::string& body) {
  const auto r = etcd::decode_header_only(body);
  return !r.ok() && r.error.kind == Error::Kind::etcd &&
         (r.error.code == etcd::Code::unauthenticated || r.error.message.find("invalid auth token") != std::string::npos);
}

// A raw answer: HTTP status and body.
struct Raw {
  unsigned status = 0;
  std::string body;
};

}  // namespace detail
using namespace detail;

// ---------------------------------------------------------------------------------------------
// Unary calls

struct Call {
  std::string path;
  std::string body;
  bool idempotent = false;  // retried after an ambiguous failure too
  bool needs_token = true;  // false for authenticate itself
  Clock::time_point deadline;
  unsigned auth_retries = 0;
  std::function<void(etcd::Result<Raw>)> done;
};

struct Conn {
  explicit Conn(asio::io_context& io) : socket(io), resolver(io), timer(io) {}
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  http::request<http::string_body> req;
  std::shared_ptr<Call> call;
  bool connected = false;
  bool timed_out = false;
  std::size_t endpoint = 0;
  std::uint64_t generation = 0;  // one per attempt: a timer of an older attempt does nothing

  void close() {
    boost::system::error_code ignored;
    resolver.cancel();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    connected = false;
    buffer.clear();
  }
};

struct EtcdClient::Impl : std::enable_shared_from_this<EtcdClient::Impl> {
  Impl(asio::io_context& io, EtcdOptions o) : io(io), options(std::move(o)), retry(io) {
    if (options.endpoints.empty()) throw std::invalid_argument("etcd: no endpoints configured");
    for (const auto& e : options.endpoints) endpoints.push_back(parse_endpoint(e));
    for (std::size_t i = 0; i < std::max<std::size_t>(1, options.connections); ++i) {
      conns.push_back(std::make_shared<Conn>(io));
    }
  }

  asio::io_context& io;
  EtcdOptions options;
  std::vector<Endpoint> endpoints;
  std::size_t next_endpoint = 0;
  std::vector<std::shared_ptr<Conn>> conns;
  std::deque<std::shared_ptr<Call>> queue;
  asio::steady_timer retry;  // a pause before the next round over the endpoints
  bool retry_armed = false;
  std::string token;
  bool authenticating = false;
  std::vector<std::function<void(std::optional<Error>)>> token_waiters;
  bool stopped = false;
  EtcdCounters counters;

  bool needs_auth() const { return !options.user.empty(); }

  void submit(std::shared_ptr<Call> c) {
    ++counters.requests;
    queue.push_back(std::move(c));
    dispatch();
  }

  // Handlers run on the loop, never inside the caller's call, and never after stop().
  void finish(const std::shared_ptr<Call>& c, etcd::Result<Raw> r) {
    asio::post(io, [self = shared_from_this(), c, r = std::move(r)]() mutable {
      if (!self->stopped) c->done(std::move(r));
    });
  }

  void dispatch() {
    if (stopped) return;
    for (auto& conn : conns) {
      if (conn->call) continue;
      std::shared_ptr<Call> c = take_ready_call();
      if (!c) return;
      conn->call = std::move(c);
      run(conn);
    }
  }

  std::shared_ptr<Call> take_ready_call() {
    bool waiting_for_token = false;
    for (auto it = queue.begin(); it != queue.end(); ++it) {
      if ((*it)->needs_token && needs_auth() && token.empty()) {
        waiting_for_token = true;
        continue;
      }
      auto c = std::move(*it);
      queue.erase(it);
      return c;
    }
    if (waiting_for_token && !authenticating) {
      authenticate();  // queues the authenticate call first: it needs no token
      return take_ready_call();
    }
    return nullptr;
  }

  // An idle keep-alive connection etcd closed (a restart, its idle timeout): reconnect before
  // sending rather than write into it and call the outcome ambiguous.
  static bool peer_closed(Conn& conn) {
    char byte = 0;
    const auto n = ::recv(conn.socket.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

  void run(const std::shared_ptr<Conn>& conn) {
    if (Clock::now() >= conn->call->deadline) {
      fail(conn, make_error(Error::Kind::not_sent, "deadline passed before the request could be sent",
                            etcd::Code::deadline_exceeded));
      return;
    }
    if (conn->connected && peer_closed(*conn)) conn->close();
    if (conn->connected) {
      send(conn);
    } else {
      connect(conn, 0);
    }
  }

  void fail(const std::shared_ptr<Conn>& conn, Error e) {
    ++counters.failures;
    if (e.kind == Error::Kind::ambiguous) ++counters.ambiguous;
    auto c = std::move(conn->call);
    conn->call.reset();
    finish(c, etcd::Result<Raw>::failure(std::move(e)));
    dispatch();
  }

  // Tries the endpoints in turn from next_endpoint; after a whole round failed, waits 50 ms and
  // goes again while the call's deadline allows.
  void connect(const std::shared_ptr<Conn>& conn, std::size_t tried) {
    const std::size_t index = next_endpoint % endpoints.size();
    conn->endpoint = index;
    const Endpoint& ep = endpoints[index];
    const std::uint64_t gen = ++conn->generation;
    conn->timed_out = false;
    conn->timer.expires_after(options.connect_timeout);
    conn->timer.async_wait([self = shared_from_this(), conn, gen](const boost::system::error_code& ec) {
      if (ec || self->stopped || conn->generation != gen) return;
      conn->timed_out = true;
      conn->close();
    });
    auto on_fail = [self = shared_from_this(), conn, gen, tried](const std::string& why) {
      if (self->stopped || conn->generation != gen) return;
      conn->timer.cancel();
      conn->close();
      self->next_endpoint = (conn->endpoint + 1) % self->endpoints.size();
      const std::string message = "etcd " + self->endpoints[conn->endpoint].text + ": " +
                                  (conn->timed_out ? std::string("connect timed out") : why);
      if (tried + 1 < self->endpoints.size()) {
        ++self->counters.retries;
        self->connect(conn, tried + 1);
        return;
      }
      if (Clock::now() + std::chrono::milliseconds(50) >= conn->call->deadline) {
        self->fail(conn, make_error(Error::Kind::not_sent, "no etcd endpoint reachable (last: " + message + ")"));
        return;
      }
      // A round over every endpoint failed: the call goes back to the queue's front and waits.
      ++self->counters.retries;
      self->queue.push_front(std::move(conn->call));
      conn->call.reset();
      self->pause_then_dispatch();
    };
    conn->resolver.async_resolve(
        ep.host, ep.port,
        [self = shared_from_this(), conn, gen, on_fail](const boost::system::error_code& ec,
                                                        const tcp::resolver::results_type& results) {
          if (self->stopped || conn->generation != gen) return;
          if (ec) {
            on_fail("resolve: " + ec.message());
            return;
          }
          asio::async_connect(conn->socket, results,
                              [self, conn, gen, on_fail](const boost::system::error_code& ec, const tcp::endpoint&) {
                                if (self->stopped || conn->generation != gen) return;
                                if (ec) {
                                  on_fail(ec.message());
                                  return;
                                }
                                conn->timer.cancel();
                                conn->connected = true;
                                ++self->counters.connects;
                                boost::system::error_code ignored;
                                conn->socket.set_option(tcp::no_delay(true), ignored);
                                self->send(conn);
                              });
        });
  }

  void pause_then_dispatch() {
    if (retry_armed) return;
    retry_armed = true;
    retry.expires_after(std::chrono::milliseconds(50));
    retry.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      self->retry_armed = false;
      if (!ec) self->dispatch();
    });
  }

  void send(const std::shared_ptr<Conn>& conn) {
    const std::shared_ptr<Call>& c = conn->call;
    const std::uint64_t gen = ++conn->generation;
    conn->timed_out = false;
    conn->req = make_request(endpoints[conn->endpoint], c->path, c->body, c->needs_token ? token : std::string{});
    conn->parser.emplace();
    conn->parser->body_limit(options.max_response_bytes);
    conn->timer.expires_at(c->deadline);
    conn->timer.async_wait([self = shared_from_this(), conn, gen](const boost::system::error_code& ec) {
      if (ec || self->stopped || conn->generation != gen) return;
      conn->timed_out = true;
      conn->close();
    });
    http::async_write(conn->socket, conn->req,
                      [self = shared_from_this(), conn, gen](const boost::system::error_code& ec, std::size_t) {
                        if (self->stopped || conn->generation != gen) return;
                        if (ec) {
                          self->lost(conn, ec);
                          return;
                        }
                        http::async_read(conn->socket, conn->buffer, *conn->parser,
                                         [self, conn, gen](const boost::system::error_code& ec, std::size_t) {
                                           if (self->stopped || conn->generation != gen) return;
                                           if (ec) {
                                             self->lost(conn, ec);
                                             return;
                                           }
                                           self->answered(conn);
                                         });
                      });
  }

  // The connection failed after the request was (maybe partly) written: etcd may have applied it.
  void lost(const std::shared_ptr<Conn>& conn, const boost::system::error_code& ec) {
    conn->timer.cancel();
    const bool timed_out = conn->timed_out;
    conn->close();
    const Endpoint& ep = endpoints[conn->endpoint];
    next_endpoint = (conn->endpoint + 1) % endpoints.size();
    const std::string message =
        "etcd " + ep.text + ": " +
        (timed_out ? "no answer before the deadline" : "connection lost before the answer (" + ec.message() + ")");
    if (conn->call->idempotent && Clock::now() < conn->call->deadline) {
      ++counters.retries;
      queue.push_front(std::move(conn->call));
      conn->call.reset();
      pause_then_dispatch();
      return;
    }
    fail(conn, make_error(Error::Kind::ambiguous, message,
                          timed_out ? etcd::Code::deadline_exceeded : etcd::Code::unavailable));
  }

  void answered(const std::shared_ptr<Conn>& conn) {
    conn->timer.cancel();
    auto res = conn->parser->release();
    if (!res.keep_alive()) conn->close();
    auto c = std::move(conn->call);
    conn->call.reset();
    if (c->needs_token && needs_auth() && res.result_int() != 200 && is_auth_failure(res.body()) &&
        c->auth_retries == 0) {
      // The token expired (etcd's simple tokens do after 5 minutes idle): authenticate again, once.
      ++c->auth_retries;
      ++counters.retries;
      token.clear();
      queue.push_front(std::move(c));
      dispatch();
      return;
    }
    finish(c, etcd::Result<Raw>::success(Raw{res.result_int(), std::move(res.body())}));
    dispatch();
  }

  void authenticate() {
    authenticating = true;
    auto c = std::make_shared<Call>();
    c->path = etcd::authenticate_path;
    c->body = etcd::encode_authenticate(options.user, options.password);
    c->idempotent = true;
    c->needs_token = false;
    c->deadline = Clock::now() + options.request_timeout;
    c->done = [this](etcd::Result<Raw> r) {  // runs only while not stopped: `this` is alive
      authenticating = false;
      std::optional<Error> error;
      if (!r.ok()) {
        error = r.error;
      } else {
        auto a = etcd::decode_authenticate(r.value->body);
        if (a.ok()) {
          token = a.value->token;
        } else {
          error = a.error;
        }
      }
      if (error) {
        // Every call waiting for a token fails with the reason (a wrong password is not retried).
        error->message = "etcd authentication: " + error->message;
        for (auto it = queue.begin(); it != queue.end();) {
          if ((*it)->needs_token) {
            finish(*it, etcd::Result<Raw>::failure(*error));
            ++counters.failures;
            it = queue.erase(it);
          } else {
            ++it;
          }
        }
      }
      auto waiters = std::move(token_waiters);
      token_waiters.clear();
      for (auto& w : waiters) w(error);
      dispatch();
    };
    queue.push_front(std::move(c));
  }

  // Runs `then` once a token is there (at once when auth is off or a token is held).
  void with_token(std::function<void(std::optional<Error>)> then) {
    if (!needs_auth() || !token.empty()) {
      then(std::nullopt);
      return;
    }
    token_waiters.push_back(std::move(then));
    if (!authenticating) {
      authenticate();
      dispatch();
    }
  }

  void stop() {
    if (stopped) return;
    stopped = true;
    retry.cancel();
    for (auto& conn : conns) {
      conn->timer.cancel();
      conn->close();
      conn->call.reset();
    }
    queue.clear();
    token_waiters.clear();
  }

  template <class T, class Decode>
  void unary(std::string_view path, std::string body, bool idempotent, Handler<T> done, Decode decode) {
    auto c = std::make_shared<Call>();
    c->path = path;
    c->body = std::move(body);
    c->idempotent = idempotent;
    c->deadline = Clock::now() + options.request_timeout;
    c->done = [this, done = std::move(done), decode](etcd::Result<Raw> r) {
      if (!r.ok()) {
        done(etcd::Result<T>::failure(std::move(r.error)));
        return;
      }
      etcd::Result<T> out = decode(r.value->body);
      if (r.value->status != 200) {
        if (out.ok()) {
          out = etcd::Result<T>::failure(
              make_error(Error::Kind::protocol, "HTTP " + std::to_string(r.value->status) + " with an answer body"));
        } else if (out.error.kind == Error::Kind::protocol) {
          out.error.message = "HTTP " + std::to_string(r.value->status) + ": " + r.value->body.substr(0, 200);
        }
      }
      if (!out.ok()) ++counters.failures;
      done(std::move(out));
    };
    if (auto refused = etcd::check_size(c->body.size())) {
      ++counters.requests;
      ++counters.failures;
      finish(c, etcd::Result<Raw>::failure(*refused));
      return;
    }
    submit(std::move(c));
  }
};


}  // namespace tradeshard::cluster

// The etcd client (include/tradeshard/cluster/etcd_client.hpp): unary calls on a few keep-alive
// connections, one connection per stream, everything on the loop thread.
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

namespace {

struct Endpoint {
  std::string host;
  std::string port;
  std::string text;  // as configured, for messages
};

Endpoint parse_endpoint(const std::string& url) {
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

Error make_error(Error::Kind kind, std::string message, etcd::Code code = etcd::Code::unavailable) {
  return Error{kind, code, std::move(message)};
}

http::request<http::string_body> make_request(const Endpoint& ep, std::string_view path, std::string body,
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

bool is_auth_failure(const std::string& body) {
  const auto r = etcd::decode_header_only(body);
  return !r.ok() && r.error.kind == Error::Kind::etcd &&
         (r.error.code == etcd::Code::unauthenticated || r.error.message.find("invalid auth token") != std::string::npos);
}

// A raw answer: HTTP status and body.
struct Raw {
  unsigned status = 0;
  std::string body;
};

}  // namespace

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

// ---------------------------------------------------------------------------------------------
// Streams: one connection each, the answer read as it comes (chunk by chunk).

namespace {

struct StreamState : std::enable_shared_from_this<StreamState> {
  StreamState(std::shared_ptr<EtcdClient::Impl> client, std::string path, std::string body)
      : client(std::move(client)),
        socket(this->client->io),
        resolver(this->client->io),
        timer(this->client->io),
        path(std::move(path)),
        body(std::move(body)) {}

  std::shared_ptr<EtcdClient::Impl> client;
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  std::string path;
  std::string body;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  http::request<http::string_body> req;
  etcd::StreamSplitter splitter;
  // Beast keeps a reference to the chunk callback: it lives here, as long as the parser.
  std::function<std::size_t(std::uint64_t, std::string_view, boost::system::error_code&)> on_chunk =
      [this](std::uint64_t, std::string_view data, boost::system::error_code&) {
        splitter.feed(data);
        return data.size();
      };
  std::size_t endpoint = 0;
  std::size_t tried = 0;
  bool closed = false;
  bool sent = false;
  // Each message of a streamed answer; or, for a single answer (campaign), its whole body.
  std::function<void(std::string&&)> on_message;
  std::function<void(unsigned status, std::string&&)> on_body;
  std::function<void(Error)> on_end;

  bool dead() const { return closed || client->stopped; }

  void close() {
    closed = true;
    boost::system::error_code ignored;
    timer.cancel();
    resolver.cancel();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  void end(Error e) {
    if (dead()) return;
    close();
    if (on_end) on_end(std::move(e));
  }

  void start() {
    auto self = shared_from_this();
    ++client->counters.streams;
    client->with_token([self](std::optional<Error> error) {
      if (self->dead()) return;
      if (error) {
        self->end(*error);
        return;
      }
      self->endpoint = self->client->next_endpoint % self->client->endpoints.size();
      self->connect();
    });
  }

  void connect() {
    auto self = shared_from_this();
    const Endpoint& ep = client->endpoints[endpoint];
    timer.expires_after(client->options.connect_timeout);
    timer.async_wait([self](const boost::system::error_code& ec) {
      if (!ec && !self->dead() && !self->sent) {
        boost::system::error_code ignored;
        self->resolver.cancel();
        self->socket.close(ignored);
      }
    });
    resolver.async_resolve(ep.host, ep.port,
                           [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
                             if (self->dead()) return;
                             if (ec) {
                               self->next(ec.message());
                               return;
                             }
                             asio::async_connect(self->socket, results,
                                                 [self](const boost::system::error_code& ec, const tcp::endpoint&) {
                                                   if (self->dead()) return;
                                                   if (ec) {
                                                     self->next(ec.message());
                                                     return;
                                                   }
                                                   ++self->client->counters.connects;
                                                   self->send();
                                                 });
                           });
  }

  void next(const std::string& why) {
    boost::system::error_code ignored;
    socket.close(ignored);
    if (++tried < client->endpoints.size()) {
      endpoint = (endpoint + 1) % client->endpoints.size();
      connect();
      return;
    }
    end(make_error(Error::Kind::not_sent,
                   "no etcd endpoint reachable (last: " + client->endpoints[endpoint].text + ": " + why + ")"));
  }

  void send() {
    auto self = shared_from_this();
    sent = true;
    timer.cancel();
    req = make_request(client->endpoints[endpoint], path, body, client->token);
    parser.emplace();
    // A stream's answer never ends by itself: no limit. (Not boost::none: Beast 1.74 compares a
    // Content-Length against the optional and refuses every length when it is none.)
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    // A streamed (chunked) answer's bytes go to the splitter, not into the body. (The parser is
    // this state's own: `this` outlives every call it makes.)
    if (on_message) parser->on_chunk_body(on_chunk);
    http::async_write(socket, req, [self](const boost::system::error_code& ec, std::size_t) {
      if (self->dead()) return;
      if (ec) {
        self->end(make_error(Error::Kind::ambiguous, "etcd stream: " + ec.message()));
        return;
      }
      self->read();
    });
  }

  void read() {
    auto self = shared_from_this();
    http::async_read_some(socket, buffer, *parser, [self](const boost::system::error_code& ec, std::size_t) {
      if (self->dead()) return;
      if (!self->deliver()) return;
      if (ec) {
        self->end(make_error(Error::Kind::ambiguous, "etcd stream to " + self->client->endpoints[self->endpoint].text +
                                                         " lost: " + ec.message()));
        return;
      }
      if (self->parser->is_done()) {
        auto res = self->parser->release();
        if (self->on_body) {
          auto done = std::move(self->on_body);
          self->close();
          done(res.result_int(), std::move(res.body()));
          return;
        }
        // A stream the gateway ended: an error answer (perhaps without its final '\n'), or the end.
        std::string last = res.body().empty() ? self->splitter.take_rest() : std::move(res.body());
        auto r = etcd::decode_header_only(last);
        self->end(!r.ok() && r.error.kind == Error::Kind::etcd
                      ? r.error
                      : make_error(Error::Kind::ambiguous, "etcd ended the stream (HTTP " +
                                                               std::to_string(res.result_int()) + ")"));
        return;
      }
      self->read();
    });
  }

  // Hands every whole message to on_message; false when the stream is done for.
  bool deliver() {
    while (on_message) {
      auto m = splitter.next();
      if (!m) break;
      if (m->empty()) continue;
      on_message(std::move(*m));
      if (dead()) return false;
    }
    if (splitter.overflowed()) {
      end(make_error(Error::Kind::protocol, "etcd stream message over 64 MiB"));
      return false;
    }
    return true;
  }
};

class StreamHandle final : public EtcdClient::Stream {
 public:
  explicit StreamHandle(std::shared_ptr<StreamState> s) : s_(std::move(s)) {}
  // Only closes: the callbacks may be running this very destructor; none runs after it.
  ~StreamHandle() override { s_->close(); }

 private:
  std::shared_ptr<StreamState> s_;
};

}  // namespace

// ---------------------------------------------------------------------------------------------

EtcdClient::EtcdClient(asio::io_context& io, EtcdOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

EtcdClient::~EtcdClient() { impl_->stop(); }

void EtcdClient::stop() { impl_->stop(); }
const EtcdCounters& EtcdClient::counters() const noexcept { return impl_->counters; }
const std::vector<std::string>& EtcdClient::endpoints() const noexcept { return impl_->options.endpoints; }

void EtcdClient::range(etcd::RangeRequest r, Handler<etcd::RangeResponse> done) {
  impl_->unary<etcd::RangeResponse>(etcd::range_path, etcd::encode(r), true, std::move(done), etcd::decode_range);
}
void EtcdClient::put(etcd::PutRequest r, Handler<etcd::PutResponse> done) {
  impl_->unary<etcd::PutResponse>(etcd::put_path, etcd::encode(r), false, std::move(done), etcd::decode_put);
}
void EtcdClient::del(etcd::DeleteRequest r, Handler<etcd::DeleteResponse> done) {
  impl_->unary<etcd::DeleteResponse>(etcd::delete_path, etcd::encode(r), false, std::move(done), etcd::decode_delete);
}
void EtcdClient::txn(const etcd::TxnRequest& r, Handler<etcd::TxnResponse> done) {
  std::string body = etcd::encode(r);
  if (auto refused = etcd::check_txn(r, body.size())) {
    asio::post(impl_->io, [impl = impl_, refused = *refused, done = std::move(done)] {
      if (impl->stopped) return;
      ++impl->counters.requests;
      ++impl->counters.failures;
      done(etcd::Result<etcd::TxnResponse>::failure(refused));
    });
    return;
  }
  impl_->unary<etcd::TxnResponse>(etcd::txn_path, std::move(body), false, std::move(done), etcd::decode_txn);
}
void EtcdClient::compact(std::int64_t revision, Handler<etcd::Header> done) {
  impl_->unary<etcd::Header>(etcd::compact_path, etcd::encode_compact(revision, false), false, std::move(done),
                             etcd::decode_header_only);
}
void EtcdClient::lease_grant(std::int64_t ttl_seconds, Handler<etcd::LeaseGrantResponse> done) {
  impl_->unary<etcd::LeaseGrantResponse>(etcd::lease_grant_path, etcd::encode_lease_grant(ttl_seconds), false,
                                         std::move(done), etcd::decode_lease_grant);
}
void EtcdClient::lease_keepalive(std::int64_t id, Handler<etcd::LeaseKeepAliveResponse> done) {
  impl_->unary<etcd::LeaseKeepAliveResponse>(etcd::lease_keepalive_path, etcd::encode_lease_id(id), true,
                                             std::move(done), etcd::decode_lease_keepalive);
}
void EtcdClient::lease_revoke(std::int64_t id, Handler<etcd::LeaseRevokeResponse> done) {
  impl_->unary<etcd::LeaseRevokeResponse>(etcd::lease_revoke_path, etcd::encode_lease_id(id), false,
                                          std::move(done), etcd::decode_lease_revoke);
}
void EtcdClient::leader(std::string election, Handler<etcd::LeaderResponse> done) {
  impl_->unary<etcd::LeaderResponse>(etcd::leader_path, etcd::encode_election_name(election), true, std::move(done),
                                     etcd::decode_leader);
}
void EtcdClient::resign(const etcd::LeaderKey& leader, Handler<etcd::Header> done) {
  impl_->unary<etcd::Header>(etcd::resign_path, etcd::encode_resign(leader), false, std::move(done),
                             etcd::decode_header_only);
}
void EtcdClient::proclaim(const etcd::LeaderKey& leader, std::string value, Handler<etcd::Header> done) {
  impl_->unary<etcd::Header>(etcd::proclaim_path, etcd::encode_proclaim(leader, value), false, std::move(done),
                             etcd::decode_header_only);
}
void EtcdClient::member_list(Handler<etcd::MemberListResponse> done) {
  impl_->unary<etcd::MemberListResponse>(etcd::member_list_path, "{}", true, std::move(done),
                                         etcd::decode_member_list);
}
void EtcdClient::status(Handler<etcd::StatusResponse> done) {
  impl_->unary<etcd::StatusResponse>(etcd::status_path, "{}", true, std::move(done), etcd::decode_status);
}
void EtcdClient::alarms(Handler<etcd::AlarmResponse> done) {
  impl_->unary<etcd::AlarmResponse>(etcd::alarm_path, etcd::encode_alarm_get(), true, std::move(done),
                                    etcd::decode_alarms);
}

std::unique_ptr<EtcdClient::Stream> EtcdClient::watch(etcd::WatchRequest r,
                                                      std::function<void(etcd::WatchMessage)> on_message,
                                                      std::function<void(etcd::Error)> on_end) {
  auto s = std::make_shared<StreamState>(impl_, std::string(etcd::watch_path), etcd::encode(r));
  StreamState* raw = s.get();  // the callbacks are the state's own: cleared before it goes
  s->on_end = std::move(on_end);
  s->on_message = [raw, on_message = std::move(on_message)](std::string&& m) {
    auto w = etcd::decode_watch(m);
    if (!w.ok()) {
      raw->end(w.error);
      return;
    }
    const bool canceled = w.value->canceled;
    Error why{Error::Kind::etcd, w.value->compact_revision > 0 ? etcd::Code::out_of_range : etcd::Code::cancelled,
              w.value->compact_revision > 0
                  ? "watch start revision compacted (compact_revision " + std::to_string(w.value->compact_revision) + ")"
                  : "watch canceled by etcd: " + w.value->cancel_reason};
    on_message(std::move(*w.value));
    if (canceled) raw->end(std::move(why));
  };
  s->start();
  return std::make_unique<StreamHandle>(std::move(s));
}

std::unique_ptr<EtcdClient::Stream> EtcdClient::campaign(std::string election, std::int64_t lease, std::string value,
                                                         Handler<etcd::CampaignResponse> done) {
  auto s = std::make_shared<StreamState>(impl_, std::string(etcd::campaign_path),
                                         etcd::encode_campaign(election, lease, value));
  auto shared_done = std::make_shared<Handler<etcd::CampaignResponse>>(std::move(done));
  s->on_body = [shared_done](unsigned status, std::string&& body) {
    auto r = etcd::decode_campaign(body);
    if (r.ok() && status != 200) {
      r = etcd::Result<etcd::CampaignResponse>::failure(
          make_error(Error::Kind::protocol, "campaign: HTTP " + std::to_string(status)));
    }
    (*shared_done)(std::move(r));
  };
  s->on_end = [shared_done](Error e) { (*shared_done)(etcd::Result<etcd::CampaignResponse>::failure(std::move(e))); };
  s->start();
  return std::make_unique<StreamHandle>(std::move(s));
}

std::unique_ptr<EtcdClient::Stream> EtcdClient::observe(std::string election,
                                                        std::function<void(etcd::LeaderResponse)> on_leader,
                                                        std::function<void(etcd::Error)> on_end) {
  auto s = std::make_shared<StreamState>(impl_, std::string(etcd::observe_path), etcd::encode_election_name(election));
  StreamState* raw = s.get();
  s->on_end = std::move(on_end);
  s->on_message = [raw, on_leader = std::move(on_leader)](std::string&& m) {
    auto l = etcd::decode_leader(m);
    if (!l.ok()) {
      raw->end(l.error);
      return;
    }
    on_leader(std::move(*l.value));
  };
  s->start();
  return std::make_unique<StreamHandle>(std::move(s));
}

}  // namespace tradeshard::cluster

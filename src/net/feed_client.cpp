#include "feed_client.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <type_traits>

#include "tradeshard/app/gateway.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

using PlainWs = websocket::stream<beast::tcp_stream>;
using TlsWs = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;

// Resolve + TCP connect + TLS handshake together; the WebSocket handshake has Beast's own timeout.
constexpr auto connect_timeout = std::chrono::seconds(10);
// Silence after which Beast pings, and twice that closes: how a dead feed is noticed.
constexpr auto idle_timeout = std::chrono::seconds(20);
constexpr std::size_t max_frame_bytes = 1u << 20;
constexpr std::size_t decoder_padding = 64;

std::shared_ptr<spdlog::logger> feed_log() {
  auto l = spdlog::get("feed");
  return l ? l : spdlog::default_logger();
}

bool is_ip_literal(const std::string& host) {
  boost::system::error_code ec;
  (void)boost::asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

const char* to_string(FeedState s) noexcept {
  switch (s) {
    case FeedState::connecting: return "connecting";
    case FeedState::connected: return "connected";
    case FeedState::backoff: return "backoff";
    case FeedState::stopped: return "stopped";
  }
  return "?";
}

// One connection attempt; handlers hold it alive, so a stream is never destroyed under an operation.
struct FeedClient::Conn {
  Conn(boost::asio::io_context& io, ssl::context* tls) : resolver(io) {
    if (tls) tls_ws = std::make_unique<TlsWs>(io, *tls);
    else plain_ws = std::make_unique<PlainWs>(io);
  }
  template <class F>
  void with_ws(F&& f) {
    if (tls_ws) f(*tls_ws);
    else f(*plain_ws);
  }
  // Behind = bytes of later frames already wait below us (kernel socket or TLS record buffer).
  // `frame_bytes` = payload of the frame just read. Plain ws:// skips the ioctl while bytes the
  // last one saw queued are certainly not all consumed: a frame takes at most its payload plus
  // a 14-byte header of them (no compression is negotiated). Keeps a syscall per frame off the
  // burst path. TLS asks every time: record overhead makes the kernel count overstate the frames.
  bool behind(std::size_t frame_bytes) {
    constexpr std::size_t max_header = 14;
    if (!tls_ws && known_ahead > frame_bytes + max_header) {
      known_ahead -= frame_bytes + max_header;
      return true;
    }
    boost::system::error_code ec;
    std::size_t n = 0;
    with_ws([&](auto& ws) { n = beast::get_lowest_layer(ws).socket().available(ec); });
    if (tls_ws) n += static_cast<std::size_t>(std::max(0, SSL_pending(tls_ws->next_layer().native_handle())));
    known_ahead = ec ? 0 : n;
    return known_ahead > 0;
  }
  void close() {
    with_ws([](auto& ws) {
      boost::system::error_code ec;
      beast::get_lowest_layer(ws).socket().shutdown(tcp::socket::shutdown_both, ec);
      beast::get_lowest_layer(ws).close();
    });
  }

  tcp::resolver resolver;
  std::unique_ptr<PlainWs> plain_ws;
  std::unique_ptr<TlsWs> tls_ws;
  beast::flat_buffer buffer;
  std::size_t known_ahead = 0;  // kernel bytes seen queued behind the current frame, not yet consumed
  std::string verify_note;  // why the certificate was refused, for the log
  std::chrono::steady_clock::time_point up_since{};
  bool delivered = false;
};

FeedClient::FeedClient(boost::asio::io_context& io, const app::FeedConfig& config, app::Gateway& gateway,
                       std::function<void()> after_ticks, std::uint64_t seed)
    : io_(io), config_(config), gateway_(gateway), after_ticks_(std::move(after_ticks)), retry_(io),
      flush_timer_(io),
      backoff_(100, std::max<std::uint32_t>(config.max_backoff_ms, 100)), rng_(seed) {
  auto parsed = parse_feed_url(config.url);
  if (!parsed) throw std::runtime_error("feeds: malformed url \"" + config.url + "\"");
  url_ = std::move(*parsed);
  if (url_.tls) {
    tls_ = std::make_unique<ssl::context>(ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(tls_->native_handle(), TLS1_2_VERSION);
    tls_->set_default_verify_paths();
    if (!config.ca_file.empty()) {
      boost::system::error_code ec;
      tls_->load_verify_file(config.ca_file, ec);
      if (ec) throw std::runtime_error("feeds: ca_file \"" + config.ca_file + "\": " + ec.message());
    }
    tls_->set_verify_mode(ssl::verify_peer);
  }
}

FeedClient::~FeedClient() = default;

void FeedClient::start() {
  stopped_ = false;
  connect();
}

void FeedClient::stop() {
  if (stopped_) return;
  stopped_ = true;
  state_ = FeedState::stopped;
  retry_.cancel();
  flush_timer_.cancel();
  if (conn_) conn_->close();
  conn_.reset();
}

void FeedClient::connect() {
  state_ = FeedState::connecting;
  auto c = std::make_shared<Conn>(io_, tls_.get());
  conn_ = c;
  c->resolver.async_resolve(url_.host, url_.port, [self = shared_from_this(), c](const boost::system::error_code& ec,
                                                                                 tcp::resolver::results_type results) {
    if (self->stale(c)) return;
    if (ec) return self->fail(c, "resolve " + self->url_.host + ": " + ec.message());
    c->with_ws([&](auto& ws) {
      auto& stream = beast::get_lowest_layer(ws);
      stream.expires_after(connect_timeout);
      stream.async_connect(results, [self, c](const boost::system::error_code& ec2, const tcp::endpoint&) {
        if (self->stale(c)) return;
        if (ec2) return self->fail(c, "connect: " + ec2.message());
        if (!c->tls_ws) return self->on_connected(c);
        auto& tls = c->tls_ws->next_layer();
        // SNI: virtual-hosted feeds pick the certificate by it (RFC 6066 forbids IP literals there).
        if (!is_ip_literal(self->url_.host) && !SSL_set_tlsext_host_name(tls.native_handle(), self->url_.host.c_str())) {
          return self->fail(c, "tls: cannot set SNI host name");
        }
        tls.set_verify_callback([c = c.get(), host = self->url_.host](bool preverified, ssl::verify_context& ctx) {
          const bool ok = ssl::host_name_verification(host)(preverified, ctx);
          if (!preverified) {
            c->verify_note = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.native_handle()));
          } else if (!ok) {
            c->verify_note = "certificate does not match host name \"" + host + "\"";
          }
          return ok;
        });
        tls.async_handshake(ssl::stream_base::client, [self, c](const boost::system::error_code& ec3) {
          if (self->stale(c)) return;
          if (ec3) {
            return self->fail(c, "tls handshake: " + ec3.message() +
                                     (c->verify_note.empty() ? "" : " (" + c->verify_note + ")"));
          }
          self->on_connected(c);
        });
      });
    });
  });
}

// TCP (and TLS) is up: WebSocket handshake, then the subscribe frame and the read loop.
void FeedClient::on_connected(const std::shared_ptr<Conn>& c) {
  c->with_ws([&](auto& ws) {
    beast::get_lowest_layer(ws).expires_never();  // the websocket stream's own timeouts take over
    auto t = websocket::stream_base::timeout::suggested(beast::role_type::client);
    // suggested(client) has no idle timeout: without one a silently dead feed would hang forever.
    t.idle_timeout = idle_timeout;
    t.keep_alive_pings = true;
    ws.set_option(t);
    ws.read_message_max(max_frame_bytes);
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(beast::http::field::user_agent, "tradeshard/" TRADESHARD_VERSION);
    }));
    ws.async_handshake(url_.host_header(), url_.target, [self = shared_from_this(), c](const beast::error_code& ec) {
      if (self->stale(c)) return;
      if (ec) return self->fail(c, "websocket handshake: " + ec.message());
      self->state_ = FeedState::connected;
      c->up_since = std::chrono::steady_clock::now();
      feed_log()->info("feed {} connected", self->config_.url);
      if (!self->config_.subscribe.empty()) {
        c->with_ws([&](auto& ws2) {
          ws2.text(true);
          ws2.async_write(boost::asio::buffer(self->config_.subscribe),
                          [self, c](const beast::error_code& ec2, std::size_t) {
                            if (self->stale(c)) return;
                            if (ec2) self->fail(c, "subscribe write: " + ec2.message());
                          });
        });
      }
      self->do_read(c);
    });
  });
}

void FeedClient::do_read(const std::shared_ptr<Conn>& c) {
  c->with_ws([&](auto& ws) {
    ws.async_read(c->buffer, [self = shared_from_this(), c, &ws](const beast::error_code& ec, std::size_t) {
      if (self->stale(c)) return;
      if (ec == websocket::error::closed) {
        return self->fail(c, "closed by server (code " + std::to_string(static_cast<unsigned>(ws.reason().code)) + ")");
      }
      if (ec) return self->fail(c, "read: " + ec.message());
      self->on_frame(c);
    });
  });
}

void FeedClient::on_frame(const std::shared_ptr<Conn>& c) {
  ++counters_.messages;
  c->delivered = true;
  bool text = true;
  c->with_ws([&](auto& ws) { text = ws.got_text(); });
  const auto data = c->buffer.cdata();
  frame_.assign(static_cast<const char*>(data.data()), data.size());
  const std::size_t len = frame_.size();
  frame_.resize(len + decoder_padding, '\0');
  c->buffer.consume(c->buffer.size());
  const bool behind = config_.conflate && c->behind(len);
  const auto r = text ? decoder_.decode(std::string_view(frame_.data(), len), decoder_padding)
                      : FrameResult{FrameKind::bad, {}, "binary frame"};
  if (r.kind == FrameKind::tick) {
    handle_tick(r.tick, behind);
  } else {
    if (r.kind == FrameKind::control) {
      ++counters_.control;
    } else {
      ++counters_.bad_frames;
      ++counters_.errors;
      counters_.last_error = std::string(r.error);
      feed_log()->debug("feed {} bad frame: {}", config_.url, r.error);
    }
    if (!behind && !batch_.empty()) flush_batch();
  }
  do_read(c);
}

void FeedClient::handle_tick(const app::TickCmd& t, bool behind) {
  ++counters_.ticks;
  if (!config_.conflate || (!behind && batch_.empty())) {
    gateway_.ticks().on_tick(0, t, now());
    ++counters_.processed;
    after_ticks_();
    return;
  }
  if (batch_.empty()) {
    // "Behind" can stay true with no data frame to follow (a ping or a partial frame queued):
    // the timer bounds how long a batched tick can wait for the next frame.
    flush_timer_.expires_after(max_batch_delay);
    flush_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec && !self->stopped_ && !self->batch_.empty()) self->flush_batch();
    });
  }
  if (batch_.put(t)) ++counters_.conflated;
  ++batch_frames_;
  if (!behind || batch_frames_ >= max_batch_frames) flush_batch();
}

void FeedClient::flush_batch() {
  const auto at = now();
  batch_.drain([&](const app::TickCmd& t) {
    gateway_.ticks().on_tick(0, t, at);
    ++counters_.processed;
  });
  batch_frames_ = 0;
  after_ticks_();
}

void FeedClient::fail(const std::shared_ptr<Conn>& c, const std::string& reason) {
  if (stale(c)) return;
  if (!batch_.empty()) flush_batch();  // those ticks were received intact: not lost with the socket
  ++counters_.errors;
  counters_.last_error = reason;
  const bool healthy = c->delivered && std::chrono::steady_clock::now() - c->up_since >= stable_after;
  if (healthy) backoff_.reset();
  c->close();
  conn_.reset();
  const auto delay = backoff_.next_ms(rng_);
  state_ = FeedState::backoff;
  feed_log()->warn("feed {}: {}; reconnecting in {} ms (attempt {})", config_.url, reason, delay,
                   backoff_.attempt());
  retry_.expires_after(std::chrono::milliseconds(delay));
  retry_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (ec || self->stopped_) return;
    ++self->counters_.reconnects;
    self->connect();
  });
}

nlohmann::json FeedClient::stats_json() const {
  const auto& k = counters_;
  return {{"url", config_.url},        {"state", to_string(state_)}, {"messages", k.messages},
          {"ticks", k.ticks},          {"processed", k.processed},   {"conflated", k.conflated},
          {"bad_frames", k.bad_frames}, {"control", k.control},      {"errors", k.errors},
          {"reconnects", k.reconnects}, {"last_error", k.last_error}};
}

}  // namespace tradeshard::net

#include "tradeshard/net/server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/address.hpp>

#include "http_api.hpp"
#include "http_session.hpp"
#include "tcp_session.hpp"
#include "tradeshard/app/gateway.hpp"
#include "wall_clock.hpp"

#include <boost/asio/post.hpp>

namespace tradeshard::net {
namespace asio = boost::asio;
using asio::ip::tcp;

namespace {
tcp::endpoint endpoint_of(const app::Endpoint& e) {
  boost::system::error_code ec;
  auto addr = asio::ip::make_address(e.host == "localhost" ? "127.0.0.1" : e.host, ec);
  if (ec) throw std::runtime_error("cannot parse listen address \"" + e.host + "\"");
  return {addr, e.port};
}

void open_acceptor(tcp::acceptor& a, const app::Endpoint& e, const char* what) {
  const auto ep = endpoint_of(e);
  boost::system::error_code ec;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    throw std::runtime_error(std::string("listen.") + what + ": cannot listen on " + e.host + ":" +
                             std::to_string(e.port) + ": " + ec.message());
  }
}
}  // namespace

Server::Server(asio::io_context& io, const app::Config& config, app::Gateway& gateway)
    : io_(io),
      config_(config),
      gateway_(gateway),
      http_api_(std::make_unique<HttpApi>(config_.admin_token, stats_, gateway)),
      tcp_acceptor_(io),
      http_acceptor_(io),
      sweep_timer_(io),
      stop_timer_(io),
      ack_gated_(config.ledger.ack_after != app::AckAfter::write) {}

Server::~Server() = default;

void Server::start(bool client_listener, int http_fd) {
  if (client_listener) open_acceptor(tcp_acceptor_, config_.tcp, "tcp");
  if (http_fd >= 0) {
    boost::system::error_code ec;
    http_acceptor_.assign(endpoint_of(config_.http).protocol(), http_fd, ec);
    if (ec) throw std::runtime_error("listen.http: cannot take over the HTTP listener: " + ec.message());
  } else {
    open_acceptor(http_acceptor_, config_.http, "http");
  }
  auto log = spdlog::get("net");
  if (client_listener) {
    log->info("listening tcp {}:{} (JSON lines), http {}:{} (JSON, /metrics, WebSocket /ws)", config_.tcp.host,
              tcp_port(), config_.http.host, http_port());
    accept_tcp();
  } else {
    log->info("listening http {}:{} (reads only: this process follows the leading gateway)", config_.http.host,
              http_port());
  }
  accept_http();
  sweep();
}

int Server::release_http() {
  if (!http_acceptor_.is_open()) return -1;
  boost::system::error_code ec;
  const int fd = http_acceptor_.release(ec);  // the pending accept ends with operation_aborted
  return ec ? -1 : fd;
}

std::uint16_t Server::tcp_port() const { return tcp_acceptor_.is_open() ? tcp_acceptor_.local_endpoint().port() : 0; }
std::uint16_t Server::http_port() const {
  return http_acceptor_.is_open() ? http_acceptor_.local_endpoint().port() : 0;
}

std::uint64_t Server::undurable_commit() const {
  const auto committed = gateway_.ledger().coordinator().committed_version();
  return committed > durable_ ? committed : 0;
}

void Server::wait_durable(std::uint64_t version, const std::shared_ptr<SessionBase>& s) {
  if (durability_failed_) {
    s->abandon("the ledger's fsync failed");
    return;
  }
  durable_waiters_.emplace_back(version, s);
}

void Server::on_durable(std::uint64_t version) {
  if (version <= durable_) return;
  durable_ = version;
  // Released in the order they began waiting; each writes what is safe now (a handler of the
  // loop's own: no Gateway call is in progress).
  std::vector<std::shared_ptr<SessionBase>> ready;
  std::erase_if(durable_waiters_, [&](const auto& w) {
    if (w.first > durable_) return false;
    if (auto s = w.second.lock()) ready.push_back(std::move(s));
    return true;
  });
  for (const auto& s : ready) s->durable_ready();
}

void Server::durability_failed() {
  durability_failed_ = true;
  auto waiters = std::move(durable_waiters_);
  durable_waiters_.clear();
  for (const auto& w : waiters) {
    if (auto s = w.second.lock()) s->abandon("the ledger's fsync failed");
  }
}

bool Server::admit_connection() {
  if (stats_.connections_open >= config_.limits.max_connections) {
    ++stats_.connections_rejected;
    spdlog::get("net")->warn("connection refused: limits.max_connections ({}) reached", config_.limits.max_connections);
    return false;
  }
  return true;
}

void Server::accept_tcp() {
  tcp_acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) return;
      spdlog::get("net")->warn("tcp accept failed: {}", ec.message());
    } else if (!stopping_ && admit_connection()) {
      auto s = std::make_shared<TcpSession>(*this, next_session_id(), std::move(socket));
      add(s);
      s->start();
    }
    if (!stopping_) accept_tcp();
  });
}

void Server::accept_http() {
  http_acceptor_.async_accept([this](const boost::system::error_code& ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping_) return;
      spdlog::get("http")->warn("http accept failed: {}", ec.message());
    } else if (!stopping_ && admit_connection()) {
      // Replies (and WebSocket frames after an upgrade) must not wait for the peer's delayed ACK.
      boost::system::error_code nd;
      socket.set_option(tcp::no_delay(true), nd);
      auto s = std::make_shared<HttpSession>(*this, next_session_id(), std::move(socket));
      add(s);
      s->start();
    }
    if (!stopping_) accept_http();
  });
}

void Server::add(const std::shared_ptr<SessionBase>& s) {
  sessions_[s->id()] = s;
  ++stats_.connections_open;
  ++stats_.connections_total;
}

void Server::add(const std::shared_ptr<HttpSession>& s) {
  http_sessions_[s->id()] = s;
  ++stats_.connections_open;
  ++stats_.connections_total;
}

void Server::remove(std::uint64_t id) {
  if (sessions_.erase(id) + http_sessions_.erase(id) > 0) --stats_.connections_open;
  if (stopping_) maybe_done();
}

void Server::schedule_pump() {
  if (pump_posted_ || !gateway_.has_pending_work()) return;
  pump_posted_ = true;
  // Posted, not run inline: a batch per turn lets reads and writes interleave with matching.
  asio::post(io_, [this] {
    pump_posted_ = false;
    if (gateway_.pump(now())) schedule_pump();
  });
}

void Server::pump_now() {
  if (pump_posted_ || !gateway_.has_pending_work()) return;
  if (gateway_.pump(now())) schedule_pump();
}

void Server::sweep() {
  sweep_timer_.expires_after(std::chrono::seconds(1));
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    const auto now = std::chrono::steady_clock::now();
    std::vector<std::shared_ptr<SessionBase>> live;
    for (auto& [id, w] : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
    for (auto& s : live) s->check_idle(now);
    sweep();
  });
}

void Server::stop(std::function<void()> on_done) {
  if (stopping_) return;
  stopping_ = true;
  on_done_ = std::move(on_done);
  boost::system::error_code ec;
  tcp_acceptor_.close(ec);
  http_acceptor_.close(ec);
  sweep_timer_.cancel();
  std::vector<std::shared_ptr<SessionBase>> live;
  for (auto& [id, w] : sessions_) {
    if (auto s = w.lock()) live.push_back(std::move(s));
  }
  std::vector<std::shared_ptr<HttpSession>> http;
  for (auto& [id, w] : http_sessions_) {
    if (auto s = w.lock()) http.push_back(std::move(s));
  }
  spdlog::get("net")->info("shutdown: flushing {} client and {} http connections", live.size(), http.size());
  for (auto& s : live) s->shutdown();
  for (auto& s : http) s->shutdown();
  // Peers that never drain their socket must not hold the exit past the 2 s budget.
  stop_timer_.expires_after(std::chrono::milliseconds(1500));
  stop_timer_.async_wait([this](const boost::system::error_code& e) {
    if (e) return;
    if (!sessions_.empty() || !http_sessions_.empty()) {
      spdlog::get("net")->warn("shutdown: {} connections still flushing after 1.5 s; closing them",
                               sessions_.size() + http_sessions_.size());
    }
    sessions_.clear();
    http_sessions_.clear();
    maybe_done();
  });
  maybe_done();
}

void Server::maybe_done() {
  if (!stopping_ || !sessions_.empty() || !http_sessions_.empty() || !on_done_) return;
  stop_timer_.cancel();
  auto done = std::move(on_done_);
  on_done_ = nullptr;
  done();
}

}  // namespace tradeshard::net

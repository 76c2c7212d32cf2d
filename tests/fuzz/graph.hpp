#pragma once
// Shared by the WebSocket and HTTP fuzz targets: the daemon's object graph as Daemon builds it
// (Gateway + Server on one io_context) from the default config/tradeshard.json, never listening
// (Server::start() is not called), and a client session on it that is not tied to a socket.
#include <boost/asio/io_context.hpp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>

#include "net/session_base.hpp"
#include "tradeshard/app/gateway.hpp"
#include "tradeshard/net/logging.hpp"
#include "tradeshard/net/server.hpp"
#include "tradeshard/protocol/codec.hpp"
#include "tradeshard/protocol/config_loader.hpp"

namespace tradeshard::fuzz {

// Loaded once per process: the repository's default config (TRADESHARD_SOURCE_DIR is set by
// CMake), memory-only ledger (the WAL has its own target), and replication.log_keep at 256
// instead of 100,000: the Coordinator reserves 2 x log_keep change sets up front (tens of MB),
// which per input was nine tenths of the run time; replicas fall back to a snapshot resync past
// 256 versions of lag instead, a path the fuzzer then reaches sooner.
inline const app::Config& default_config() {
  static const app::Config config = [] {
    net::setup_logging("off");
    app::Config c = protocol::load_config_file(TRADESHARD_SOURCE_DIR "/config/tradeshard.json");
    c.ledger.durable = false;
    c.replication.log_keep = 256;
    return c;
  }();
  return config;
}

struct Graph {
  explicit Graph(const app::Config& config) : config(config), gateway(config), server(io, config, gateway) {}
  const app::Config& config;
  boost::asio::io_context io{1};
  app::Gateway gateway;
  net::Server server;
};

// Building a Graph costs about 10 ms under ASan (worker hash rings, the partition ring, the symbol
// map), a hundred times an input's own work, so a target reuses one for up to
// TRADESHARD_FUZZ_GRAPH_REUSE inputs (default 256) and rebuilds it sooner when an input changed
// what later inputs would see (mark_dirty(): an admin action, say). Set
// TRADESHARD_FUZZ_GRAPH_REUSE=1 to give every input a fresh graph, e.g. when reproducing a
// finding that does not reproduce from its input alone.
template <class T>
class Reused {
 public:
  T& get() {
    if (!item_ || dirty_ || uses_ >= limit()) {
      item_.reset();
      item_ = std::make_unique<T>(default_config());
      uses_ = 0;
      dirty_ = false;
    }
    ++uses_;
    return *item_;
  }
  void mark_dirty() noexcept { dirty_ = true; }

 private:
  static unsigned limit() {
    static const unsigned n = [] {
      const char* v = std::getenv("TRADESHARD_FUZZ_GRAPH_REUSE");
      const long n = v ? std::strtol(v, nullptr, 10) : 256;
      return static_cast<unsigned>(n > 0 ? n : 1);
    }();
    return n;
  }
  std::unique_ptr<T> item_;
  unsigned uses_ = 0;
  bool dirty_ = false;
};

// A client session as TcpSession / WsSession are, minus the socket: registered with the
// Gateway, messages through SessionBase::handle_message (rate limit, decoder, Gateway), replies
// through SessionBase::send (counted, encoded, bounded) and handed to `out` as each is encoded.
class Session final : public net::SessionBase {
 public:
  Session(net::Server& server, std::uint64_t id, const char* transport, std::function<void(std::string)> out)
      : SessionBase(server, id, transport), out_(std::move(out)) {
    register_with_gateway();
    write_scheduled_ = true;  // output leaves in encoded(), never through a posted write
  }
  ~Session() override { unregister_from_gateway(); }
  using SessionBase::handle_message;

 private:
  // Never opened: a close has nothing to linger on.
  boost::asio::ip::tcp::socket& lowest_socket() override {
    static boost::asio::io_context io{1};
    static boost::asio::ip::tcp::socket socket{io};
    return socket;
  }
  void encoded(std::size_t from) override {
    out_(pending_.substr(from));
    pending_.clear();
  }
  void do_write() override {}
  void do_read() override {}

  std::function<void(std::string)> out_;
};

}  // namespace tradeshard::fuzz

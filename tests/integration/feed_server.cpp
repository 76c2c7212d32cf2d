#include "feed_server.hpp"

// g++ 12 with -fsanitize=address at -O2 reports a false -Wmaybe-uninitialized inside Beast's
// HTTP request parser (boost::optional<std::uint64_t> content length), instantiated here by
// the server-side websocket accept. Test helper only; the library code is unaffected.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"

#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

namespace tradeshard::testing {
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

void set_recv_timeout(tcp::socket& s, std::chrono::milliseconds t) {
  timeval tv{static_cast<time_t>(t.count() / 1000), static_cast<suseconds_t>((t.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

// Server-to-client frames are unmasked: FIN+text opcode, then the RFC 6455 length encoding.
std::string encode_frames(const std::vector<std::string>& texts) {
  std::string out;
  for (const auto& t : texts) {
    out.push_back(static_cast<char>(0x81));
    if (t.size() < 126) {
      out.push_back(static_cast<char>(t.size()));
    } else if (t.size() < 65536) {
      out.push_back(static_cast<char>(126));
      out.push_back(static_cast<char>((t.size() >> 8) & 0xff));
      out.push_back(static_cast<char>(t.size() & 0xff));
    } else {
      out.push_back(static_cast<char>(127));
      for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((t.size() >> (8 * i)) & 0xff));
    }
    out += t;
  }
  return out;
}

template <class Ws>
class SessionImpl final : public FeedServer::Session {
 public:
  SessionImpl(Ws& ws, tcp::socket& sock, const FeedServer& server) : ws_(ws), sock_(sock), server_(server) {}
  void send(const std::string& text) override {
    ws_.text(true);
    ws_.write(boost::asio::buffer(text));
  }
  void send_burst(const std::vector<std::string>& texts) override {
    const auto bytes = encode_frames(texts);
    boost::asio::write(ws_.next_layer(), boost::asio::buffer(bytes));
  }
  std::optional<std::string> read(std::chrono::milliseconds timeout) override {
    set_recv_timeout(sock_, timeout);
    beast::flat_buffer b;
    beast::error_code ec;
    ws_.read(b, ec);
    if (ec) return std::nullopt;
    return beast::buffers_to_string(b.data());
  }
  void drop() override {
    beast::error_code ec;
    sock_.shutdown(tcp::socket::shutdown_both, ec);
    sock_.close(ec);
  }
  void hold() override {
    while (!server_.stopping()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

 private:
  Ws& ws_;
  tcp::socket& sock_;
  const FeedServer& server_;
};

}  // namespace

struct FeedServer::Impl {
  boost::asio::io_context io;
  tcp::acceptor acceptor{io};
  std::unique_ptr<ssl::context> tls;
};

FeedServer::FeedServer(Script script, std::string cert_file, std::string key_file)
    : impl_(std::make_unique<Impl>()), script_(std::move(script)) {
  if (!cert_file.empty()) {
    impl_->tls = std::make_unique<ssl::context>(ssl::context::tls_server);
    impl_->tls->use_certificate_chain_file(cert_file);
    impl_->tls->use_private_key_file(key_file, ssl::context::pem);
  }
  const tcp::endpoint ep(boost::asio::ip::make_address("127.0.0.1"), 0);
  impl_->acceptor.open(ep.protocol());
  impl_->acceptor.set_option(tcp::acceptor::reuse_address(true));
  impl_->acceptor.bind(ep);
  impl_->acceptor.listen();
  impl_->acceptor.non_blocking(true);  // the thread polls, so the destructor can stop it
  port_ = impl_->acceptor.local_endpoint().port();
  thread_ = std::thread([this] { run(); });
}

FeedServer::~FeedServer() {
  stop_ = true;
  thread_.join();
}

void FeedServer::run() {
  int index = 0;
  while (!stop_) {
    tcp::socket sock(impl_->io);
    beast::error_code ec;
    impl_->acceptor.accept(sock, ec);
    if (ec) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    ++accepted_;
    sock.non_blocking(false);
    set_recv_timeout(sock, std::chrono::milliseconds(5000));
    try {
      if (impl_->tls) {
        websocket::stream<ssl::stream<tcp::socket&>> ws(sock, *impl_->tls);
        ws.next_layer().handshake(ssl::stream_base::server);
        ws.accept();
        ++opened_;
        SessionImpl<decltype(ws)> s(ws, sock, *this);
        script_(s, index++);
      } else {
        websocket::stream<tcp::socket&> ws(sock);
        ws.accept();
        ++opened_;
        SessionImpl<decltype(ws)> s(ws, sock, *this);
        script_(s, index++);
      }
    } catch (const std::exception&) {
      // A refused TLS handshake or a client that went away: the next connection gets a turn.
    }
    beast::error_code ignored;
    sock.close(ignored);
  }
}

std::string book_ticker(const std::string& symbol, std::uint64_t u, const std::string& bid, const std::string& ask,
                        const std::string& bid_size, const std::string& ask_size) {
  return R"({"u":)" + std::to_string(u) + R"(,"s":")" + symbol + R"(","b":")" + bid + R"(","B":")" + bid_size +
         R"(","a":")" + ask + R"(","A":")" + ask_size + R"("})";
}

}  // namespace tradeshard::testing

// libFuzzer target: HTTP request handling. The input is the byte stream a client sends on one
// connection (pipelined keep-alive requests allowed). Each request goes through Beast's request
// parser with HttpSession's limits (16 KiB of headers, limits.http_max_body_bytes of body), then
// HttpSession::on_read's path: parse errors answered 400/413/431, the WebSocket upgrade check,
// then HttpApi::handle on a real Gateway/Server graph (config/tradeshard.json, not listening;
// graph.hpp: reused across inputs until an admin action succeeds): every route, path
// parameters, query strings, bodies, and the admin routes with and without the config's bearer
// token (admin.token; the seeds carry it). Each response is built as HttpSession::respond
// builds it and serialized; the connection ends where HttpSession would close it. HttpSession itself needs a TCP socket, so its dispatch is mirrored here.
#include <boost/asio/buffer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket/rfc6455.hpp>
#include <cstddef>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

#include "graph.hpp"
#include "net/http_api.hpp"

using namespace tradeshard;
namespace beast = boost::beast;
namespace http = beast::http;

namespace {

// The client's bytes, then end of stream (a SyncReadStream for http::read).
class Input {
 public:
  explicit Input(std::string_view bytes) : rest_(bytes) {}
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers, beast::error_code& ec) {
    if (rest_.empty()) {
      ec = boost::asio::error::eof;
      return 0;
    }
    ec = {};
    const std::size_t n = boost::asio::buffer_copy(buffers, boost::asio::buffer(rest_.data(), rest_.size()));
    rest_.remove_prefix(n);
    return n;
  }
  template <class Buffers>
  std::size_t read_some(const Buffers& buffers) {
    beast::error_code ec;
    const std::size_t n = read_some(buffers, ec);
    if (ec) throw beast::system_error(ec);
    return n;
  }

 private:
  std::string_view rest_;
};

// HttpSession::respond, serialized instead of written: returns whether the connection goes on.
bool respond(unsigned status, std::string body, const std::string& content_type, const std::string& allow,
             bool keep_alive) {
  http::response<http::string_body> res{static_cast<http::status>(status), 11};
  res.set(http::field::server, "tradeshard/" TRADESHARD_VERSION);
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-store");
  if (!allow.empty()) res.set(http::field::allow, allow);
  res.keep_alive(keep_alive);
  res.body() = std::move(body);
  res.prepare_payload();
  std::ostringstream wire;
  wire << res;
  return res.keep_alive();
}

// The graph with some state for the read routes to render: a resting order (s-1), a fill
// (accounts alice and bob in the ledger), a tick (quotes, bars, partitions). The client session
// stays open with it (orders are cancelled on disconnect).
struct World {
  explicit World(const app::Config& config) : graph(config), client(graph.server, 1, "tcp", [](std::string) {}) {
    const app::Now at{1'700'000'000'000, 1'000'000'000};
    for (const char* line :
         {R"({"type":"order","id":"s-1","account":"alice","symbol":"BTCUSDT","side":"sell","price":"50000.10","qty":"0.5"})",
          R"({"type":"order","id":"b-1","account":"bob","symbol":"BTCUSDT","side":"buy","price":"50000.10","qty":"0.2"})",
          R"({"type":"tick","symbol":"BTCUSDT","bid":"50000.12","ask":"50001.34","bid_size":"3","ask_size":"1"})"}) {
      client.handle_message(line, 0, at);
    }
    graph.server.pump_now();
    graph.io.poll();
  }
  fuzz::Graph graph;
  fuzz::Session client;
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::default_config();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const app::Config& config = fuzz::default_config();
  static fuzz::Reused<World> worlds;
  World& world = worlds.get();
  fuzz::Graph& graph = world.graph;
  auto& stats = graph.server.stats();
  Input in(std::string_view(reinterpret_cast<const char*>(data), size));
  beast::flat_buffer buffer;
  for (bool keep_alive = true; keep_alive;) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(16 * 1024);
    parser.body_limit(config.limits.http_max_body_bytes);
    beast::error_code ec;
    http::read(in, buffer, parser, ec);
    if (ec == http::error::end_of_stream || ec == boost::asio::error::eof) break;
    if (ec == http::error::body_limit) {
      stats.count_http_error(413);
      respond(413, net::HttpApi::error(413, "too_large", "request body exceeds limits.http_max_body_bytes").body,
              "application/json", "", false);
      break;
    }
    if (ec == http::error::header_limit) {
      stats.count_http_error(431);
      respond(431, net::HttpApi::error(431, "too_large", "request headers too large").body, "application/json", "",
              false);
      break;
    }
    if (ec) {
      stats.count_http_error(400);
      respond(400, net::HttpApi::error(400, "bad_request", ec.message()).body, "application/json", "", false);
      break;
    }
    auto req = parser.release();
    ++stats.http_requests;
    const std::string_view target = req.target();
    const auto qpos = target.find('?');
    const std::string_view path = target.substr(0, qpos);
    if (beast::websocket::is_upgrade(req)) {
      // /ws hands the socket to a WsSession (the websocket target covers what follows).
      if (path == "/ws") break;
      respond(404, net::HttpApi::error(404, "not_found", "WebSocket endpoint is /ws").body, "application/json", "",
              false);
      break;
    }
    net::HttpRequest r;
    r.method = req.method_string();
    r.path = path;
    r.query = qpos == std::string_view::npos ? std::string_view{} : target.substr(qpos + 1);
    r.body = req.body();
    r.authorization = req[http::field::authorization];
    net::HttpResponse res = graph.server.http_api().handle(r);
    // An admin action that took effect changes what later inputs see: fresh graph next time.
    // ("//admin/..." routes too: empty path segments are skipped.)
    if (path.find("admin") != std::string_view::npos && res.status < 300) worlds.mark_dirty();
    stats.count_http_error(res.status);
    keep_alive = respond(res.status, std::move(res.body), res.content_type, res.allow, req.keep_alive());
    // Work an admin action queued (a drained worker's orders, say) runs on the next loop turn.
    graph.io.restart();
    graph.io.poll();
  }
  return 0;
}

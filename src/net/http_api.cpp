#include "http_api.hpp"
#include "web_assets.hpp"

#include <spdlog/spdlog.h>


#include "tradeshard/app/gateway.hpp"
#include "routes.hpp"
#include "tradeshard/net/net_stats.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {
constexpr const char* kOutNames[] = {"ack",  "reject",     "fill",  "done",   "replaced", "error", "pong",
                                     "subscribed", "login", "signal", "quote", "bar", "trade", "depth", "stats"};
constexpr const char* kCommandNames[] = {"order", "cancel", "replace", "cancel_all", "tick",
                                         "ping",  "subscribe", "login"};
constexpr const char* kWireErrors[] = {"bad_json",  "unknown_type", "missing_field", "bad_field",
                                       "too_large", "rate_limited", "not_logged_in", "other"};
// Each name array matches what it names: a new message type or error needs its name here.
static_assert(std::size(kOutNames) == std::size(NetStats{}.out_by_type));
static_assert(std::size(kWireErrors) == std::size(NetStats{}.errors_by_code));
static_assert(std::size(kCommandNames) == std::variant_size_v<app::Command>);

std::vector<std::string> split_path(std::string_view p) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < p.size()) {
    while (i < p.size() && p[i] == '/') ++i;
    const auto j = p.find('/', i);
    const auto end = j == std::string_view::npos ? p.size() : j;
    if (end > i) out.emplace_back(p.substr(i, end - i));
    i = end;
  }
  return out;
}

// Constant-time comparison so the admin token cannot be guessed byte by byte from timings.
bool token_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}
}  // namespace

HttpApi::HttpApi(const std::string& admin_token, const NetStats& stats, app::Gateway& gateway)
    : admin_token_(admin_token), stats_(stats), gateway_(gateway), started_(std::chrono::steady_clock::now()) {
  add_core_routes();
  add_core_metrics();
  add_order_routes(*this, gateway);
  add_tick_routes(*this, gateway);
  add_ledger_routes(*this, gateway);
  add_history_routes(*this, gateway);
}

HttpResponse HttpApi::reply(unsigned status, const nlohmann::json& body) {
  HttpResponse r;
  r.status = status;
  r.body = body.dump(-1, ' ', false, json::error_handler_t::replace);
  r.body.push_back('\n');
  return r;
}

HttpResponse HttpApi::error(unsigned status, std::string_view code, std::string_view message) {
  return reply(status, {{"error", code}, {"message", message}});
}

std::string HttpApi::query_param(std::string_view q, std::string_view key) {
  std::size_t i = 0;
  while (i <= q.size()) {
    const auto amp = q.find('&', i);
    const auto part = q.substr(i, amp == std::string_view::npos ? std::string_view::npos : amp - i);
    const auto eq = part.find('=');
    if (part.substr(0, eq) == key) return eq == std::string_view::npos ? "" : std::string(part.substr(eq + 1));
    if (amp == std::string_view::npos) break;
    i = amp + 1;
  }
  return {};
}

void HttpApi::route(std::string method, std::string pattern, bool admin, Handler handler) {
  routes_.push_back({std::move(method), split_path(pattern), admin, std::move(handler)});
}

HttpResponse HttpApi::handle(const HttpRequest& req) {
  const auto segs = split_path(req.path);
  std::string allow;
  for (const auto& r : routes_) {
    if (r.segments.size() != segs.size()) continue;
    Params params;
    bool match = true;
    for (std::size_t i = 0; i < segs.size() && match; ++i) {
      if (r.segments[i] == "{}") params.push_back(segs[i]);
      else match = r.segments[i] == segs[i];
    }
    if (!match) continue;
    if (r.method != req.method) {
      allow += (allow.empty() ? "" : ", ") + r.method;
      continue;
    }
    if (read_only() && r.method != "GET") return not_leader();
    if (r.admin) {
      const auto& token = admin_token_;
      constexpr std::string_view bearer = "Bearer ";
      const bool ok = !token.empty() && req.authorization.substr(0, bearer.size()) == bearer &&
                      token_equal(req.authorization.substr(bearer.size()), token);
      if (!ok) {
        spdlog::get("http")->warn("admin {} {} refused: missing or wrong bearer token", req.method, req.path);
        return error(401, "unauthorized", "admin endpoints need Authorization: Bearer <admin.token>");
      }
      spdlog::get("http")->info("admin {} {}", req.method, req.path);
    }
    return r.handler(req, params);
  }
  if (!allow.empty()) {
    auto res = error(405, "method_not_allowed", "use " + allow);
    res.allow = allow;
    return res;
  }
  return error(404, "not_found", "no such endpoint: " + std::string(req.path));
}

HttpResponse HttpApi::not_leader() const {
  return reply(503, json{{"error", "not_leader"}, {"message", read_only_}, {"leader", leader_ ? leader_() : json(nullptr)}});
}

json HttpApi::feeds_json() const {
  json arr = json::array();
  for (const auto& f : feeds_) arr.push_back(f());
  return arr;
}

json HttpApi::stats_json() const {
  const auto& n = stats_;
  const auto& g = gateway_.counters();
  json in = json::object(), out = json::object(), errors = json::object(), rejects = json::object();
  for (std::size_t i = 0; i < std::size(kCommandNames); ++i) in[kCommandNames[i]] = g.commands_in[i];
  for (std::size_t i = 0; i < std::size(kOutNames); ++i) out[kOutNames[i]] = n.out_by_type[i];
  for (std::size_t i = 0; i < std::size(kWireErrors); ++i) {
    if (n.errors_by_code[i]) errors[kWireErrors[i]] = n.errors_by_code[i];
  }
  for (const auto& [k, v] : g.rejects) rejects[k] = v;
  const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  return {
      {"uptime_s", uptime},
      {"connections", {{"open", n.connections_open}, {"total", n.connections_total},
                       {"refused", n.connections_rejected}, {"slow_consumer_disconnects", n.slow_consumer_disconnects},
                       {"idle_disconnects", n.idle_disconnects}}},
      {"messages_in", in},
      {"messages_in_total", n.messages_in},
      {"messages_out", out},
      {"errors", errors},
      {"rejects", rejects},
      {"oversize_messages", n.oversize_messages},
      {"bytes", {{"in", n.bytes_in}, {"out", n.bytes_out}}},
      {"http", {{"requests", n.http_requests}, {"bad_request", n.http_errors.bad_request},
                {"unauthorized", n.http_errors.unauthorized}, {"not_found", n.http_errors.not_found},
                {"method_not_allowed", n.http_errors.method_not_allowed}, {"too_large", n.http_errors.too_large},
                {"timeouts", n.http_errors.timeouts}}},
  };
}

void HttpApi::add_core_metrics() {
  const NetStats& n = stats_;
  const app::GatewayCounters& g = gateway_.counters();
  auto& m = metrics_;
  m.gauge("tradeshard_connections_open", "Client and HTTP connections currently open.",
          [&n] { return static_cast<double>(n.connections_open); });
  m.counter("tradeshard_connections_total", "Connections accepted since start.",
            [&n] { return static_cast<double>(n.connections_total); });
  m.counter("tradeshard_messages_in_total", "Client messages received, by type.", "type", [&g](const auto& emit) {
    for (std::size_t i = 0; i < std::size(kCommandNames); ++i) emit(kCommandNames[i], static_cast<double>(g.commands_in[i]));
  });
  m.counter("tradeshard_messages_out_total", "Messages sent to clients, by type.", "type", [&n](const auto& emit) {
    for (std::size_t i = 0; i < std::size(kOutNames); ++i) emit(kOutNames[i], static_cast<double>(n.out_by_type[i]));
  });
  m.counter("tradeshard_wire_errors_total", "Messages answered with an error or reject before decoding, by code.",
            "code", [&n](const auto& emit) {
              for (std::size_t i = 0; i + 1 < std::size(kWireErrors); ++i) {
                emit(kWireErrors[i], static_cast<double>(n.errors_by_code[i]));
              }
            });
  m.counter("tradeshard_rejects_total", "Orders and cancels rejected, by reason.", "reason", [&g](const auto& emit) {
    for (const auto& [k, v] : g.rejects) emit(k, static_cast<double>(v));
  });
  m.counter("tradeshard_slow_consumer_disconnects_total", "Clients disconnected for not reading their replies.",
            [&n] { return static_cast<double>(n.slow_consumer_disconnects); });
  m.counter("tradeshard_received_bytes_total", "Bytes received from clients.",
            [&n] { return static_cast<double>(n.bytes_in); });
  m.counter("tradeshard_sent_bytes_total", "Bytes sent to clients.", [&n] { return static_cast<double>(n.bytes_out); });
  m.counter("tradeshard_http_requests_total", "HTTP requests served.",
            [&n] { return static_cast<double>(n.http_requests); });
  m.counter("tradeshard_http_errors_total", "HTTP requests refused, by reason.", "reason", [&n](const auto& emit) {
    const auto& e = n.http_errors;
    emit("bad_request", static_cast<double>(e.bad_request));
    emit("unauthorized", static_cast<double>(e.unauthorized));
    emit("not_found", static_cast<double>(e.not_found));
    emit("method_not_allowed", static_cast<double>(e.method_not_allowed));
    emit("too_large", static_cast<double>(e.too_large));
    emit("timeout", static_cast<double>(e.timeouts));
  });
  m.gauge("tradeshard_uptime_seconds", "Seconds since the daemon started.", [this] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count();
  });
}

void HttpApi::add_core_routes() {
  // The dashboard: the only non-JSON answers (docs/protocol.md), all embedded in the binary.
  auto asset = [](std::string_view name) {
    HttpResponse r;
    const auto* a = web::find_asset(name);
    if (a == nullptr) return error(404, "not_found", "no such asset: " + std::string(name));
    r.body.assign(a->body);
    r.content_type.assign(a->content_type);
    return r;
  };
  route("GET", "/", false, [asset](const HttpRequest&, const Params&) { return asset("index.html"); });
  route("GET", "/assets/{}", false, [asset](const HttpRequest&, const Params& p) { return asset(p[0]); });
  route("GET", "/health", false, [this](const HttpRequest&, const Params&) {
    auto reasons = gateway_.degraded_reasons();
    for (const auto& check : health_checks_) {
      if (auto why = check(); !why.empty()) reasons.push_back(std::move(why));
    }
    json body = {{"status", reasons.empty() ? "ok" : "degraded"}, {"version", TRADESHARD_VERSION}};
    if (!reasons.empty()) body["reasons"] = reasons;
    return reply(reasons.empty() ? 200 : 503, body);
  });
  route("GET", "/stats", false, [this](const HttpRequest&, const Params&) {
    json body = stats_json();
    for (const auto& [name, section] : extra_stats_) body[name] = section();
    return reply(200, body);
  });
  route("GET", "/metrics", false, [this](const HttpRequest&, const Params&) {
    HttpResponse r;
    r.body = metrics_.prometheus();
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
}

}  // namespace tradeshard::net

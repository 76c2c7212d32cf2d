#pragma once
// HTTP JSON endpoints: a route table of (method, path pattern, admin?) -> handler. Handlers read
// Gateway views and render JSON with nlohmann; admin routes need "Authorization: Bearer <token>".
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/app/metrics.hpp"

namespace tradeshard::app {
class Gateway;
}
namespace tradeshard::history {
class HistoryService;
}

namespace tradeshard::net {

struct NetStats;

struct HttpRequest {
  std::string_view method;
  std::string_view path;   // without the query
  std::string_view query;  // after '?', may be empty
  std::string_view body;
  std::string_view authorization;
};

struct HttpResponse {
  unsigned status = 200;
  std::string body;
  std::string content_type = "application/json";
  std::string allow;  // for 405
  // Set by a handler whose answer is computed off the loop (history queries): the session calls
  // it with a completion, which must then be invoked once, on the loop thread, with the answer.
  std::function<void(std::function<void(HttpResponse)>)> deferred;
};

class HttpApi {
 public:
  using Params = std::vector<std::string_view>;
  using Handler = std::function<HttpResponse(const HttpRequest&, const Params&)>;

  // admin_token: empty = admin routes always 401. Both references must outlive the HttpApi.
  HttpApi(const std::string& admin_token, const NetStats& stats, app::Gateway& gateway);
  [[nodiscard]] HttpResponse handle(const HttpRequest& req);
  // Adds a route; "{}" in the pattern matches one path segment, passed in Params.
  void route(std::string method, std::string pattern, bool admin, Handler handler);

  // Sections other components add to /stats; the one registry /metrics renders.
  void add_stats_section(std::string name, std::function<nlohmann::json()> section) {
    extra_stats_.emplace_back(std::move(name), std::move(section));
  }
  [[nodiscard]] app::MetricsRegistry& metrics() noexcept { return metrics_; }
  // Market-data feed clients shown under /stats "ticks.feeds" (added by the composition root).
  void add_feed(std::function<nlohmann::json()> stats) { feeds_.push_back(std::move(stats)); }
  [[nodiscard]] nlohmann::json feeds_json() const;
  // Market-data history (null = off): set by the composition root before serving.
  void set_history(history::HistoryService* history) noexcept { history_ = history; }
  [[nodiscard]] history::HistoryService* history() const noexcept { return history_; }
  // Extra /health checks: each returns why the daemon is degraded, or "" when it is not.
  void add_health_check(std::function<std::string()> check) { health_checks_.push_back(std::move(check)); }
  // A follower (replica process, standby gateway): every route but GET answers 503 "not_leader"
  // with `why` and `leader()` (GET /leader's answer), and so does a WebSocket upgrade.
  void set_read_only(std::string why, std::function<nlohmann::json()> leader) {
    read_only_ = std::move(why);
    leader_ = std::move(leader);
  }
  [[nodiscard]] bool read_only() const noexcept { return !read_only_.empty(); }
  [[nodiscard]] HttpResponse not_leader() const;
  // Cluster mode: what /replicas and /replicas/consistency add (the follower processes, etcd's
  // members), set by the composition root; null: nothing.
  struct ReplicaExtras {
    std::function<void(nlohmann::json& replicas)> replicas;
    std::function<void(nlohmann::json& consistency)> consistency;
  };
  void set_replica_extras(ReplicaExtras e) { replica_extras_ = std::move(e); }
  [[nodiscard]] const ReplicaExtras& replica_extras() const noexcept { return replica_extras_; }

  static HttpResponse reply(unsigned status, const nlohmann::json& body);
  static HttpResponse error(unsigned status, std::string_view code, std::string_view message);
  [[nodiscard]] static std::string query_param(std::string_view query, std::string_view key);

 private:
  struct Route {
    std::string method;
    std::vector<std::string> segments;
    bool admin;
    Handler handler;
  };
  void add_core_routes();
  [[nodiscard]] nlohmann::json stats_json() const;
  void add_core_metrics();

  const std::string& admin_token_;
  const NetStats& stats_;
  app::Gateway& gateway_;
  std::vector<Route> routes_;
  std::chrono::steady_clock::time_point started_;
  std::vector<std::pair<std::string, std::function<nlohmann::json()>>> extra_stats_;
  std::vector<std::function<nlohmann::json()>> feeds_;
  std::vector<std::function<std::string()>> health_checks_;
  history::HistoryService* history_ = nullptr;
  std::string read_only_;
  std::function<nlohmann::json()> leader_;
  ReplicaExtras replica_extras_;
  app::MetricsRegistry metrics_;
};

}  // namespace tradeshard::net

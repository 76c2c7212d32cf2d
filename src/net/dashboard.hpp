#pragma once
// The `stats` channel behind the dashboard (GET /): once a second the composition root calls
// sample() and the Gateway publishes render(false) to the channel's subscribers; a new subscriber
// gets render(true), which adds the last five minutes of samples so the charts draw at once.
// Loop thread only.
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>

#include <nlohmann/json.hpp>

namespace tradeshard::app {
class Gateway;
}

namespace tradeshard::net {

class HttpApi;

class DashboardFeed {
 public:
  DashboardFeed(app::Gateway& gateway, const HttpApi& api);
  // Folds the counters since the last call into one sample (rates per second, ack latency).
  void sample();
  // The whole picture as one JSON object; `full` adds the sample history.
  [[nodiscard]] std::string render(bool full) const;

 private:
  struct Sample {
    std::int64_t ts_ms = 0;
    double orders_per_s = 0, ticks_per_s = 0, fills_per_s = 0, p50_us = 0, p99_us = 0;
  };
  [[nodiscard]] static nlohmann::json to_json(const Sample& s);

  app::Gateway& gateway_;
  const HttpApi& api_;
  std::deque<Sample> history_;  // newest last, at most kHistory
  static constexpr std::size_t kHistory = 300;
  std::chrono::steady_clock::time_point last_;
  std::uint64_t last_orders_ = 0, last_ticks_ = 0, last_fills_ = 0;
};

}  // namespace tradeshard::net

// MetricsRegistry: names checked once at registration, values read at scrape time, label values
// escaped, histograms cumulative, exposition in registration order.
#include <doctest/doctest.h>

#include <stdexcept>
#include <string>

#include "tradeshard/app/metrics.hpp"

using namespace tradeshard;

TEST_CASE("MetricsRegistry: values are read at scrape time, in registration order") {
  app::MetricsRegistry m;
  std::uint64_t ticks = 3;
  m.counter("t_ticks_total", "Ticks.", [&ticks] { return static_cast<double>(ticks); });
  m.gauge("t_ratio", "A ratio.", [] { return 0.25; });
  ticks = 9;
  const auto text = m.prometheus();
  CHECK(text ==
        "# HELP t_ticks_total Ticks.\n# TYPE t_ticks_total counter\nt_ticks_total 9\n"
        "# HELP t_ratio A ratio.\n# TYPE t_ratio gauge\nt_ratio 0.25\n");
  CHECK(m.names() == std::vector<std::string>{"t_ticks_total", "t_ratio"});
}

TEST_CASE("MetricsRegistry: label values are escaped; help text too") {
  app::MetricsRegistry m;
  m.gauge("t_load", "Load per worker\\node.", "worker", [](const auto& emit) {
    emit("w-1", 2);
    emit("evil\"}\nx 1", 3);  // a worker id an admin typed
  });
  CHECK(m.prometheus() ==
        "# HELP t_load Load per worker\\\\node.\n# TYPE t_load gauge\n"
        "t_load{worker=\"w-1\"} 2\nt_load{worker=\"evil\\\"}\\nx 1\"} 3\n");
}

TEST_CASE("MetricsRegistry: histograms are cumulative, in seconds") {
  app::MetricsRegistry m;
  app::LatencyHistogram h;
  h.record(2'000);      // 2 us
  h.record(20'000);     // 20 us
  h.record(3'000'000);  // 3 ms
  m.histogram("t_seconds", "Latency.", [&h]() -> const app::LatencyHistogram& { return h; }, {1e-5, 1e-3});
  const auto text = m.prometheus();
  CHECK(text.find("t_seconds_bucket{le=\"1e-05\"} 1\n") != std::string::npos);
  CHECK(text.find("t_seconds_bucket{le=\"0.001\"} 2\n") != std::string::npos);
  CHECK(text.find("t_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(text.find("t_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("MetricsRegistry: bad or duplicate names are refused at registration") {
  app::MetricsRegistry m;
  m.counter("t_a", "A.", [] { return 1.0; });
  CHECK_THROWS_AS(m.counter("t_a", "again", [] { return 1.0; }), std::invalid_argument);
  CHECK_THROWS_AS(m.gauge("9lives", "bad", [] { return 1.0; }), std::invalid_argument);
  CHECK_THROWS_AS(m.gauge("t-dash", "bad", [] { return 1.0; }), std::invalid_argument);
  CHECK_THROWS_AS(m.gauge("t_l", "bad label", "le", [](const auto&) {}), std::invalid_argument);
  CHECK_THROWS_AS(m.histogram("t_h", "bad bounds", nullptr, {1.0, 0.5}), std::invalid_argument);
}

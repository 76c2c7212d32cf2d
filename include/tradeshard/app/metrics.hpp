#pragma once
// One registry of named metrics, rendered in the Prometheus text format (version 0.0.4) from one
// place. A metric is registered once, by name, with how to read it at scrape time: counters stay
// plain fields of each component's stats (the hot paths pay nothing), and no name lives beside an
// index. Owned by whoever serves /metrics (no global registry). Standard library only.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/app/histogram.hpp"

namespace tradeshard::app {

class MetricsRegistry {
 public:
  using Value = std::function<double()>;
  // A labelled family: calls emit(label value, sample value) once per series, at scrape time.
  using Emit = std::function<void(std::string_view, double)>;
  using Series = std::function<void(const Emit&)>;

  // Each throws std::invalid_argument for a name that is not a Prometheus metric name
  // ([a-zA-Z_:][a-zA-Z0-9_:]*), a bad label name, or a name already registered.
  void counter(std::string name, std::string help, Value value);
  void gauge(std::string name, std::string help, Value value);
  void counter(std::string name, std::string help, std::string label, Series series);
  void gauge(std::string name, std::string help, std::string label, Series series);
  // A latency histogram exposed in seconds with the given upper bounds (seconds, increasing).
  void histogram(std::string name, std::string help, std::function<const LatencyHistogram&()> read,
                 std::vector<double> bounds_s);

  // Every family, in registration order. Label values are escaped (\\, \", \n).
  [[nodiscard]] std::string prometheus() const;
  [[nodiscard]] std::vector<std::string> names() const;

 private:
  enum class Kind { counter, gauge, histogram };
  struct Family {
    std::string name, help, label;
    Kind kind;
    Value value;
    Series series;
    std::function<const LatencyHistogram&()> histogram;
    std::vector<double> bounds;
  };
  void add(Family f);
  std::vector<Family> families_;
};

}  // namespace tradeshard::app

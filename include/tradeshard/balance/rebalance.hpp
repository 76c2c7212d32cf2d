#pragma once
// Load-aware rebalancing of books between workers: the plan (which symbols move where) and the
// trigger (when to run it). Pure: the caller measures per-symbol load and supplies the clock.
//
// The plan is greedy and moves whole books only. While the busiest worker is above the target
// (target_over_avg x the mean load of the routable workers), it moves off that worker the hottest
// symbol that still lowers the pair's maximum (moving s from B to T when L[T] + s < L[B]), to the
// least-loaded worker serving the symbol's class with room for its live orders; a symbol that
// fits under the target on T is preferred. Each move strictly lowers the sum of squared loads, so
// the plan ends; it stops at max_moves. A symbol hotter than the target never splits: it stays
// where it is (or moves whole to an emptier worker) and the others move off its worker instead.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "tradeshard/balance/worker.hpp"

namespace tradeshard::balance {

struct RebalanceOptions {
  double max_over_avg = 1.3;   // trigger: the busiest worker above this x the mean
  double target_over_avg = 0;  // the plan stops at or below this x the mean; 0 = (1 + max_over_avg) / 2
  std::size_t max_moves = 64;  // per plan
  [[nodiscard]] double target() const noexcept { return target_over_avg > 0 ? target_over_avg : (1.0 + max_over_avg) / 2; }
};

// One symbol's measured load (orders and fills per second, or any additive unit).
struct SymbolLoad {
  std::uint64_t symbol_hash = 0;
  std::string_view instrument_class;
  double load = 0.0;
};

struct BookMove {
  std::uint64_t symbol_hash = 0;
  WorkerId from, to;
  double load = 0.0;
};

struct RebalancePlan {
  double mean = 0.0;    // mean load over the routable workers
  double before = 0.0;  // busiest / mean before the moves (0 when idle)
  double after = 0.0;   // busiest / mean after them
  std::vector<BookMove> moves;
};

// When to run a plan: the busiest worker above max_over_avg x mean, with the mean at least
// min_load, continuously for after_ms, and at least cooldown_ms after the last run.
class RebalanceTrigger {
 public:
  struct Options {
    double max_over_avg = 1.3;
    double min_load = 50.0;
    std::int64_t after_ms = 5'000;
    std::int64_t cooldown_ms = 30'000;
  };
  explicit RebalanceTrigger(Options options) : options_(options) {}
  // One sample of the current imbalance; true when a plan should run now.
  [[nodiscard]] bool due(std::int64_t now_ms, double busiest_over_mean, double mean);
  // A plan ran (on the trigger, on demand or after a worker was added): the cool-down starts.
  void ran(std::int64_t now_ms) noexcept {
    last_run_ms_ = now_ms;
    above_since_ms_ = -1;
  }
  [[nodiscard]] const Options& options() const noexcept { return options_; }

 private:
  Options options_;
  std::int64_t above_since_ms_ = -1;
  std::int64_t last_run_ms_ = -1;
};

}  // namespace tradeshard::balance

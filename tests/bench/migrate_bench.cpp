// Book migration benchmark: moving one instrument's book of N resting orders (default 10,000)
// from one matching engine to another, as a live migration does between two commands:
// export_book + remove_book on the source, import_book on the target. Baseline in the same run:
// building the same book by submitting its orders one by one into an empty engine.
//   tradeshard-bench-migrate [--orders N] [--rounds R]
// Prints the median and worst of R moves (back and forth), per move and per order, and the
// ratio to the baseline; the last line is JSON.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <vector>

#include "tradeshard/book/matching_engine.hpp"

using namespace tradeshard::book;
using Clock = std::chrono::steady_clock;

namespace {

double ns_since(Clock::time_point t0) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - t0).count());
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t orders = 10'000;
  int rounds = 101;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--orders")) orders = std::strtoul(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  tradeshard::core::Instrument in;
  in.symbol = "BTCUSDT";
  in.max_qty = 1'000'000;
  const tradeshard::core::InstrumentTable table({in});
  // A book that never crosses: bids 1..200 ticks under 10,000, asks above; 50 accounts.
  std::mt19937_64 rng(42);
  std::vector<NewOrder> stream;
  for (std::size_t k = 1; k <= orders; ++k) {
    const bool buy = rng() % 2 == 0;
    const Ticks price = buy ? 10'000 - 1 - static_cast<Ticks>(rng() % 200) : 10'000 + static_cast<Ticks>(rng() % 200);
    stream.push_back(NewOrder{k, static_cast<AccountId>(1 + rng() % 50), 0, buy ? Side::buy : Side::sell,
                              OrderType::limit, TimeInForce::gtc, price, static_cast<Lots>(1 + rng() % 100)});
  }
  std::vector<double> build_ns, move_ns;
  EventBuffer ev;
  ev.reserve(8);
  for (int r = 0; r < 11; ++r) {
    MatchingEngine e(table, {});
    const auto t0 = Clock::now();
    for (const auto& o : stream) {
      ev.clear();
      (void)e.submit(o, ev);
    }
    build_ns.push_back(ns_since(t0));
  }
  MatchingEngine engines[2] = {MatchingEngine(table, {}), MatchingEngine(table, {})};
  for (const auto& o : stream) {
    ev.clear();
    (void)engines[0].submit(o, ev);
  }
  const auto resting = engines[0].stats().resting_orders;
  int from = 0;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = Clock::now();
    const BookImage image = engines[from].export_book(0);
    engines[from].remove_book(0);
    if (engines[1 - from].import_book(image) != ImportError::ok) {
      std::fprintf(stderr, "migrate: import refused\n");
      return 1;
    }
    move_ns.push_back(ns_since(t0));
    from = 1 - from;
  }
  if (engines[from].stats().resting_orders != resting) {
    std::fprintf(stderr, "migrate: %llu orders after the moves, %llu before\n",
                 static_cast<unsigned long long>(engines[from].stats().resting_orders),
                 static_cast<unsigned long long>(resting));
    return 1;
  }
  const double build = median(build_ns), move = median(move_ns);
  const double worst = *std::max_element(move_ns.begin(), move_ns.end());
  std::printf("migrate-%zu  %d moves: median %.1f us (%.1f ns/order), worst %.1f us; baseline (submit the same %llu "
              "orders): %.1f us; move / baseline %.3f\n",
              orders, rounds, move / 1e3, move / static_cast<double>(resting), worst / 1e3,
              static_cast<unsigned long long>(resting), build / 1e3, move / build);
  std::printf("{\"bench\":\"migrate\",\"orders\":%llu,\"moves\":%d,\"median_us\":%.1f,\"worst_us\":%.1f,"
              "\"ns_per_order\":%.1f,\"baseline_submit_us\":%.1f,\"ratio_to_baseline\":%.3f}\n",
              static_cast<unsigned long long>(resting), rounds, move / 1e3, worst / 1e3,
              move / static_cast<double>(resting), build / 1e3, move / build);
  return 0;
}

#pragma once
// OHLC bars of one price series over fixed windows aligned to the epoch (start = ts - ts % width),
// keyed on the tick's own ts in ms. Closed bars are kept in a bounded ring (oldest dropped).
// Windows without ticks produce no bar. A tick older than the open bar's window is "late": it is
// counted and not applied, because closed bars are immutable once published.
// Owned by the event-loop thread; not thread-safe.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace tradeshard::market {

enum class Interval : std::uint8_t { s1, m1 };
inline constexpr Interval all_intervals[] = {Interval::s1, Interval::m1};
[[nodiscard]] constexpr std::int64_t width_ms(Interval i) noexcept {
  return i == Interval::s1 ? 1'000 : 60'000;
}
[[nodiscard]] constexpr std::string_view to_string(Interval i) noexcept {
  return i == Interval::s1 ? "1s" : "1m";
}
[[nodiscard]] constexpr std::optional<Interval> parse_interval(std::string_view s) noexcept {
  if (s == "1s") return Interval::s1;
  if (s == "1m") return Interval::m1;
  return std::nullopt;
}

struct Bar {
  std::int64_t start_ms = 0;
  std::int64_t open = 0;
  std::int64_t high = 0;
  std::int64_t low = 0;
  std::int64_t close = 0;
  std::uint64_t ticks = 0;
  friend bool operator==(const Bar&, const Bar&) = default;
};

class BarSeries {
 public:
  BarSeries() = default;
  BarSeries(std::int64_t width_ms, std::size_t capacity) : width_(width_ms), capacity_(capacity) {}

  struct Update {
    std::optional<Bar> closed;  // the bar this tick closed, if it opened a new window
    bool late = false;
  };
  // ts_ms must be >= 0 (validated by the caller).
  [[nodiscard]] Update on_tick(std::int64_t ts_ms, std::int64_t price);

  [[nodiscard]] const std::optional<Bar>& open_bar() const noexcept { return open_; }
  // Closed bars, oldest first, at most capacity().
  [[nodiscard]] std::vector<Bar> history() const;
  [[nodiscard]] std::size_t closed_count() const noexcept { return ring_.size(); }
  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
  [[nodiscard]] std::uint64_t late_ticks() const noexcept { return late_; }

 private:
  void push_closed(const Bar& b);

  std::int64_t width_ = 1'000;
  std::size_t capacity_ = 600;
  std::optional<Bar> open_;
  std::vector<Bar> ring_;  // grows to capacity_, then wraps at head_
  std::size_t head_ = 0;   // index of the oldest bar once full
  std::uint64_t late_ = 0;
};

}  // namespace tradeshard::market

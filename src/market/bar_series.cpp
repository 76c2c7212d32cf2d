#include "tradeshard/market/bar_series.hpp"

#include <algorithm>

namespace tradeshard::market {

BarSeries::Update BarSeries::on_tick(std::int64_t ts_ms, std::int64_t price) {
  Update u;
  // Most ticks land in the open window: no 64-bit division for them (two per tick were a
  // visible share of the tick path).
  if (open_ && ts_ms >= open_->start_ms && ts_ms - open_->start_ms < width_) {
    Bar& b = *open_;
    b.high = std::max(b.high, price);
    b.low = std::min(b.low, price);
    b.close = price;
    ++b.ticks;
    return u;
  }
  // Before the open window: late, and its own window starts earlier still (no division either).
  if (open_ && ts_ms < open_->start_ms) {
    ++late_;
    u.late = true;
    return u;
  }
  const std::int64_t start = ts_ms - ts_ms % width_;
  if (open_) {
    u.closed = *open_;
    push_closed(*open_);
  }
  open_ = Bar{start, price, price, price, price, 1};
  return u;
}

void BarSeries::push_closed(const Bar& b) {
  if (capacity_ == 0) return;
  if (ring_.size() < capacity_) {
    // One allocation for the whole history instead of log2(capacity) regrowths on the tick path.
    if (ring_.empty()) ring_.reserve(capacity_);
    ring_.push_back(b);
    return;
  }
  ring_[head_] = b;
  head_ = (head_ + 1) % capacity_;
}

std::vector<Bar> BarSeries::history() const {
  std::vector<Bar> out;
  out.reserve(ring_.size());
  for (std::size_t i = 0; i < ring_.size(); ++i) out.push_back(ring_[(head_ + i) % ring_.size()]);
  return out;
}

}  // namespace tradeshard::market

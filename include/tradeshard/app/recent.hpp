#pragma once
// The last N values pushed, in a fixed ring: what the dashboard shows as "last trades" and "last
// signals". push() never allocates (the ring is part of the object). Loop thread only.
#include <array>
#include <cstddef>

namespace tradeshard::app {

template <class T, std::size_t N>
class Recent {
 public:
  void push(const T& value) noexcept {
    ring_[next_] = value;
    next_ = next_ + 1 == N ? 0 : next_ + 1;
    if (size_ < N) ++size_;
  }
  // Newest first.
  template <class F>
  void for_each(F f) const {
    for (std::size_t k = 1; k <= size_; ++k) f(ring_[(next_ + N - k) % N]);
  }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  std::array<T, N> ring_{};
  std::size_t next_ = 0;
  std::size_t size_ = 0;
};

}  // namespace tradeshard::app

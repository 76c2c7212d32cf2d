#pragma once
// The one place the edge reads clocks for the domain (see app/clock.hpp).
#include <chrono>

#include "tradeshard/app/clock.hpp"

namespace tradeshard::net {

inline app::Now now() {
  using namespace std::chrono;
  return {duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count(),
          duration_cast<nanoseconds>(steady_clock::now().time_since_epoch()).count()};
}

}  // namespace tradeshard::net

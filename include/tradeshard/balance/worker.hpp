#pragma once
// Worker vocabulary of the load balancer: what config gives (WorkerSpec), the stable handle the
// Gateway keeps (WorkerId) and the read-only view HTTP renders (WorkerView). Standard library only.
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace tradeshard::balance {

// Slot index of a worker inside one LoadBalancer. Slots are never reused for the life of the
// balancer, so a WorkerId kept by a queue or an order record can never name another worker.
struct WorkerId {
  static constexpr std::uint32_t invalid_value = std::numeric_limits<std::uint32_t>::max();
  std::uint32_t value = invalid_value;
  [[nodiscard]] constexpr bool valid() const noexcept { return value != invalid_value; }
  friend constexpr bool operator==(WorkerId, WorkerId) = default;
};

struct WorkerSpec {
  std::string id;                    // unique among live workers, e.g. "worker-1"
  std::string address;               // "inproc://worker-1" for embedded engines
  std::uint32_t capacity = 0;        // max live orders, > 0
  std::vector<std::string> classes;  // instrument classes served; empty = all classes
  double latency_us_seed = 0.0;      // initial EWMA latency (config or first RTT)
};

// removed: taken out by remove() but still holding live orders until they are released.
enum class WorkerState : std::uint8_t { healthy, unhealthy, draining, removed };

constexpr std::string_view to_string(WorkerState s) noexcept {
  switch (s) {
    case WorkerState::healthy: return "healthy";
    case WorkerState::unhealthy: return "unhealthy";
    case WorkerState::draining: return "draining";
    case WorkerState::removed: return "removed";
  }
  return "healthy";
}

// Snapshot for GET /workers; copying, so not for the hot path.
struct WorkerView {
  WorkerId worker;
  std::string id;
  std::string address;
  std::uint32_t capacity = 0;
  std::uint32_t current_load = 0;
  std::uint32_t available_capacity = 0;
  double load_pct = 0.0;
  WorkerState state = WorkerState::healthy;
  bool healthy = true;  // health flag alone: a draining worker can be healthy
  double latency_us = 0.0;
  std::uint64_t orders_routed = 0;
  std::vector<std::string> classes;
};

}  // namespace tradeshard::balance

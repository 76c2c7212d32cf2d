#pragma once
// Routing strategies of the load balancer and their config names. Standard library only.
#include <cstdint>
#include <optional>
#include <string_view>

namespace tradeshard::balance {

enum class Strategy : std::uint8_t {
  round_robin,        // next eligible worker in add order
  least_connections,  // fewest live orders; ties -> lowest WorkerId (deterministic)
  weighted_capacity,  // lowest (load + 1) / capacity: load proportional to capacity
  lowest_latency,     // lowest EWMA latency; ties -> fewer live orders -> lowest WorkerId
  hash,               // consistent hash ring with symbol affinity (+ optional bounded load)
};

inline constexpr Strategy all_strategies[] = {Strategy::round_robin, Strategy::least_connections,
                                              Strategy::weighted_capacity,
                                              Strategy::lowest_latency, Strategy::hash};

constexpr std::string_view to_string(Strategy s) noexcept {
  switch (s) {
    case Strategy::round_robin: return "round_robin";
    case Strategy::least_connections: return "least_connections";
    case Strategy::weighted_capacity: return "weighted_capacity";
    case Strategy::lowest_latency: return "lowest_latency";
    case Strategy::hash: return "hash";
  }
  return "round_robin";
}

// Exact config names only ("hash", not "Hash"); nullopt for anything else.
constexpr std::optional<Strategy> parse_strategy(std::string_view name) noexcept {
  for (Strategy s : all_strategies) {
    if (to_string(s) == name) return s;
  }
  return std::nullopt;
}

}  // namespace tradeshard::balance

#pragma once
// Vocabulary shared by every domain module. Standard library only.
#include <cstdint>
#include <string_view>

namespace tradeshard::core {

// Prices are integer ticks and quantities integer lots of the instrument (see Instrument).
using Ticks = std::int64_t;
using Lots = std::int64_t;
// Index of an instrument in the InstrumentTable; stable for the life of the process.
using InstrumentId = std::uint32_t;

enum class Side : std::uint8_t { buy, sell };

constexpr Side opposite(Side s) noexcept { return s == Side::buy ? Side::sell : Side::buy; }
constexpr std::string_view to_string(Side s) noexcept { return s == Side::buy ? "buy" : "sell"; }

enum class Priority : std::uint8_t { normal, vip, emergency };
constexpr std::string_view to_string(Priority p) noexcept {
  switch (p) {
    case Priority::normal: return "normal";
    case Priority::vip: return "vip";
    case Priority::emergency: return "emergency";
  }
  return "normal";
}

}  // namespace tradeshard::core

#pragma once
// Stable 64-bit hashing (xxHash XXH3) for placement decisions: the same input hashes the same on
// every run, build and machine, unlike std::hash. Standard-library-only header.
#include <cstdint>
#include <string_view>

namespace tradeshard::core {

[[nodiscard]] std::uint64_t stable_hash(std::string_view bytes) noexcept;
[[nodiscard]] std::uint64_t stable_hash(std::string_view bytes, std::uint64_t seed) noexcept;

}  // namespace tradeshard::core

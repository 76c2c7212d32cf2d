#pragma once
// The dashboard's files (src/web, and uPlot from npm), embedded at build time by
// scripts/embed-assets.cmake: GET / and GET /assets/{name} serve them from memory.
#include <span>
#include <string_view>

namespace tradeshard::net::web {

struct Asset {
  std::string_view name;          // "index.html", "app.js", "uPlot.iife.min.js", ...
  std::string_view content_type;
  std::string_view body;
};

[[nodiscard]] std::span<const Asset> assets();

[[nodiscard]] inline const Asset* find_asset(std::string_view name) {
  for (const auto& a : assets()) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

}  // namespace tradeshard::net::web

#pragma once
// Shared by the fuzz targets: a decoder result as text (every field), so two results compare
// field by field and a mismatch prints something readable. Views are copied out at once.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <type_traits>

#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::fuzz {

inline std::string dec(const core::Decimal& d) { return std::to_string(d.units) + "e-" + std::to_string(d.scale); }
inline std::string sv(std::string_view s) { return "[" + std::string(s) + "]"; }

inline std::string describe(const protocol::DecodeResult& r) {
  if (const auto* e = std::get_if<app::DecodeError>(&r)) {
    return "error " + std::string(app::to_string(e->code)) + " " + sv(e->message) + sv(e->type) + sv(e->id);
  }
  return std::visit(
      [](const auto& c) -> std::string {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, app::OrderCmd>) {
          return "order " + sv(c.id) + sv(c.account) + sv(c.symbol) + std::to_string(int(c.side)) +
                 std::to_string(int(c.kind)) + std::to_string(int(c.tif)) + std::to_string(int(c.priority)) +
                 (c.has_price ? dec(c.price) : "-") + " " + dec(c.qty);
        } else if constexpr (std::is_same_v<T, app::CancelCmd>) {
          return "cancel " + sv(c.id) + sv(c.symbol) + sv(c.account);
        } else if constexpr (std::is_same_v<T, app::ReplaceCmd>) {
          return "replace " + sv(c.id) + sv(c.account) + (c.has_price ? dec(c.price) : "-") + " " +
                 (c.has_qty ? dec(c.qty) : "-");
        } else if constexpr (std::is_same_v<T, app::CancelAllCmd>) {
          return "cancel_all " + sv(c.symbol) + sv(c.account);
        } else if constexpr (std::is_same_v<T, app::TickCmd>) {
          return "tick " + sv(c.symbol) + " " + std::to_string(c.bid) + " " + std::to_string(c.ask) + " " +
                 std::to_string(c.bid_size) + " " + std::to_string(c.ask_size) + " " + std::to_string(c.ts_ms) +
                 " " + std::to_string(c.update_id);
        } else if constexpr (std::is_same_v<T, app::PingCmd>) {
          return "ping";
        } else if constexpr (std::is_same_v<T, app::SubscribeCmd>) {
          std::string out = c.subscribe ? "subscribe" : "unsubscribe";
          for (const auto ch : *c.channels) out += sv(ch);
          return out;
        } else {
          return "login " + sv(c.api_key);
        }
      },
      std::get<app::Command>(r));
}

// A broken invariant: print what differed and abort, which libFuzzer reports as a crash.
[[noreturn]] inline void mismatch(const char* what, std::string_view input, const std::string& want,
                                  const std::string& got) {
  std::fprintf(stderr, "fuzz: %s\n  input: %.*s\n  alone: %s\n  got:   %s\n", what, static_cast<int>(input.size()),
               input.data(), want.c_str(), got.c_str());
  std::abort();
}

}  // namespace tradeshard::fuzz

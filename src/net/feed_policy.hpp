#pragma once
// Pure pieces of the feed client, kept apart from the sockets so tests can drive them directly:
// the feed URL, the reconnect backoff (capped exponential, full jitter) and the conflation batch.
// Standard library only; no clock reads (the caller passes the RNG).
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/app/messages.hpp"

namespace tradeshard::net {

struct FeedUrl {
  bool tls = false;
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // "80" / "443" when the URL has none
  std::string target;  // path and query, "/" when empty
  // Host header value: host, plus ":port" when the port is not the scheme's default.
  [[nodiscard]] std::string host_header() const;
};

// ws://host[:port][/path][?query] or wss://…; nullopt when the URL is malformed.
[[nodiscard]] std::optional<FeedUrl> parse_feed_url(std::string_view url);

// Reconnect delays: attempt n waits uniform[0, min(cap, base * 2^n)] ms ("full jitter", so many
// clients dropped together do not come back together). reset() after a healthy connection.
class Backoff {
 public:
  Backoff(std::uint32_t base_ms, std::uint32_t cap_ms) noexcept : base_ms_(base_ms), cap_ms_(cap_ms) {}

  // The current attempt's ceiling in ms, before jitter.
  [[nodiscard]] std::uint32_t ceiling_ms() const noexcept {
    std::uint64_t c = base_ms_;
    for (std::uint32_t i = 0; i < attempt_ && c < cap_ms_; ++i) c *= 2;
    return static_cast<std::uint32_t>(c < cap_ms_ ? c : cap_ms_);
  }
  // Draws this attempt's delay and moves to the next attempt.
  template <class Rng>
  [[nodiscard]] std::uint32_t next_ms(Rng& rng) {
    const auto ceiling = ceiling_ms();
    if (attempt_ < 63) ++attempt_;
    return std::uniform_int_distribution<std::uint32_t>(0, ceiling)(rng);
  }
  void reset() noexcept { attempt_ = 0; }
  [[nodiscard]] std::uint32_t attempt() const noexcept { return attempt_; }

 private:
  std::uint32_t base_ms_, cap_ms_;
  std::uint32_t attempt_ = 0;
};

// Ticks read while the feed is behind: only the latest per symbol is kept, in the order symbols
// were first seen in this batch. Owns copies of the symbols (a TickCmd only views its frame).
class ConflationBatch {
 public:
  // Keeps `t` as the symbol's latest; true when it replaced an older tick (one conflated).
  bool put(const app::TickCmd& t);
  [[nodiscard]] bool empty() const noexcept { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }
  // Calls f(const app::TickCmd&) for each kept tick, then empties the batch.
  template <class F>
  void drain(F&& f) {
    for (auto& e : entries_) {
      e.tick.symbol = e.symbol;
      f(static_cast<const app::TickCmd&>(e.tick));
    }
    entries_.clear();
    index_.clear();
  }

 private:
  struct Entry {
    std::string symbol;
    app::TickCmd tick;
  };
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  std::vector<Entry> entries_;
  std::unordered_map<std::string, std::size_t, Hash, std::equal_to<>> index_;
};

inline bool ConflationBatch::put(const app::TickCmd& t) {
  if (const auto it = index_.find(t.symbol); it != index_.end()) {
    auto& e = entries_[it->second];
    e.tick = t;
    e.tick.symbol = e.symbol;
    return true;
  }
  entries_.push_back({std::string(t.symbol), t});
  entries_.back().tick.symbol = entries_.back().symbol;
  index_.emplace(entries_.back().symbol, entries_.size() - 1);
  return false;
}

inline std::string FeedUrl::host_header() const {
  const bool default_port = port == (tls ? "443" : "80");
  const std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  return default_port ? h : h + ":" + port;
}

inline std::optional<FeedUrl> parse_feed_url(std::string_view url) {
  FeedUrl u;
  if (url.rfind("wss://", 0) == 0) {
    u.tls = true;
    url.remove_prefix(6);
  } else if (url.rfind("ws://", 0) == 0) {
    url.remove_prefix(5);
  } else {
    return std::nullopt;
  }
  const auto slash = url.find_first_of("/?");
  std::string_view authority = url.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (!u.target.empty() && u.target.front() == '?') u.target.insert(0, "/");
  if (authority.find('@') != std::string_view::npos) return std::nullopt;  // no credentials in URLs
  std::string_view port;
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    const auto rest = authority.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') return std::nullopt;
      port = rest.substr(1);
    }
  } else {
    const auto colon = authority.find(':');
    u.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) port = authority.substr(colon + 1);
  }
  if (u.host.empty()) return std::nullopt;
  if (port.empty()) {
    u.port = u.tls ? "443" : "80";
  } else {
    if (port.size() > 5) return std::nullopt;
    unsigned v = 0;
    for (const char c : port) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<unsigned>(c - '0');
    }
    if (v == 0 || v > 65535) return std::nullopt;
    u.port = std::string(port);
  }
  return u;
}

}  // namespace tradeshard::net

#include "tradeshard/app/channels.hpp"

#include <algorithm>

#include "tradeshard/core/hash.hpp"

namespace tradeshard::app {

std::size_t Channels::Hash::operator()(std::string_view s) const noexcept {
  return static_cast<std::size_t>(core::stable_hash(s));
}

bool Channels::valid_name(std::string_view n) noexcept {
  if (n == "signals" || n == "stats") return true;
  const auto colon = n.find(':');
  if (colon == std::string_view::npos || colon + 1 >= n.size()) return false;
  const auto kind = n.substr(0, colon);
  auto rest = n.substr(colon + 1);
  if (kind == "bars") {
    const auto c2 = rest.rfind(':');
    if (c2 == std::string_view::npos || c2 == 0) return false;
    const auto interval = rest.substr(c2 + 1);
    if (interval != "1s" && interval != "1m") return false;
    rest = rest.substr(0, c2);
  } else if (kind != "quotes" && kind != "trades" && kind != "depth") {
    return false;
  }
  return !rest.empty() && rest.size() <= 32 && rest.find(':') == std::string_view::npos;
}

void Channels::subscribe(std::uint64_t conn, std::string_view channel) {
  auto it = subs_.find(channel);
  if (it == subs_.end()) it = subs_.emplace(std::string(channel), std::vector<std::uint64_t>{}).first;
  auto& v = it->second;
  if (std::find(v.begin(), v.end(), conn) != v.end()) return;
  v.push_back(conn);
  by_conn_[conn].emplace_back(channel);
  ++version_;
}

void Channels::unsubscribe(std::uint64_t conn, std::string_view channel) {
  const auto it = subs_.find(channel);
  if (it == subs_.end()) return;
  auto& v = it->second;
  v.erase(std::remove(v.begin(), v.end(), conn), v.end());
  if (v.empty()) subs_.erase(it);
  ++version_;
  const auto c = by_conn_.find(conn);
  if (c != by_conn_.end()) {
    auto& names = c->second;
    names.erase(std::remove(names.begin(), names.end(), channel), names.end());
    if (names.empty()) by_conn_.erase(c);
  }
}

void Channels::drop(std::uint64_t conn) {
  const auto c = by_conn_.find(conn);
  if (c == by_conn_.end()) return;
  const auto names = std::move(c->second);
  by_conn_.erase(c);
  ++version_;
  for (const auto& n : names) {
    const auto it = subs_.find(n);
    if (it == subs_.end()) continue;
    auto& v = it->second;
    v.erase(std::remove(v.begin(), v.end(), conn), v.end());
    if (v.empty()) subs_.erase(it);
  }
}

const std::vector<std::uint64_t>* Channels::subscribers(std::string_view channel) const {
  const auto it = subs_.find(channel);
  return it == subs_.end() ? nullptr : &it->second;
}

}  // namespace tradeshard::app

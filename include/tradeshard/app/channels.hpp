#pragma once
// Subscription registry: channel name -> subscribed connections. Loop thread only.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace tradeshard::app {

class Channels {
 public:
  // Channel names: "signals", "stats", "quotes:SYM", "bars:SYM:1s|1m", "trades:SYM", "depth:SYM".
  [[nodiscard]] static bool valid_name(std::string_view name) noexcept;

  void subscribe(std::uint64_t conn, std::string_view channel);
  void unsubscribe(std::uint64_t conn, std::string_view channel);
  void drop(std::uint64_t conn);  // on disconnect
  // Subscribers of a channel, or nullptr (no allocation on the publish path).
  [[nodiscard]] const std::vector<std::uint64_t>* subscribers(std::string_view channel) const;
  [[nodiscard]] std::size_t channel_count() const noexcept { return subs_.size(); }
  // Changes whenever any subscription does: lets publishers cache "has subscribers" answers.
  [[nodiscard]] std::uint64_t version() const noexcept { return version_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  std::unordered_map<std::string, std::vector<std::uint64_t>, Hash, std::equal_to<>> subs_;
  std::unordered_map<std::uint64_t, std::vector<std::string>> by_conn_;
  std::uint64_t version_ = 0;
};

}  // namespace tradeshard::app

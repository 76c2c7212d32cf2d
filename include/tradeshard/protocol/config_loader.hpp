#pragma once
// Loads and validates the JSON config. Start-up only: errors are exceptions carrying one line
// that names the offending key ("workers[1].capacity: must be > 0").
#include <stdexcept>
#include <string>

#include "tradeshard/app/config.hpp"

namespace tradeshard::protocol {

class ConfigError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[nodiscard]] app::Config load_config_file(const std::string& path);
[[nodiscard]] app::Config parse_config(const std::string& json_text);
// "127.0.0.1:7100" / "[::1]:7100" -> Endpoint; throws ConfigError naming `key`.
[[nodiscard]] app::Endpoint parse_endpoint(const std::string& text, const std::string& key);

}  // namespace tradeshard::protocol

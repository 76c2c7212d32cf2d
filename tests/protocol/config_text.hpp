#pragma once
// Tests only: a minimal valid config with one section given as JSON text, and the loader's
// refusal of it (empty when it loads).
#include <string>

#include "tradeshard/protocol/config_loader.hpp"

namespace tradeshard::testing {

// One instrument and one worker, the ledger in memory unless `section` is "ledger".
inline std::string config_with(const std::string& section, const std::string& json) {
  std::string text = R"({
  "instruments": [{ "symbol": "BTCUSDT", "class": "crypto", "base": "BTC", "quote": "USDT", "tick_size": "0.01", "lot_size": "0.00001" }],
  "workers": [{"id":"w-one","capacity":10}],
)";
  if (section != "ledger") text += R"(  "ledger": { "durable": false, "data_dir": "" },
)";
  return text + "  \"" + section + "\": " + json + "}";
}

inline std::string refusal_of(const std::string& text) {
  try {
    (void)protocol::parse_config(text);
  } catch (const protocol::ConfigError& e) {
    return e.what();
  }
  return {};
}

}  // namespace tradeshard::testing

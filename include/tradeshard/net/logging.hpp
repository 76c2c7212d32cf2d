#pragma once
// One named spdlog logger per component (main, net, http, gateway, ledger, feed), to stderr
// (journald under systemd).
#include <string>

namespace tradeshard::net {

void setup_logging(const std::string& level);

}  // namespace tradeshard::net

#include "tradeshard/net/logging.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace tradeshard::net {

void setup_logging(const std::string& level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  const auto lvl = spdlog::level::from_str(level);
  for (const char* name : {"main", "net", "http", "gateway", "ledger", "feed", "history"}) {
    if (spdlog::get(name)) continue;
    auto logger = std::make_shared<spdlog::logger>(name, sink);
    logger->set_level(lvl);
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%-5l%$ [%n] %v");
    spdlog::register_logger(logger);
  }
  spdlog::flush_on(spdlog::level::info);
}

}  // namespace tradeshard::net

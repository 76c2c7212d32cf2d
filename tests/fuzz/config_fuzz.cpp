// libFuzzer target: the config loader (protocol::parse_config) on arbitrary text. A rejected
// config must be a protocol::ConfigError (one line naming the key); any other exception type
// escaping is reported. A config the loader accepts must let the daemon build its object graph
// (Gateway and Server, as Daemon does, without listening) without a crash or UB (an exception is
// main()'s clean exit 1): within the size caps below, which
// only keep each run fast (the loader's own bounds allow e.g. 2^20 partitions x 4096 ring points).
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <typeinfo>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/net/logging.hpp"
#include "tradeshard/net/server.hpp"
#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;

namespace {
bool small_enough(const app::Config& c) {
  const auto& p = c.partitioning;
  return std::uint64_t{p.partitions} * p.points_per_partition <= (1u << 16) && p.max_symbols <= (1u << 20) &&
         c.replication.log_keep <= (1u << 16) && p.bar_history <= 4096;
}
}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  net::setup_logging("off");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  app::Config config;
  try {
    config = protocol::parse_config(text);
  } catch (const protocol::ConfigError&) {
    return 0;  // the expected outcome for most inputs
  } catch (const std::exception& e) {
    std::fprintf(stderr, "fuzz: parse_config threw %s, not ConfigError: %s\n", typeid(e).name(), e.what());
    std::abort();
  }
  if (!small_enough(config)) return 0;
  config.ledger.durable = false;  // the WAL has its own target (wal_fuzz)
  // A std::exception from here is fine (main() prints it and exits 1); a crash or UB is not.
  try {
    boost::asio::io_context io{1};
    app::Gateway gateway(config);
    net::Server server(io, config, gateway);
    (void)gateway.degraded_reasons();
  } catch (const std::exception&) {
  }
  return 0;
}

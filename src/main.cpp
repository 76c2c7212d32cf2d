// tradeshardd: parse flags, load config, build the daemon, run the loop.
#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cstring>
#include <fstream>
#include <iostream>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/net/daemon.hpp"
#include "tradeshard/net/logging.hpp"
#include "tradeshard/protocol/codec.hpp"
#include "tradeshard/protocol/config_loader.hpp"

namespace {

void usage() {
  std::cout << "usage: tradeshardd [--config FILE] [--check-config] [--ports-file FILE] [--version]\n"
               "  --config FILE      JSON config (default config/tradeshard.json)\n"
               "  --check-config     validate the config and exit 0 (valid) or 1 (invalid)\n"
               "  --ports-file FILE  write the bound ports as JSON once listening (for tests, port 0)\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "config/tradeshard.json";
  std::string ports_file;
  bool check_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--version") {
      std::cout << "tradeshardd " TRADESHARD_VERSION "\n";
      return 0;
    } else if (a == "--help" || a == "-h") {
      usage();
      return 0;
    } else if (a == "--check-config") {
      check_only = true;
    } else if ((a == "--config" || a == "--ports-file") && i + 1 < argc) {
      (a == "--config" ? config_path : ports_file) = argv[++i];
    } else {
      std::cerr << "tradeshardd: unknown argument \"" << a << "\" (see --help)\n";
      return 1;
    }
  }
  if (!tradeshard::protocol::decoder_supported_by_cpu()) {
    std::cerr << "tradeshardd: this binary's JSON decoder was built for AVX2/BMI1/PCLMUL/LZCNT, which this CPU "
                 "lacks; rebuild with cmake -DTRADESHARD_JSON_ISA=generic\n";
    return 1;
  }
  tradeshard::app::Config config;
  try {
    config = tradeshard::protocol::load_config_file(config_path);
  } catch (const std::exception& e) {
    std::cerr << "tradeshardd: " << config_path << ": " << e.what() << "\n";
    return 1;
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  tradeshard::net::setup_logging(config.log_level);
  try {
    tradeshard::net::Daemon daemon(config);
    return daemon.run(ports_file);
  } catch (const std::exception& e) {
    spdlog::get("main")->critical("{}", e.what());
    std::cerr << "tradeshardd: " << e.what() << "\n";
    return 1;
  }
}

// tradeshardd: parse flags, load config, build the daemon, run the loop.
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <string>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/net/daemon.hpp"
#include "tradeshard/net/logging.hpp"
#include "tradeshard/net/worker_process.hpp"
#include "tradeshard/protocol/codec.hpp"
#include "tradeshard/protocol/config_loader.hpp"

namespace {

// Raises the soft RLIMIT_NOFILE to the hard limit, as nginx (worker_rlimit_nofile) and redis
// (maxclients) do: a shell or a plain fork hands the daemon a soft limit of 1024, far below
// limits.max_connections (each connection is one fd), while the hard limit (systemd's LimitNOFILE,
// `ulimit -Hn`) is what the administrator allows. Logged, with a warning when even the hard limit
// cannot hold limits.max_connections plus the daemon's own files. Under the unit, LimitNOFILE sets
// both limits, so nothing is raised; a refused raise is logged and the daemon goes on with the
// limit it has.
void raise_open_files_limit(std::uint32_t max_connections) {
  auto log = spdlog::get("main");
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) {
    log->warn("getrlimit(RLIMIT_NOFILE) failed: {}", std::strerror(errno));
    return;
  }
  const rlim_t before = r.rlim_cur;
  if (r.rlim_cur != r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &r) != 0) {
      log->warn("cannot raise the open files limit from {} to {}: {}", before, r.rlim_max, std::strerror(errno));
      r.rlim_cur = before;
    }
  }
  const auto show = [](rlim_t v) { return v == RLIM_INFINITY ? std::string("unlimited") : std::to_string(v); };
  log->info("open files limit: soft {} (was {}), hard {}", show(r.rlim_cur), show(before), show(r.rlim_max));
  constexpr rlim_t kReserve = 64;  // listeners, log, ledger files, epoll, timers
  if (r.rlim_cur != RLIM_INFINITY && r.rlim_cur < static_cast<rlim_t>(max_connections) + kReserve) {
    log->warn("open files limit {} is below limits.max_connections ({}) + {}: accepts will fail with EMFILE first; "
              "raise LimitNOFILE / ulimit -Hn",
              show(r.rlim_cur), max_connections, kReserve);
  }
}

void usage() {
  std::cout << "usage: tradeshardd [--config FILE] [--role ROLE] [--check-config] [--ports-file FILE] [--version]\n"
               "  --config FILE      JSON config (default config/tradeshard.json)\n"
               "  --role ROLE        embedded (default), gateway, worker, node or replica: overrides cluster.role (docs/cluster.md)\n"
               "  --check-config     validate the config and exit 0 (valid) or 1 (invalid)\n"
               "  --ports-file FILE  write the bound ports as JSON once listening (for tests, port 0)\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "config/tradeshard.json";
  std::string ports_file;
  std::string role;
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
    } else if ((a == "--config" || a == "--ports-file" || a == "--role") && i + 1 < argc) {
      (a == "--config" ? config_path : a == "--role" ? role : ports_file) = argv[++i];
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
  if (!role.empty()) {
    bool known = false;
    for (const auto r : tradeshard::app::all_roles) {
      if (role == tradeshard::app::to_string(r)) {
        config.cluster.role = r;
        known = true;
      }
    }
    if (!known) {
      std::cerr << "tradeshardd: --role must be embedded, gateway, worker, node or replica (got \"" << role << "\")\n";
      return 1;
    }
    if (config.cluster.role == tradeshard::app::Role::gateway && config.cluster.workers.empty() &&
        config.cluster.etcd.empty()) {
      std::cerr << "tradeshardd: " << config_path
                << ": cluster.workers: a gateway needs at least one worker process (or cluster.etcd to find them)\n";
      return 1;
    }
    if ((config.cluster.role == tradeshard::app::Role::worker || config.cluster.role == tradeshard::app::Role::node ||
         config.cluster.role == tradeshard::app::Role::replica) &&
        config.cluster.id.empty()) {
      std::cerr << "tradeshardd: " << config_path << ": cluster.id: a " << tradeshard::app::to_string(config.cluster.role)
                << " needs an id\n";
      return 1;
    }
    if (config.cluster.role == tradeshard::app::Role::replica && config.cluster.etcd.empty()) {
      std::cerr << "tradeshardd: " << config_path
                << ": cluster.etcd: a replica follows the ledger's log in etcd: list etcd's endpoints\n";
      return 1;
    }
  }
  if (check_only) {
    std::cout << config_path << ": ok\n";
    return 0;
  }
  tradeshard::net::setup_logging(config.log_level);
  raise_open_files_limit(config.limits.max_connections);
  try {
    if (config.cluster.role == tradeshard::app::Role::worker || config.cluster.role == tradeshard::app::Role::node) {
      tradeshard::net::WorkerProcess worker(config);
      return worker.run(ports_file);
    }
    if (config.cluster.role == tradeshard::app::Role::gateway && !config.cluster.etcd.empty()) {
      // A gateway on etcd follows the ledger as a standby until it wins the election, then leads
      // (docs/cluster.md "Standby gateways"): the second daemon starts from what the first followed.
      std::optional<tradeshard::net::Promotion> won;
      {
        tradeshard::net::Daemon standby(config);
        const int rc = standby.run(ports_file);
        won = standby.take_promotion();
        if (!won) return rc;
      }
      tradeshard::net::Daemon leader(config, std::move(*won));
      return leader.run(ports_file);
    }
    tradeshard::net::Daemon daemon(config);
    return daemon.run(ports_file);
  } catch (const std::exception& e) {
    spdlog::get("main")->critical("{}", e.what());
    std::cerr << "tradeshardd: " << e.what() << "\n";
    return 1;
  }
}

#pragma once
// The running daemon: one io_context, the Gateway, the network Server, signals and sd_notify.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "tradeshard/app/config.hpp"
#include "tradeshard/cluster/etcd_codec.hpp"

namespace tradeshard::net {

// What a standby gateway won (docs/cluster.md "Standby gateways"), handed from the daemon that
// followed the ledger to the one that leads: the leader key (its lease kept alive across), the
// ledger's state as it followed it, and its HTTP listener (the same address all along).
struct Promotion {
  cluster::etcd::LeaderKey leader;
  std::int64_t lease_ttl = 0;
  std::uint64_t version = 0;     // the state below is at this version
  std::string state;             // the ledger codec's snapshot of it
  std::uint64_t next_batch = 0;  // the first version of the next batch in etcd (0: not known)
  int http_fd = -1;
};

class Daemon {
 public:
  // Embedded, a static gateway, a replica, or (cluster.etcd) a gateway that starts as a standby:
  // it follows the ledger and campaigns; run() returns once it has won (take_promotion()).
  explicit Daemon(const app::Config& config);
  // A gateway on etcd that won the election: it leads.
  Daemon(const app::Config& config, Promotion won);
  ~Daemon();
  // Runs until SIGINT/SIGTERM (or, for a standby, until it wins); returns the process exit code.
  int run(const std::string& ports_file);
  // A standby that won: what the leading daemon starts from. Empty otherwise.
  [[nodiscard]] std::optional<Promotion> take_promotion();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradeshard::net

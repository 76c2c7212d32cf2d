#pragma once
// `tradeshardd --role worker|node` (docs/cluster.md): matching engines (worker) or processing
// nodes (node) for a gateway, behind one link listener. One io_context; the link's state is the
// link::PeerHost's (WorkerHost or NodeHost).
#include <memory>
#include <string>

#include "tradeshard/app/config.hpp"

namespace tradeshard::net {

class WorkerProcess {
 public:
  explicit WorkerProcess(const app::Config& config);
  ~WorkerProcess();
  // Runs until SIGINT/SIGTERM; returns the process exit code. ports_file: {"link":PORT} once listening.
  int run(const std::string& ports_file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradeshard::net

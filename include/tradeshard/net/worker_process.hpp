#pragma once
// `tradeshardd --role worker` (docs/cluster.md): matching engines for a gateway, behind one link
// listener. One io_context; the link's state is link::WorkerHost's.
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

#pragma once
// The running daemon: one io_context, the Gateway, the network Server, signals and sd_notify.
#include <memory>
#include <string>

#include "tradeshard/app/config.hpp"

namespace tradeshard::net {

class Daemon {
 public:
  explicit Daemon(const app::Config& config);
  ~Daemon();
  // Runs until SIGINT/SIGTERM; returns the process exit code.
  int run(const std::string& ports_file);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace tradeshard::net

#pragma once
// A fresh directory under the system's temp dir, removed with everything in it at the end.
#include <unistd.h>

#include <filesystem>
#include <random>
#include <string>

namespace tradeshard::testing {

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::random_device rd;
    path = std::filesystem::temp_directory_path() /
           ("tradeshard-history-test-" + std::to_string(rd()) + "-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

}  // namespace tradeshard::testing

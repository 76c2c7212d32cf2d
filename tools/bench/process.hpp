#pragma once
// Child processes of the suites (the daemon and the baseline servers), CPU placement and the
// /proc and HTTP probes the report needs.
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace tradeshard::bench {

class ChildProcess {
 public:
  // Spawns argv (argv[0] is a path) with stdout to /dev/null and stderr to log_path, with the
  // affinity of `cpu` inherited from the start (-1 = unpinned); waits until ports_file holds
  // {"tcp":N,...} (or 20 s). Throws std::runtime_error on failure.
  ChildProcess(std::vector<std::string> argv, const std::string& ports_file, const std::string& log_path, int cpu);
  ~ChildProcess();  // SIGTERM, then SIGKILL after 3 s
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] std::uint16_t tcp_port() const noexcept { return tcp_port_; }
  [[nodiscard]] std::uint16_t http_port() const noexcept { return http_port_; }
  // utime + stime of the process so far, seconds; 0 when unreadable.
  [[nodiscard]] double cpu_seconds() const;

 private:
  pid_t pid_ = -1;
  std::uint16_t tcp_port_ = 0, http_port_ = 0;
};

// Pins every thread of pid (0 = this process) to cpu; false when the kernel refused.
bool pin_to_cpu(pid_t pid, int cpu);
// The CPUs pid's main thread may run on, e.g. "1" or "0-1".
[[nodiscard]] std::string affinity_of(pid_t pid);
[[nodiscard]] int online_cpus();
[[nodiscard]] std::string cpu_model();
// Body of GET path on 127.0.0.1:port (HTTP/1.1, Connection: close); empty on failure.
[[nodiscard]] std::string http_get(std::uint16_t port, const std::string& path);
// This executable's path (/proc/self/exe).
[[nodiscard]] std::string self_exe();
// A fresh directory under /tmp.
[[nodiscard]] std::string make_temp_dir();
// Output of a shell command's first line (trimmed); empty on failure.
[[nodiscard]] std::string command_line_output(const std::string& command);

}  // namespace tradeshard::bench

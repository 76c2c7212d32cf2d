#pragma once
// What tradeshard-chaos reads about the daemon from outside: /proc (liveness, VmRSS, open fds,
// RLIMIT_NOFILE, the pid owning a listening port) and small blocking HTTP GETs.
#include <sys/types.h>

#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <optional>
#include <string>

namespace tradeshard::chaos {

// False when /proc/PID is gone or the process is a zombie (it died and was not reaped yet).
[[nodiscard]] bool process_alive(pid_t pid);
// VmRSS in KiB; 0 when unreadable.
[[nodiscard]] std::uint64_t rss_kib(pid_t pid);
// Entries of /proc/PID/fd other than files on disk (sockets, pipes, timers, eventfds: what a
// connection can leak); -1 when unreadable.
[[nodiscard]] int fd_count(pid_t pid);
// fd_count once it reads the same three times in a row 100 ms apart (up to 3 s): a baseline not
// taken while the daemon briefly holds a file or a closing HTTP connection.
[[nodiscard]] int stable_fd_count(pid_t pid);
// "Max open files" soft and hard of /proc/PID/limits (pid 0 = this process); -1 = unlimited/unknown.
struct NofileLimit {
  long long soft = -1, hard = -1;
};
[[nodiscard]] NofileLimit nofile_limit(pid_t pid);
// Raises this process's RLIMIT_NOFILE soft limit to its hard limit; returns the new soft limit.
long long raise_own_nofile();
// The pid of the (accessible) process with a socket listening on 127.x:port; -1 when not found.
[[nodiscard]] pid_t pid_listening_on(std::uint16_t port);

struct HttpResult {
  int status = 0;       // 0 = no response (refused, closed, timeout)
  std::string body;
  std::string error;
};
// GET path on host:port (HTTP/1.1, Connection: close), blocking up to timeout_ms.
[[nodiscard]] HttpResult http_get(const boost::asio::ip::address& host, std::uint16_t port, const std::string& path,
                                  int timeout_ms = 5000);

[[nodiscard]] std::string cpu_model();
// The 1-minute load average of /proc/loadavg, e.g. "3.52".
[[nodiscard]] std::string load_average();
[[nodiscard]] std::string tail_of_file(const std::string& path, std::size_t lines);

}  // namespace tradeshard::chaos

#include "probe.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <deque>
#include <fstream>
#include <sstream>
#include <thread>

namespace tradeshard::chaos {
namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string proc_path(pid_t pid, const char* what) {
  return pid == 0 ? std::string("/proc/self/") + what : "/proc/" + std::to_string(pid) + "/" + what;
}

}  // namespace

bool process_alive(pid_t pid) {
  std::istringstream in(read_file(proc_path(pid, "status")));
  std::string line;
  bool any = false;
  while (std::getline(in, line)) {
    any = true;
    if (line.rfind("State:", 0) == 0) {
      return line.find('Z') == std::string::npos && line.find("X (dead)") == std::string::npos;
    }
  }
  return any;
}

std::uint64_t rss_kib(pid_t pid) {
  std::istringstream in(read_file(proc_path(pid, "status")));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

int fd_count(pid_t pid) {
  const std::string dir = proc_path(pid, "fd");
  DIR* d = ::opendir(dir.c_str());
  if (!d) return -1;
  int n = 0;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    // Files on disk do not count: the history's storage engine opens and closes its own as it
    // flushes and compacts. What a connection can leak (sockets, pipes, timers, eventfds) does.
    char target[256];
    const ssize_t len = ::readlink((dir + "/" + e->d_name).c_str(), target, sizeof target);
    if (len > 0 && target[0] == '/') continue;
    ++n;
  }
  ::closedir(d);
  return n;
}

int stable_fd_count(pid_t pid) {
  int last = fd_count(pid), same = 1;
  for (int i = 0; i < 30 && same < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int n = fd_count(pid);
    same = n == last ? same + 1 : 1;
    last = n;
  }
  return last;
}

NofileLimit nofile_limit(pid_t pid) {
  std::istringstream in(read_file(proc_path(pid, "limits")));
  std::string line;
  NofileLimit l;
  while (std::getline(in, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream f(line.substr(14));
    std::string soft, hard;
    f >> soft >> hard;
    l.soft = soft == "unlimited" ? -1 : std::atoll(soft.c_str());
    l.hard = hard == "unlimited" ? -1 : std::atoll(hard.c_str());
  }
  return l;
}

long long raise_own_nofile() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0) return -1;
  if (r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &r);
    ::getrlimit(RLIMIT_NOFILE, &r);
  }
  return r.rlim_cur == RLIM_INFINITY ? -1 : static_cast<long long>(r.rlim_cur);
}

pid_t pid_listening_on(std::uint16_t port) {
  // /proc/net/tcp: "sl local rem st ... inode"; LISTEN is state 0A.
  std::istringstream in(read_file("/proc/net/tcp") + read_file("/proc/net/tcp6"));
  std::string line, inode;
  while (std::getline(in, line) && inode.empty()) {
    std::istringstream f(line);
    std::string sl, local, remote, st, txrx, tr, retr, uid, timeout, ino;
    if (!(f >> sl >> local >> remote >> st >> txrx >> tr >> retr >> uid >> timeout >> ino)) continue;
    const auto colon = local.rfind(':');
    if (st != "0A" || colon == std::string::npos) continue;
    if (std::strtoul(local.c_str() + colon + 1, nullptr, 16) == port) inode = ino;
  }
  if (inode.empty()) return -1;
  const std::string want = "socket:[" + inode + "]";
  DIR* proc = ::opendir("/proc");
  if (!proc) return -1;
  pid_t found = -1;
  while (const dirent* e = ::readdir(proc)) {
    if (found > 0) break;
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    const std::string fds = std::string("/proc/") + e->d_name + "/fd";
    DIR* d = ::opendir(fds.c_str());
    if (!d) continue;
    while (const dirent* f = ::readdir(d)) {
      char buf[128];
      const std::string link = fds + "/" + f->d_name;
      const ssize_t n = ::readlink(link.c_str(), buf, sizeof buf);
      if (n > 0 && std::string(buf, static_cast<std::size_t>(n)) == want) {
        found = static_cast<pid_t>(std::atoi(e->d_name));
        break;
      }
    }
    ::closedir(d);
  }
  ::closedir(proc);
  return found;
}

HttpResult http_get(const boost::asio::ip::address& host, std::uint16_t port, const std::string& path,
                    int timeout_ms) {
  namespace asio = boost::asio;
  namespace beast = boost::beast;
  namespace http = beast::http;
  asio::io_context io;
  beast::tcp_stream stream(io);
  beast::flat_buffer buf;
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, host.to_string() + ":" + std::to_string(port));
  req.set(http::field::connection, "close");
  http::response<http::string_body> res;
  HttpResult out;
  stream.expires_after(std::chrono::milliseconds(timeout_ms));
  stream.async_connect(asio::ip::tcp::endpoint(host, port), [&](const beast::error_code& ec) {
    if (ec) {
      out.error = "connect: " + ec.message();
      return;
    }
    http::async_write(stream, req, [&](const beast::error_code& ec, std::size_t) {
      if (ec) {
        out.error = "write: " + ec.message();
        return;
      }
      http::async_read(stream, buf, res, [&](const beast::error_code& ec, std::size_t) {
        if (ec) {
          out.error = "read: " + ec.message();
          return;
        }
        out.status = static_cast<int>(res.result_int());
        out.body = res.body();
      });
    });
  });
  io.run();
  beast::error_code ignored;
  stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  stream.socket().close(ignored);
  return out;
}

std::string cpu_model() {
  std::istringstream in(read_file("/proc/cpuinfo"));
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const auto colon = line.find(':');
      return colon == std::string::npos ? line : line.substr(colon + 2);
    }
  }
  return "unknown";
}

std::string load_average() {
  std::istringstream in(read_file("/proc/loadavg"));
  std::string one;
  in >> one;
  return one;
}

std::string tail_of_file(const std::string& path, std::size_t lines) {
  std::istringstream in(read_file(path));
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::string out;
  for (const auto& l : last) out += l + "\n";
  return out;
}

}  // namespace tradeshard::chaos

#include "tradeshard/net/notifier.hpp"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace tradeshard::net {

Notifier::Notifier(boost::asio::io_context& io) : timer_(io) {
  if (const char* p = std::getenv("NOTIFY_SOCKET"); p && *p) socket_path_ = p;
  if (const char* w = std::getenv("WATCHDOG_USEC"); w && *w) {
    // WATCHDOG_PID, when set, must name us; otherwise the watchdog is for another process.
    const char* pid = std::getenv("WATCHDOG_PID");
    if (!pid || std::strtol(pid, nullptr, 10) == static_cast<long>(::getpid())) {
      watchdog_ = std::chrono::microseconds(std::strtoll(w, nullptr, 10));
    }
  }
}

void Notifier::notify(std::string_view state) {
  if (socket_path_.empty()) return;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof(addr.sun_path)) return;
  std::memcpy(addr.sun_path, socket_path_.data(), socket_path_.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';  // abstract namespace
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  if (::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    spdlog::get("main")->warn("sd_notify to {} failed: {}", socket_path_, std::strerror(errno));
  }
  ::close(fd);
}

void Notifier::start_watchdog() {
  if (socket_path_.empty() || watchdog_.count() <= 0) return;
  spdlog::get("main")->info("systemd watchdog every {} ms", watchdog_.count() / 2000);
  arm();
}

void Notifier::arm() {
  timer_.expires_after(watchdog_ / 2);
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec) return;
    notify("WATCHDOG=1");
    arm();
  });
}

void Notifier::stop_watchdog() { timer_.cancel(); }

}  // namespace tradeshard::net

#pragma once
// systemd's notify protocol without libsystemd: datagrams to $NOTIFY_SOCKET (path or abstract
// "@name"), READY/STATUS/STOPPING, and WATCHDOG=1 every WATCHDOG_USEC/2 on the loop.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <string>
#include <string_view>

namespace tradeshard::net {

class Notifier {
 public:
  explicit Notifier(boost::asio::io_context& io);
  [[nodiscard]] bool enabled() const noexcept { return !socket_path_.empty(); }
  void notify(std::string_view state);  // e.g. "READY=1\nSTATUS=serving"
  void start_watchdog();
  void stop_watchdog();

 private:
  void arm();
  std::string socket_path_;
  std::chrono::microseconds watchdog_{0};
  boost::asio::steady_timer timer_;
};

}  // namespace tradeshard::net

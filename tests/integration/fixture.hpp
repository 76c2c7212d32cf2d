#pragma once
// Integration-test harness: starts the real tradeshardd binary on free loopback ports with a
// config derived from config/tradeshard.json, and talks to it over real sockets.
#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace tradeshard::testing {

using nlohmann::json;

// The default config with ports 0, a temp ledger dir, and `patch` merged in (RFC 7386 style).
json test_config(const json& patch = json::object());

class DaemonProcess {
 public:
  // Starts the daemon; waits until it is listening. extra_env: "NAME=value" entries. A gateway on
  // etcd is first a standby (its ports file says so): with `until_leading` the wait goes on until
  // it leads and its client listener is open; without, it ends at the standby's HTTP listener.
  explicit DaemonProcess(const json& config, std::vector<std::string> extra_env = {}, bool until_leading = true);
  ~DaemonProcess();
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;

  [[nodiscard]] unsigned short tcp_port() const { return tcp_port_; }
  [[nodiscard]] unsigned short http_port() const { return http_port_; }
  [[nodiscard]] unsigned short link_port() const { return link_port_; }  // a --role worker's link
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] const std::string& dir() const { return dir_; }
  // Sends sig and waits; returns the exit status (or 128+signal), or nullopt after timeout.
  std::optional<int> stop(int sig, std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  [[nodiscard]] std::string log() const;  // the daemon's stderr so far
  // Restarts with the same config and data dir (after a stop or kill).
  void restart();
  // A standby started with until_leading = false: waits until it leads (its ports file is
  // rewritten then); false after `limit`.
  bool wait_leading(std::chrono::milliseconds limit);
  // Whether restart() waits until it leads (a gateway on etcd restarted beside a leader does not).
  void set_until_leading(bool on) { until_leading_ = on; }

 private:
  void spawn();
  json config_;
  std::vector<std::string> env_;
  std::string dir_;
  pid_t pid_ = -1;
  bool until_leading_ = true;
  unsigned short tcp_port_ = 0, http_port_ = 0, link_port_ = 0;
};

// Runs a command line; returns {exit code, stdout+stderr}.
std::pair<int, std::string> run_command(const std::vector<std::string>& argv,
                                        const std::vector<std::string>& extra_env = {});

// Blocking TCP JSON-lines client with timeouts.
class LineClient {
 public:
  explicit LineClient(unsigned short port, int rcvbuf = 0);
  ~LineClient();
  LineClient(const LineClient&) = delete;
  LineClient& operator=(const LineClient&) = delete;
  void send_raw(const std::string& bytes);
  void send(const json& msg) { send_raw(msg.dump() + "\n"); }
  // Next line, or nullopt on timeout / close.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  std::optional<json> read_json(std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // The first message of the given type (and id, when not empty), from those already read and
  // kept, or read now; messages that do not match are kept for later calls, never dropped.
  std::optional<json> read_until(const std::string& type, const std::string& id = "",
                                 std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));
  // True when the peer closed the connection within timeout (reads and discards data).
  bool closed_by_peer(std::chrono::milliseconds timeout);
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_ = -1;
  std::string buf_;
  std::vector<json> backlog_;
};

struct HttpReply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  [[nodiscard]] json body_json() const { return json::parse(body, nullptr, false); }
};

HttpReply http_request(unsigned short port, const std::string& method, const std::string& target,
                       const std::string& body = "", const std::string& bearer = "");

}  // namespace tradeshard::testing

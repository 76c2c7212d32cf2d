// Process lifecycle: config validation, signals, sd_notify, Prometheus exposition format.
#include <doctest/doctest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <thread>

#include "fixture.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;

namespace {
std::string write_config(const std::string& name, const json& c) {
  const std::string path = "/tmp/tradeshard-cfg-" + std::to_string(::getpid()) + "-" + name + ".json";
  std::ofstream(path) << c.dump();
  return path;
}
}  // namespace

// Ensure --check-config accepts the shipped config and names the key of each bad value.
TEST_CASE("Config: --check-config and start-up validation") {
  auto ok = run_command({TRADESHARDD_PATH, "--check-config", "--config", std::string(TRADESHARD_SOURCE_DIR) + "/config/tradeshard.json"});
  CHECK(ok.first == 0);
  const std::vector<std::pair<json, std::string>> bad = {
      {{{"listen", {{"tcp", "nonsense"}}}}, "listen.tcp"},
      {{{"workers", {{{"id", "w"}}}}}, "workers[0].capacity"},
      {{{"workers", {{{"id", "w"}, {"capacity", -5}}}}}, "workers[0].capacity"},
      {{{"limits", {{"max_line_bytes", 1}}}}, "limits.max_line_bytes"},
      {{{"balancer", {{"strategy", "random"}}}}, "balancer.strategy"},
      {{{"limits", {{"max_lne_bytes", 100}}}}, "limits.max_lne_bytes: unknown key"},
      {{{"instruments", {{{"symbol", "X"}, {"class", "c"}, {"base", "A"}, {"quote", "B"}, {"tick_size", "abc"}, {"lot_size", "1"}}}}},
       "instruments[0].tick_size"},
      // Found by the config fuzz target: accepted, then asserted in ProcessorNode (debug builds) or
      // ran an imbalance strategy that signals both sides at once (release builds).
      {{{"partitioning", {{"imbalance_ratio", "0.5"}}}}, "partitioning.imbalance_ratio"},
      // Passed --check-config up to 2^20, then the partitioner refused it and the daemon exited.
      {{{"partitioning", {{"partitions", 65537}}}}, "partitioning.partitions"},
  };
  int i = 0;
  for (const auto& [patch, key] : bad) {
    const auto path = write_config("bad" + std::to_string(i++), test_config(patch));
    auto r = run_command({TRADESHARDD_PATH, "--check-config", "--config", path});
    CHECK_MESSAGE(r.first == 1, key);
    CHECK_MESSAGE(r.second.find(key) != std::string::npos, r.second);
    // The daemon itself refuses to start with the same one-line message.
    auto s = run_command({TRADESHARDD_PATH, "--config", path});
    CHECK(s.first == 1);
    CHECK(s.second.find(key) != std::string::npos);
    ::unlink(path.c_str());
  }
  auto v = run_command({TRADESHARDD_PATH, "--version"});
  CHECK(v.first == 0);
  CHECK(v.second.find("tradeshardd ") == 0);
  auto missing = run_command({TRADESHARDD_PATH, "--config", "/nonexistent/x.json"});
  CHECK(missing.first == 1);
  CHECK(missing.second.find("cannot open") != std::string::npos);
}

// Ensure SIGTERM and SIGINT stop the daemon with exit 0 within 2 s, with clients connected.
TEST_CASE("Lifecycle: SIGTERM/SIGINT exit 0 within 2 s") {
  for (int sig : {SIGTERM, SIGINT}) {
    DaemonProcess d(test_config());
    LineClient a(d.tcp_port());
    LineClient b(d.http_port());  // idle keep-alive HTTP connection
    a.send({{"type", "ping"}});
    REQUIRE(a.read_json());
    const auto t0 = std::chrono::steady_clock::now();
    auto code = d.stop(sig, 2000ms);
    REQUIRE(code.has_value());
    CHECK(*code == 0);
    CHECK(std::chrono::steady_clock::now() - t0 < 2000ms);
    CHECK(a.closed_by_peer(500ms));
  }
}

// Ensure the notify protocol: READY=1 after listening, WATCHDOG=1 at half the period, STOPPING=1.
TEST_CASE("Lifecycle: sd_notify to a fake NOTIFY_SOCKET") {
  const std::string path = "/tmp/tradeshard-notify-" + std::to_string(::getpid()) + ".sock";
  ::unlink(path.c_str());
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  timeval tv{0, 200000};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::vector<std::string> got;
  {
    DaemonProcess d(test_config(), {"NOTIFY_SOCKET=" + path, "WATCHDOG_USEC=200000"});
    const auto until = std::chrono::steady_clock::now() + 700ms;
    char buf[512];
    while (std::chrono::steady_clock::now() < until) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) got.emplace_back(buf, static_cast<std::size_t>(n));
    }
    CHECK(d.stop(SIGTERM).value_or(-1) == 0);
    for (int i = 0; i < 5; ++i) {
      const auto n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) got.emplace_back(buf, static_cast<std::size_t>(n));
    }
  }
  ::close(fd);
  ::unlink(path.c_str());
  REQUIRE(!got.empty());
  CHECK(got.front().find("READY=1") != std::string::npos);
  CHECK(got.front().find("STATUS=") != std::string::npos);
  int watchdogs = 0;
  for (const auto& g : got) watchdogs += g == "WATCHDOG=1";
  CHECK(watchdogs >= 3);  // every 100 ms over ~700 ms
  CHECK(got.back().find("STOPPING=1") != std::string::npos);
}

// Ensure /metrics passes promtool's exposition-format check.
TEST_CASE("Metrics: promtool check metrics accepts /metrics") {
  const std::string promtool = std::string(TRADESHARD_SOURCE_DIR) + "/build/tools/promtool";
  if (::access(promtool.c_str(), X_OK) != 0) {
    FAIL("promtool missing at " << promtool << " (scripts/install-deps.sh unpacks it)");
  }
  DaemonProcess d(test_config());
  LineClient c(d.tcp_port());
  c.send({{"type", "ping"}});
  REQUIRE(c.read_json());
  auto m = http_request(d.http_port(), "GET", "/metrics");
  REQUIRE(m.status == 200);
  const std::string file = d.dir() + "/metrics.txt";
  std::ofstream(file) << m.body;
  auto r = run_command({"sh", "-c", promtool + " check metrics < " + file});
  CHECK_MESSAGE(r.first == 0, r.second);
}

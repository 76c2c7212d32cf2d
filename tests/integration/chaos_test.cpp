// Issue 14 items 4 and 6, short variants: tradeshard-chaos (tools/chaos) against the real daemon.
// A soak of hostile connections must leave the daemon serving with its resting orders intact and
// its fds and RSS back; a hold of many idle and subscribed connections must close back to the
// baseline. The full figures (1,000-connection soak, 10,000-connection hold) come from
// `make soak` (scripts/soak.sh) and are recorded in docs/benchmarks.md.
//
// These cases run from their own CTest entry (`chaos`, which sets TRADESHARD_CHAOS=1) so that their
// ~25 s do not count against the `integration` entry's timeout; `test_integration` run by hand
// skips them unless TRADESHARD_CHAOS=1. Under the ASan build (TRADESHARD_SANITIZED=1) they scale
// down and widen the latency and RSS bounds: there they are about memory errors, not speed (ASan's
// quarantine alone keeps freed memory resident).
#include <doctest/doctest.h>
#include <signal.h>

#include <cstdlib>
#include <string>

#include "fixture.hpp"

using namespace tradeshard::testing;

namespace {

bool env_on(const char* name) {
  const char* v = std::getenv(name);
  return v && *v && std::string(v) != "0";
}

bool chaos_enabled() { return env_on("TRADESHARD_CHAOS"); }
bool sanitized() { return env_on("TRADESHARD_SANITIZED"); }

std::string tail(const std::string& s, std::size_t n) { return s.size() > n ? s.substr(s.size() - n) : s; }

std::vector<std::string> base_args(DaemonProcess& d) {
  return {TRADESHARD_CHAOS_PATH, "--ports-file", d.dir() + "/ports.json", "--pid", std::to_string(d.pid()),
          "--daemon-log", d.dir() + "/stderr.log"};
}

}  // namespace

TEST_CASE("chaos soak: hostile connections; daemon serves, resting orders intact, fds and RSS back" *
          doctest::skip(!chaos_enabled())) {
  DaemonProcess d(test_config());
  const bool asan = sanitized();
  auto args = base_args(d);
  const std::vector<std::string> more = {
      "--soak", asan ? "3" : "4", "--rounds", "2", "--connections", asan ? "150" : "300", "--tick-rate", asan ? "100" : "300",
      "--order-rate", "100",
      // Bounds for a shared 2-CPU machine running other tests and builds at once: they catch a loop
      // that hangs or blocks for seconds, not a slow one (make soak reports the real figures).
      "--canary-p99-ms", asan ? "2000" : "500", "--canary-max-ms", asan ? "5000" : "2000",
      "--rss-slack-mib", asan ? "1024" : "64"};
  args.insert(args.end(), more.begin(), more.end());
  const auto [code, out] = run_command(args);
  INFO("tradeshard-chaos output:\n" << out);
  INFO("daemon log (tail):\n" << tail(d.log(), 6000));
  CHECK(code == 0);
  CHECK(d.log().find("open files limit: soft") != std::string::npos);
  CHECK(d.stop(SIGTERM) == std::optional<int>(0));
}

TEST_CASE("chaos hold: many idle and subscribed TCP/WebSocket connections, canary pongs, all close to baseline" *
          doctest::skip(!chaos_enabled())) {
  DaemonProcess d(test_config());
  const bool asan = sanitized();
  auto args = base_args(d);
  const std::vector<std::string> more = {"--hold", asan ? "500" : "2000", "--hold-seconds", "2",
                                         "--canary-p99-ms", asan ? "2000" : "500", "--canary-max-ms",
                                         asan ? "5000" : "2000"};
  args.insert(args.end(), more.begin(), more.end());
  const auto [code, out] = run_command(args);
  INFO("tradeshard-chaos output:\n" << out);
  INFO("daemon log (tail):\n" << tail(d.log(), 6000));
  CHECK(code == 0);
  CHECK(d.stop(SIGTERM) == std::optional<int>(0));
}

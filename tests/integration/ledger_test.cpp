// The replicated ledger end to end: quorum, faults, consistency, durability across kill -9.
#include <doctest/doctest.h>
#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "fixture.hpp"

using namespace tradeshard::testing;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {
const char* kToken = "change-me-admin-token-0123";

json order(const std::string& id, const std::string& account, const std::string& side, const std::string& price,
           const std::string& qty) {
  return {{"type", "order"}, {"id", id},   {"account", account}, {"symbol", "BTCUSDT"},
          {"side", side},    {"price", price}, {"qty", qty}};
}

// One crossing trade of 1 lot between seller S and buyer B; true when B's fill arrived.
bool trade(LineClient& s, LineClient& b, int n) {
  const auto id = std::to_string(n);
  s.send(order("s" + id, "S", "sell", "100.00", "0.00001"));
  b.send(order("b" + id, "B", "buy", "100.00", "0.00001"));
  return b.read_until("fill", "b" + id, 3000ms).has_value();
}

std::string wal_file(const DaemonProcess& d) {
  for (const auto& e : fs::directory_iterator(d.dir() + "/ledger")) {
    if (e.path().extension() == ".log") return e.path().string();
  }
  return {};
}
}  // namespace

// Ensure a trade commits on every replica and accounts survive kill -9 identically.
TEST_CASE("Ledger: trade, consistency, identical accounts after kill -9") {
  DaemonProcess d(test_config());
  {
    LineClient s(d.tcp_port()), b(d.tcp_port());
    for (int i = 0; i < 5; ++i) REQUIRE(trade(s, b, i));
  }
  auto dep = http_request(d.http_port(), "POST", "/admin/accounts/B/deposit", R"({"currency":"USDT","amount":"250.5"})", kToken);
  CHECK(dep.status == 200);
  auto cons = http_request(d.http_port(), "GET", "/replicas/consistency").body_json();
  CHECK(cons["replica_count"] == 3);
  CHECK(cons["is_consistent"] == true);
  CHECK(cons["version_lag"] == 0);
  CHECK(cons["versions"][0]["version"] == 6);
  const auto before_b = http_request(d.http_port(), "GET", "/accounts/B").body;
  const auto before_s = http_request(d.http_port(), "GET", "/accounts/S").body;
  auto b = json::parse(before_b);
  CHECK(b["positions"][0]["qty"] == "0.00005");
  CHECK(b["positions"][0]["avg_price"] == "100.0000000");
  CHECK(b["cash"][0]["balance"] == "250.4950000");
  REQUIRE(d.stop(SIGKILL).has_value());
  d.restart();
  CHECK(http_request(d.http_port(), "GET", "/accounts/B").body == before_b);
  CHECK(http_request(d.http_port(), "GET", "/accounts/S").body == before_s);
  CHECK(http_request(d.http_port(), "GET", "/accounts/nobody").status == 404);
}

// Trade ids are the trades' ledger versions: after a deposit (a version of its own) and a restart
// (kill -9, then SIGTERM) the next trades go on from the ledger's version, never repeating one.
// Before, ids restarted at 1 with every process, so the history held the same id twice.
TEST_CASE("Ledger: trade ids are ledger versions and never repeat across restarts") {
  DaemonProcess d(test_config());
  std::vector<std::uint64_t> ids;
  const auto trade_ids = [&](int from, int n) {
    LineClient s(d.tcp_port()), b(d.tcp_port());
    for (int i = from; i < from + n; ++i) {
      const auto id = std::to_string(i);
      s.send(order("s" + id, "S", "sell", "100.00", "0.00001"));
      b.send(order("b" + id, "B", "buy", "100.00", "0.00001"));
      const auto bf = b.read_until("fill", "b" + id, 3000ms);
      const auto sf = s.read_until("fill", "s" + id, 3000ms);
      REQUIRE(bf.has_value());
      REQUIRE(sf.has_value());
      CHECK((*bf)["trade_id"] == (*sf)["trade_id"]);  // one id for both sides
      ids.push_back(std::stoull((*bf)["trade_id"].get<std::string>().substr(2)));  // "t-N"
    }
  };
  trade_ids(0, 3);
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3});
  CHECK(http_request(d.http_port(), "POST", "/admin/accounts/B/deposit", R"({"currency":"USDT","amount":"10"})", kToken)
            .status == 200);  // version 4
  REQUIRE(d.stop(SIGKILL).has_value());
  d.restart();
  trade_ids(3, 2);
  REQUIRE(d.stop(SIGTERM).has_value());
  d.restart();
  trade_ids(5, 1);
  CHECK(ids == std::vector<std::uint64_t>{1, 2, 3, 5, 6, 7});
  CHECK(http_request(d.http_port(), "GET", "/replicas").body_json()["committed_version"] == 7);
}

// Ensure losing quorum degrades health and refuses orders; recovery resyncs the replicas.
TEST_CASE("Ledger: quorum loss, pause/resume, resync") {
  DaemonProcess d(test_config());
  LineClient s(d.tcp_port()), b(d.tcp_port());
  REQUIRE(trade(s, b, 1));
  CHECK(http_request(d.http_port(), "POST", "/admin/replicas/replica-3/pause", "", kToken).status == 200);
  REQUIRE(trade(s, b, 2));  // 2 of 3 is still a quorum
  auto reps = http_request(d.http_port(), "GET", "/replicas").body_json();
  CHECK(reps["replicas"][2]["lag"] == 1);
  CHECK(http_request(d.http_port(), "GET", "/replicas/consistency").body_json()["is_consistent"] == false);
  CHECK(http_request(d.http_port(), "POST", "/admin/replicas/replica-2/fail", "", kToken).status == 200);
  auto h = http_request(d.http_port(), "GET", "/health");
  CHECK(h.status == 503);
  CHECK(h.body_json()["status"] == "degraded");
  b.send(order("x", "B", "buy", "100.00", "0.00001"));
  CHECK(b.read_until("reject", "x").value()["reason"] == "ledger_unavailable");
  CHECK(http_request(d.http_port(), "POST", "/admin/replicas/replica-3/resume", "", kToken).status == 200);
  CHECK(http_request(d.http_port(), "POST", "/admin/replicas/replica-2/recover", "", kToken).status == 200);
  CHECK(http_request(d.http_port(), "GET", "/health").status == 200);
  auto cons = http_request(d.http_port(), "GET", "/replicas/consistency").body_json();
  CHECK(cons["is_consistent"] == true);
  CHECK(cons["versions"][2]["version"] == 2);
  REQUIRE(trade(s, b, 3));
  CHECK(http_request(d.http_port(), "POST", "/admin/replicas/nope/pause", "", kToken).status == 404);
  CHECK(http_request(d.http_port(), "POST", "/admin/replicas/replica-1/pause", "").status == 401);
}

// Ensure a torn last record is cut away at start-up and a corrupt middle record stops start-up.
TEST_CASE("Ledger: torn tail is truncated, corrupt middle refuses to start") {
  DaemonProcess d(test_config());
  {
    LineClient s(d.tcp_port()), b(d.tcp_port());
    for (int i = 0; i < 3; ++i) REQUIRE(trade(s, b, i));
  }
  const auto before = http_request(d.http_port(), "GET", "/accounts/B").body;
  REQUIRE(d.stop(SIGKILL).has_value());
  const auto wal = wal_file(d);
  REQUIRE(!wal.empty());
  const auto size = fs::file_size(wal);
  {  // a torn append: a frame header promising more bytes than follow
    std::ofstream f(wal, std::ios::binary | std::ios::app);
    const char torn[] = {0x40, 0, 0, 0, 0x11, 0x22, 0x33, 0x44, 0x55};
    f.write(torn, sizeof torn);
  }
  d.restart();
  CHECK(http_request(d.http_port(), "GET", "/accounts/B").body == before);
  CHECK(d.log().find("torn last record") != std::string::npos);
  CHECK(fs::file_size(wal) == size);
  REQUIRE(d.stop(SIGKILL).has_value());
  {  // flip a byte inside the first record's payload: data after it is intact
    std::fstream f(wal, std::ios::binary | std::ios::in | std::ios::out);
    f.seekg(30);
    char c = 0;
    f.read(&c, 1);
    f.seekp(30);
    c = static_cast<char>(c ^ 0x5a);
    f.write(&c, 1);
  }
  CHECK_THROWS(d.restart());
  CHECK(d.log().find("corrupt record") != std::string::npos);
}

// Ensure 20 kill -9 restarts under load lose no acknowledged trade.
TEST_CASE("Ledger: 20 kill -9 restarts under load, zero acknowledged trades lost") {
  DaemonProcess d(test_config());
  std::mt19937 rng(20);
  long acknowledged = 0, attempted = 0;
  for (int round = 0; round < 20; ++round) {
    std::atomic<bool> stop{false};
    std::atomic<long> acked{0}, tried{0};
    std::thread load([&, round] {
      try {
        LineClient s(d.tcp_port()), b(d.tcp_port());
        for (int i = 0; !stop; ++i) {
          ++tried;
          if (!trade(s, b, round * 100000 + i)) break;
          ++acked;
        }
      } catch (const std::exception&) {
        // the daemon was killed mid-send
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 70));
    REQUIRE(d.stop(SIGKILL).has_value());
    stop = true;
    load.join();
    acknowledged += acked;
    attempted += tried;
    d.restart();
    auto acct = http_request(d.http_port(), "GET", "/accounts/B");
    long lots = 0;
    if (acct.status == 200) {
      const auto qty = acct.body_json()["positions"][0]["qty"].get<std::string>();  // "0.00042"
      lots = std::stol(qty.substr(qty.find('.') + 1)) + 100000 * std::stol(qty.substr(0, qty.find('.')));
    }
    CHECK_MESSAGE(lots >= acknowledged, "round " << round << ": ledger has " << lots << " lots, clients saw "
                                                 << acknowledged << " fills");
    CHECK(lots <= attempted);
    // Cancel-on-disconnect may leave nothing resting; a resting sell from a killed run is gone.
  }
  CHECK(acknowledged > 20);
  MESSAGE("acknowledged trades across 20 kill -9 restarts: " << acknowledged);
}

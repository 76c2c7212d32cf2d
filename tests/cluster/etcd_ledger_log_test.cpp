// The gateway's ledger log in etcd (src/net/etcd_ledger_log.hpp) against a real etcd: group
// commit (one batch in flight, the next growing), an unknown outcome resolved by reading the head
// back (through a fault proxy that cuts the connection: every version lands exactly once, in
// order), and a lost leadership ending in `fatal`, with nothing more written.
#include "etcd_ledger_log.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>
#include <optional>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/spdlog.h>

#include "cluster/etcd_await.hpp"
#include "cluster/etcd_process.hpp"
#include "cluster/fault_proxy.hpp"
#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/ledger_log.hpp"

using namespace tradeshard;
using namespace tradeshard::testing;
namespace etcd = cluster::etcd;
using namespace std::chrono_literals;

namespace {

// Runs `io` until `done` holds or `limit` passes.
template <class Pred>
bool run_until(boost::asio::io_context& io, Pred done, std::chrono::milliseconds limit) {
  for (const auto end = std::chrono::steady_clock::now() + limit; std::chrono::steady_clock::now() < end;) {
    if (done()) return true;
    io.restart();
    io.run_for(5ms);
  }
  return done();
}

// A leader key won on `endpoints`, and the records etcd holds under /t.
struct Fixture {
  explicit Fixture(int octet) : etcd(1, octet) {
    if (!spdlog::get("ledger")) spdlog::create<spdlog::sinks::null_sink_mt>("ledger");
    cluster::EtcdOptions o;
    o.endpoints = etcd.endpoints();
    client = std::make_unique<cluster::EtcdClient>(io, o);
    won = std::make_unique<WonElection>(io, *client, "/t/gateway");
    leader = won->leader;
    lease_id = won->lease_id;
  }
  ~Fixture() {
    won.reset();
    client->stop();
  }
  std::vector<std::uint64_t> stored_versions() {
    const cluster::LedgerKeys keys{"/t"};
    const auto r = await_etcd<etcd::RangeResponse>(io, [&](auto done) {
      client->range(etcd::RangeRequest{keys.log_prefix(), etcd::prefix_end(keys.log_prefix()), 0, 0, false, false},
                    std::move(done));
    });
    REQUIRE(r.ok());
    std::vector<std::uint64_t> out;
    for (const auto& kv : r.value->kvs) {
      const auto records = cluster::decode_batch(kv.value, *keys.log_version(kv.key));
      REQUIRE(records);
      for (const auto& rec : *records) {
        CHECK(rec.bytes == "cs-" + std::to_string(rec.version));
        out.push_back(rec.version);
      }
    }
    return out;
  }
  std::size_t batches() {
    const auto r = await_etcd<etcd::RangeResponse>(io, [&](auto done) {
      client->range(etcd::RangeRequest{"/t/ledger/log/", etcd::prefix_end("/t/ledger/log/"), 0, 0, false, true},
                    std::move(done));
    });
    REQUIRE(r.ok());
    return static_cast<std::size_t>(r.value->count);
  }
  EtcdCluster etcd;
  boost::asio::io_context io;
  std::unique_ptr<cluster::EtcdClient> client;
  // The writer under test on `endpoints` (etcd's, or a proxy's), recording what its hooks hear.
  std::unique_ptr<net::EtcdLedgerLog> open_log(std::vector<std::string> endpoints) {
    app::ClusterConfig cc;
    cc.etcd = std::move(endpoints);
    cc.prefix = "/t";
    return std::make_unique<net::EtcdLedgerLog>(
        io, cc, leader, net::LedgerLogSeed{},
        net::EtcdLedgerLog::Hooks{[this](std::uint64_t v) { durable.push_back(v); },
                                  [this](const std::string& why) { fatal = why; }});
  }
  std::vector<std::uint64_t> durable;
  std::string fatal;
  std::unique_ptr<WonElection> won;
  std::int64_t lease_id = 0;
  etcd::LeaderKey leader;
};

std::vector<std::uint64_t> one_to(std::uint64_t n) {
  std::vector<std::uint64_t> v;
  for (std::uint64_t i = 1; i <= n; ++i) v.push_back(i);
  return v;
}

}  // namespace

TEST_CASE("etcd ledger log: one batch in flight, the next grows meanwhile; every version once, in order") {
  Fixture f(56);
  auto owned = f.open_log(f.etcd.endpoints());
  auto& log = *owned;
  auto& durable = f.durable;
  auto& fatal = f.fatal;
  // 300 change sets in 30 loop turns of 10: far fewer batches than turns reach etcd.
  std::uint64_t v = 0;
  for (int turn = 0; turn < 30; ++turn) {
    for (int i = 0; i < 10; ++i) {
      ++v;
      REQUIRE(log.stage(v, "cs-" + std::to_string(v)));
    }
    REQUIRE(log.flush());
    f.io.restart();
    f.io.poll();
  }
  CHECK_FALSE(log.stage(v + 2, "gap"));  // not the next version
  REQUIRE(run_until(f.io, [&] { return !durable.empty() && durable.back() == 300; }, 10s));
  CHECK(fatal.empty());
  CHECK(std::is_sorted(durable.begin(), durable.end()));
  CHECK(log.committed_version() == 300);
  CHECK(f.stored_versions() == one_to(300));
  const auto batches = f.batches();
  MESSAGE(batches << " batches for 30 turns");
  CHECK(batches < 30);  // group commit: the turns staged while one was in flight went together
  CHECK(log.to_json()["records"] == 300);
}

TEST_CASE("etcd ledger log: a cut connection's unknown outcome is resolved from the head; nothing lands twice") {
  Fixture f(57);
  FaultProxy proxy("127.0.0.57", f.etcd.member(0).ip, f.etcd.member(0).client_port);
  auto owned = f.open_log({"http://" + proxy.addr()});
  auto& log = *owned;
  auto& durable = f.durable;
  auto& fatal = f.fatal;
  REQUIRE(log.stage(1, "cs-1"));
  REQUIRE(log.flush());
  REQUIRE(run_until(f.io, [&] { return !durable.empty(); }, 5s));
  // Cut: nothing passes; the append of 2..3 gets no answer (ambiguous), and neither do the reads
  // of the head, until the link heals; meanwhile 4..5 are staged behind it.
  proxy.partition(true);
  REQUIRE(log.stage(2, "cs-2"));
  REQUIRE(log.stage(3, "cs-3"));
  REQUIRE(log.flush());
  run_until(f.io, [] { return false; }, 3000ms);  // past the request timeout (2 s)
  REQUIRE(log.stage(4, "cs-4"));
  REQUIRE(log.stage(5, "cs-5"));
  REQUIRE(log.flush());
  CHECK(durable.back() == 1);
  CHECK_FALSE(log.health_problem().empty());  // appends failing: /health says so
  proxy.partition(false);
  proxy.reset();  // the stuck connection goes; the client reconnects
  REQUIRE(run_until(f.io, [&] { return durable.back() == 5; }, 15s));
  CHECK(fatal.empty());
  CHECK(f.stored_versions() == one_to(5));
  CHECK(log.to_json()["resolved"].get<int>() >= 1);
  CHECK(log.health_problem().empty());
}

TEST_CASE("etcd ledger log: after the leader key is gone an append is refused and the writer steps down") {
  Fixture f(58);
  auto owned = f.open_log(f.etcd.endpoints());
  auto& log = *owned;
  auto& durable = f.durable;
  auto& fatal = f.fatal;
  REQUIRE(log.stage(1, "cs-1"));
  REQUIRE(log.flush());
  REQUIRE(run_until(f.io, [&] { return !durable.empty(); }, 5s));
  REQUIRE(await_etcd<etcd::LeaseRevokeResponse>(f.io, [&](auto done) { f.client->lease_revoke(f.lease_id, std::move(done)); }).ok());
  REQUIRE(log.stage(2, "cs-2"));
  REQUIRE(log.flush());
  REQUIRE(run_until(f.io, [&] { return !fatal.empty(); }, 5s));
  CHECK(fatal.find("no longer leads") != std::string::npos);
  CHECK(durable == std::vector<std::uint64_t>{1});
  CHECK_FALSE(log.stage(3, "cs-3"));  // nothing more after stepping down
  CHECK_FALSE(log.flush());
  CHECK(f.stored_versions() == one_to(1));
}

// The gateway's ledger log in etcd (src/net/etcd_ledger_log.hpp) against a real etcd: group
// commit (one batch in flight, the next growing), an unknown outcome resolved by reading the head
// back (through a fault proxy that cuts the connection: every version lands exactly once, in
// order), and a lost leadership ending in `fatal`, with nothing more written.
#include "etcd_ledger_log.hpp"
#include "ledger_follower.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
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
  explicit Fixture(int octet, std::vector<std::string> etcd_args = {}) : etcd(1, octet, std::move(etcd_args)) {
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

// Every key and value under `prefix` in /t's etcd.
std::vector<etcd::KeyValue> under(Fixture& f, const std::string& prefix) {
  const auto r = await_etcd<etcd::RangeResponse>(f.io, [&](auto done) {
    f.client->range(etcd::RangeRequest{prefix, etcd::prefix_end(prefix), 0, 0, false, false}, std::move(done));
  });
  REQUIRE(r.ok());
  return r.value->kvs;
}

void put(Fixture& f, const std::string& key, const std::string& value) {
  REQUIRE(await_etcd<etcd::PutResponse>(f.io, [&](auto done) {
            f.client->put(etcd::PutRequest{key, value, 0, false}, std::move(done));
          }).ok());
}

// Stages `from`..`to` over a few loop turns and waits until etcd has them all.
void append(Fixture& f, net::EtcdLedgerLog& log, std::uint64_t from, std::uint64_t to) {
  for (std::uint64_t v = from; v <= to; ++v) {
    REQUIRE(log.stage(v, "cs-" + std::to_string(v)));
    if (v % 7 == 0 || v == to) {
      REQUIRE(log.flush());
      f.io.restart();
      f.io.poll();
    }
  }
  REQUIRE(run_until(f.io, [&] { return !f.durable.empty() && f.durable.back() == to; }, 10s));
}

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

TEST_CASE("etcd ledger log: a snapshot goes in chunks of at most 1 MB; the switch drops the log and snapshots before it") {
  Fixture f(59);
  const cluster::LedgerKeys keys{"/t"};
  auto owned = f.open_log(f.etcd.endpoints());
  auto& log = *owned;
  append(f, log, 1, 100);
  // What other writers left: a stale chunk under the version about to be written, and chunks of
  // an older and of a newer (never switched to) snapshot.
  put(f, keys.chunk(60, 5), "stale");
  put(f, keys.chunk(10, 0), "older");
  put(f, keys.chunk(900, 0), "never switched to");
  std::string state(2'500'000, '\0');  // three chunks
  for (std::size_t i = 0; i < state.size(); ++i) state[i] = static_cast<char>(i * 7919 % 251);
  log.snapshot(60, state);
  REQUIRE(run_until(f.io, [&] { return log.snapshot_version() == 60; }, 10s));
  CHECK(f.fatal.empty());

  const auto head_kv = under(f, keys.head());
  REQUIRE(head_kv.size() == 1);
  CHECK(*cluster::decode_head(head_kv.front().value) == cluster::LedgerHead{static_cast<std::uint64_t>(f.leader.rev), 100, 60});
  const auto chunks = under(f, keys.snapshot_prefix());
  REQUIRE(chunks.size() == 3);  // only the new snapshot's: the stale, older and newer ones are gone
  std::vector<cluster::ChunkKV> parts;
  for (const auto& kv : chunks) {
    CHECK(kv.value.size() <= cluster::max_chunk_bytes);
    parts.push_back(cluster::ChunkKV{kv.key, kv.value});
  }
  const auto joined = cluster::join_snapshot(keys, 60, parts);
  REQUIRE(joined);
  CHECK(*joined == state);
  // The log: no batch wholly at or before 60 is left, and what is left continues right after it.
  cluster::LogAssembler rest(keys, 60);
  const auto batches = under(f, keys.log_prefix());
  for (const auto& kv : batches) {
    CHECK(cluster::decode_batch(kv.value, *keys.log_version(kv.key))->back().version > 60);
    std::string error;
    CHECK_MESSAGE(rest.add(kv.key, kv.value, &error), error);
  }
  CHECK(rest.ends_at(100));
  REQUIRE(rest.records().size() == 40);
  CHECK(rest.records().front().version == 61);
  CHECK(log.to_json()["snapshots"] == 1);

  // A snapshot of a version etcd does not hold yet waits for it; those asked for meanwhile are
  // replaced by the newest.
  log.snapshot(120, "state at 120");
  log.snapshot(130, "state at 130");
  log.snapshot(140, "state at 140");
  f.io.restart();
  f.io.poll();
  CHECK(log.snapshot_version() == 60);
  append(f, log, 101, 140);
  REQUIRE(run_until(f.io, [&] { return log.snapshot_version() == 140; }, 10s));
  CHECK(log.to_json()["snapshots"] == 3);  // 60, 120, then 140 (130 was replaced before it started)
  CHECK(log.to_json()["snapshots_skipped"] == 1);
  CHECK(under(f, keys.log_prefix()).empty());  // every batch is covered by the snapshot
  const auto last = under(f, keys.snapshot_prefix());
  REQUIRE(last.size() == 1);
  CHECK(last.front().key == keys.chunk(140, 0));
  CHECK(cluster::join_snapshot(keys, 140, {cluster::ChunkKV{last.front().key, last.front().value}}) == "state at 140");
  // The log goes on after it.
  append(f, log, 141, 150);
  cluster::LogAssembler after(keys, 140);
  for (const auto& kv : under(f, keys.log_prefix())) REQUIRE(after.add(kv.key, kv.value));
  CHECK(after.ends_at(150));
  CHECK(f.fatal.empty());
}

TEST_CASE("etcd ledger log: etcd's NOSPACE alarm holds the appends and makes the health degraded until disarmed") {
  // A 1 MiB quota: a few puts of large values raise the alarm.
  Fixture f(60, {"--quota-backend-bytes", "1048576"});
  auto owned = f.open_log(f.etcd.endpoints());
  auto& log = *owned;
  append(f, log, 1, 10);
  CHECK(log.health_problem().empty());
  const std::string filler(300'000, 'x');
  bool full = false;
  for (int i = 0; i < 40 && !full; ++i) {
    const auto r = await_etcd<etcd::PutResponse>(f.io, [&](auto done) {
      f.client->put(etcd::PutRequest{"/filler/" + std::to_string(i), filler, 0, false}, std::move(done));
    });
    full = !r.ok() && r.error.code == etcd::Code::resource_exhausted;
  }
  REQUIRE(full);
  REQUIRE(run_until(f.io, [&] { return log.health_problem().find("NOSPACE") != std::string::npos; }, 5s));
  // Appends are held, not lost: they fail and are retried.
  REQUIRE(log.stage(11, "cs-11"));
  REQUIRE(log.flush());
  run_until(f.io, [] { return false; }, 1000ms);
  CHECK(f.durable.back() == 10);
  CHECK(f.fatal.empty());
  CHECK(log.to_json()["alarms"].size() == 1);
  // The operator's way out (docs/cluster.md): delete what filled it, compact, defragment, disarm.
  const auto deleted = await_etcd<etcd::DeleteResponse>(f.io, [&](auto done) {
    f.client->del(etcd::DeleteRequest{"/filler/", etcd::prefix_end("/filler/"), false}, std::move(done));
  });
  REQUIRE(deleted.ok());
  REQUIRE(await_etcd<etcd::Header>(f.io, [&](auto done) {
            f.client->compact(deleted.value->header.revision, std::move(done));
          }).ok());
  const std::string etcd_path = TRADESHARD_ETCD_PATH;
  const std::string ctl = "ETCDCTL_API=3 " + etcd_path.substr(0, etcd_path.rfind('/') + 1) + "etcdctl --endpoints=" +
                          f.etcd.endpoints().front();
  REQUIRE(std::system((ctl + " defrag >/dev/null && " + ctl + " alarm disarm >/dev/null").c_str()) == 0);
  REQUIRE(run_until(f.io, [&] { return !f.durable.empty() && f.durable.back() == 11; }, 10s));
  REQUIRE(run_until(f.io, [&] { return log.health_problem().empty(); }, 5s));
  CHECK(f.stored_versions() == one_to(11));
}

TEST_CASE("ledger follower: starts from the snapshot and the log after it, follows the appends, reads again after compaction") {
  Fixture f(61);
  auto owned = f.open_log(f.etcd.endpoints());
  auto& log = *owned;
  append(f, log, 1, 30);
  log.snapshot(20, "state at 20");
  REQUIRE(run_until(f.io, [&] { return log.snapshot_version() == 20; }, 10s));

  // The follower reaches etcd through a proxy that can cut it off.
  FaultProxy proxy("127.0.0.61", f.etcd.member(0).ip, f.etcd.member(0).client_port);
  cluster::EtcdOptions o;
  o.endpoints = {"http://" + proxy.addr()};
  auto client = std::make_unique<cluster::EtcdClient>(f.io, o);
  std::uint64_t state = 0;            // the version the sink's state is at
  std::vector<std::uint64_t> loaded;  // snapshots restored
  std::vector<std::uint64_t> applied;
  std::string wrong;
  auto follower = std::make_unique<net::LedgerFollower>(
      f.io, *client, "/t", 0,
      net::LedgerFollower::Sink{[&](std::uint64_t v, const std::string& bytes) {
                                  if (bytes != "state at " + std::to_string(v)) wrong = "snapshot " + bytes;
                                  loaded.push_back(v);
                                  state = v;
                                  return std::string();
                                },
                                [&](std::uint64_t v, const std::string& bytes) {
                                  if (v != state + 1 || bytes != "cs-" + std::to_string(v)) {
                                    wrong = "version " + std::to_string(v) + " after " + std::to_string(state);
                                  }
                                  applied.push_back(v);
                                  state = v;
                                  return std::string();
                                }});
  follower->start();
  REQUIRE(run_until(f.io, [&] { return follower->caught_up() && follower->applied() == 30; }, 10s));
  CHECK(loaded == std::vector<std::uint64_t>{20});
  CHECK(applied.front() == 21);
  // Appends reach it through the watch.
  append(f, log, 31, 40);
  REQUIRE(run_until(f.io, [&] { return follower->applied() == 40; }, 10s));
  CHECK(follower->to_json()["bootstraps"] == 1);
  CHECK(follower->health_problem().empty());

  // Cut off while the leader goes on, snapshots at 50 (deleting the log before it) and etcd
  // compacts: the follower cannot watch from where it stopped, so it reads the ledger again.
  proxy.partition(true);
  append(f, log, 41, 60);
  log.snapshot(50, "state at 50");
  REQUIRE(run_until(f.io, [&] { return log.snapshot_version() == 50; }, 10s));
  const auto now = under(f, "/t/ledger/head");
  REQUIRE(await_etcd<etcd::Header>(f.io, [&](auto done) { f.client->compact(now.front().mod_revision, std::move(done)); }).ok());
  proxy.partition(false);
  proxy.reset();
  REQUIRE(run_until(f.io, [&] { return follower->caught_up() && follower->applied() == 60; }, 15s));
  CHECK(loaded == std::vector<std::uint64_t>{20, 50});
  CHECK(follower->to_json()["bootstraps"] == 2);
  CHECK(wrong.empty());
  CHECK(state == 60);
  // Every version after a snapshot it loaded, once, in order.
  std::vector<std::uint64_t> expect;
  for (std::uint64_t v = 21; v <= 40; ++v) expect.push_back(v);
  for (std::uint64_t v = 51; v <= 60; ++v) expect.push_back(v);
  CHECK(applied == expect);
  append(f, log, 61, 65);
  REQUIRE(run_until(f.io, [&] { return follower->applied() == 65; }, 10s));
  follower.reset();
  client->stop();
}

TEST_CASE("ledger follower: a change set it cannot apply stops it, and its health says why") {
  Fixture f(62);
  auto owned = f.open_log(f.etcd.endpoints());
  auto& log = *owned;
  append(f, log, 1, 5);
  cluster::EtcdOptions o;
  o.endpoints = f.etcd.endpoints();
  auto client = std::make_unique<cluster::EtcdClient>(f.io, o);
  std::uint64_t state = 0;
  auto follower = std::make_unique<net::LedgerFollower>(
      f.io, *client, "/t", 0,
      net::LedgerFollower::Sink{[](std::uint64_t, const std::string&) { return std::string(); },
                                [&](std::uint64_t v, const std::string&) {
                                  if (v == 7) return std::string("refused by the test");
                                  state = v;
                                  return std::string();
                                }});
  follower->start();
  REQUIRE(run_until(f.io, [&] { return follower->applied() == 5; }, 10s));
  append(f, log, 6, 9);
  REQUIRE(run_until(f.io, [&] { return !follower->health_problem().empty(); }, 10s));
  CHECK(follower->health_problem().find("version 7 does not apply: refused by the test") != std::string::npos);
  CHECK(follower->applied() == 6);
  run_until(f.io, [] { return false; }, 300ms);
  CHECK(state == 6);  // nothing after the refused one
  follower.reset();
  client->stop();
}

// The ledger's log in etcd (include/tradeshard/cluster/ledger_log.hpp): keys, the head value,
// batches (built, split at the size limit, decoded strictly), and the fenced append against a
// real etcd: batches land in order while the leader leads and nobody else wrote the head; a
// stale head or a lost leadership is refused with the reason readable.
#include "tradeshard/cluster/ledger_log.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "cluster/etcd_await.hpp"
#include "cluster/etcd_process.hpp"
#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/membership.hpp"

using namespace tradeshard::cluster;
using namespace tradeshard::testing;

TEST_CASE("Ledger log: keys sort as versions; only log keys parse") {
  const LedgerKeys k{"/ts"};
  CHECK(k.head() == "/ts/ledger/head");
  CHECK(k.log(7) == "/ts/ledger/log/00000000000000000007");
  CHECK(k.log(7) < k.log(10));  // etcd orders keys by bytes
  CHECK(k.log_version(k.log(123456789)) == 123456789u);
  CHECK(k.log_version(k.log(UINT64_MAX)) == UINT64_MAX);
  CHECK_FALSE(k.log_version("/ts/ledger/log/7"));
  CHECK_FALSE(k.log_version("/ts/ledger/log/0000000000000000000x"));
  CHECK_FALSE(k.log_version("/other/ledger/log/00000000000000000007"));
  CHECK_FALSE(k.log_version(k.log(0)));  // versions start at 1
}

TEST_CASE("Ledger log: the head round-trips; any other shape is refused with a reason") {
  const LedgerHead h{12, 345, 300};
  CHECK(decode_head(encode(h)) == h);
  std::string error;
  CHECK_FALSE(decode_head(R"({"epoch":1,"version":2})", &error));
  CHECK(error.find("exactly") != std::string::npos);
  CHECK_FALSE(decode_head(R"({"epoch":1,"version":2,"snapshot":0,"x":1})", &error));
  CHECK_FALSE(decode_head(R"({"epoch":0,"version":2,"snapshot":0})", &error));
  CHECK(error.find("epoch") != std::string::npos);
  CHECK_FALSE(decode_head(R"({"epoch":1,"version":2,"snapshot":3})", &error));
  CHECK(error.find("snapshot") != std::string::npos);
  CHECK_FALSE(decode_head(R"({"epoch":1,"version":-2,"snapshot":0})", &error));
  CHECK_FALSE(decode_head(R"({"epoch":"1","version":2,"snapshot":0})", &error));
  CHECK_FALSE(decode_head("[]", &error));
  CHECK_FALSE(decode_head("", &error));
}

TEST_CASE("Ledger log: a batch holds contiguous versions and decodes to the same records") {
  BatchWriter w;
  CHECK(w.empty());
  REQUIRE(w.add(5, "five"));
  REQUIRE(w.add(6, ""));
  REQUIRE(w.add(7, std::string("\0\1\2", 3)));
  CHECK_FALSE(w.add(9, "gap"));   // not next
  CHECK_FALSE(w.add(7, "again"));
  CHECK(w.first() == 5);
  CHECK(w.last() == 7);
  CHECK(w.records() == 3);
  const std::string batch = w.take();
  CHECK(w.empty());
  const auto back = decode_batch(batch, 5);
  REQUIRE(back);
  CHECK(*back == std::vector<LogRecord>{{5, "five"}, {6, ""}, {7, std::string("\0\1\2", 3)}});
  // The next batch continues where the last one ended.
  CHECK_FALSE(w.add(9, "x"));
  CHECK(w.add(8, "x"));
  CHECK(w.first() == 8);
}

TEST_CASE("Ledger log: batches split at the size limit; an oversize record is refused") {
  BatchWriter w;
  const std::string record(10'000, 'r');
  std::uint64_t v = 1;
  std::vector<std::string> batches;
  std::vector<std::uint64_t> firsts;
  for (; v <= 250; ++v) {
    if (!w.fits(record.size())) {
      firsts.push_back(w.first());
      batches.push_back(w.take());
    }
    REQUIRE(w.add(v, record));
  }
  firsts.push_back(w.first());
  batches.push_back(w.take());
  REQUIRE(batches.size() == 3);  // 99 records of 10,012 bytes fill a batch
  std::uint64_t next = 1;
  for (std::size_t i = 0; i < batches.size(); ++i) {
    CHECK(batches[i].size() <= max_batch_bytes);
    const auto records = decode_batch(batches[i], firsts[i]);
    REQUIRE(records);
    CHECK(records->front().version == next);
    next = records->back().version + 1;
  }
  CHECK(next == 251);
  CHECK_FALSE(w.add(251, std::string(max_batch_bytes, 'x')));
  CHECK(w.empty());
}

TEST_CASE("Ledger log: a damaged batch is refused with where and why") {
  BatchWriter w;
  REQUIRE(w.add(3, "abc"));
  REQUIRE(w.add(4, "defg"));
  const std::string good = w.take();
  std::string error;
  CHECK_FALSE(decode_batch(good, 4, &error));  // the key says another first version
  CHECK(error.find("version 3 where 4 belongs") != std::string::npos);
  CHECK_FALSE(decode_batch(good.substr(0, good.size() - 1), 3, &error));
  CHECK(error.find("torn record") != std::string::npos);
  CHECK_FALSE(decode_batch(good.substr(0, good.size() - 4 - 5), 3, &error));
  CHECK(error.find("torn frame header") != std::string::npos);
  CHECK_FALSE(decode_batch("XSLB1\n" + good.substr(6), 3, &error));
  CHECK(error.find("magic") != std::string::npos);
  CHECK_FALSE(decode_batch(good.substr(0, 6), 3, &error));
  CHECK(error.find("empty") != std::string::npos);
}

TEST_CASE("Ledger log: fenced appends land in order; a stale head or a lost leadership is refused") {
  EtcdCluster etcd(1, 55);
  boost::asio::io_context io;
  EtcdOptions o;
  o.endpoints = etcd.endpoints();
  EtcdClient client(io, o);
  const LedgerKeys keys{"/t"};
  WonElection won(io, client, "/t/gateway");
  const etcd::LeaderKey leader = won.leader;
  const auto epoch = static_cast<std::uint64_t>(leader.rev);

  // Two batches, each fenced on the head the last one wrote.
  std::int64_t head_mod = 0;
  BatchWriter w;
  for (std::uint64_t batch = 0; batch < 2; ++batch) {
    for (std::uint64_t i = 0; i < 3; ++i) REQUIRE(w.add(batch * 3 + i + 1, "cs-" + std::to_string(batch * 3 + i + 1)));
    const auto first = w.first();
    const LedgerHead head{epoch, w.last(), 0};
    const auto r = await_etcd<etcd::TxnResponse>(io, [&](auto done) {
      client.txn(append_batch(keys, leader, head_mod, first, w.take(), head), std::move(done));
    });
    REQUIRE(r.ok());
    REQUIRE(r.value->succeeded);
    head_mod = r.value->header.revision;
  }

  // A stale head revision (as if another writer had appended): refused; the leader is still ours.
  REQUIRE(w.add(7, "cs-7"));
  auto r = await_etcd<etcd::TxnResponse>(io, [&](auto done) {
    client.txn(append_batch(keys, leader, head_mod - 1, 7, w.take(), LedgerHead{epoch, 7, 0}), std::move(done));
  });
  REQUIRE(r.ok());
  CHECK_FALSE(r.value->succeeded);
  CHECK_FALSE(lost_leadership(leader, *r.value));
  REQUIRE(r.value->responses.size() == 2);  // the failure branch reads the head that is there
  const auto* head_read = std::get_if<etcd::RangeResponse>(&r.value->responses[1]);
  REQUIRE(head_read != nullptr);
  REQUIRE(head_read->kvs.size() == 1);
  CHECK(decode_head(head_read->kvs[0].value) == LedgerHead{epoch, 6, 0});

  // The leader key gone (another gateway's takeover): refused and read as lost.
  REQUIRE(await_etcd<etcd::LeaseRevokeResponse>(io, [&](auto done) { client.lease_revoke(won.lease_id, std::move(done)); }).ok());
  r = await_etcd<etcd::TxnResponse>(io, [&](auto done) {
    client.txn(append_batch(keys, leader, head_mod, 7, "TSLB1\n", LedgerHead{epoch, 7, 0}), std::move(done));
  });
  REQUIRE(r.ok());
  CHECK_FALSE(r.value->succeeded);
  CHECK(lost_leadership(leader, *r.value));

  // What is stored: two batches in version order, exactly the records written.
  const auto stored = await_etcd<etcd::RangeResponse>(io, [&](auto done) {
    client.range(etcd::RangeRequest{keys.log_prefix(), etcd::prefix_end(keys.log_prefix()), 0, 0, false, false},
                 std::move(done));
  });
  REQUIRE(stored.ok());
  REQUIRE(stored.value->kvs.size() == 2);
  std::uint64_t next = 1;
  for (const auto& kv : stored.value->kvs) {
    const auto first = keys.log_version(kv.key);
    REQUIRE(first);
    CHECK(*first == next);
    const auto records = decode_batch(kv.value, *first);
    REQUIRE(records);
    for (const auto& rec : *records) {
      CHECK(rec.version == next);
      CHECK(rec.bytes == "cs-" + std::to_string(next));
      ++next;
    }
  }
  CHECK(next == 7);
  won.campaign.reset();
  client.stop();
}

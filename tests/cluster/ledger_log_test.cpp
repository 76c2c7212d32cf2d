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

TEST_CASE("Ledger log: snapshot keys sort by version under their own prefix, chunks by index") {
  const LedgerKeys keys{"/ts"};
  CHECK(keys.snapshot(7) == "/ts/ledger/snap/00000000000000000007/");
  CHECK(keys.chunk(7, 2) == "/ts/ledger/snap/00000000000000000007/000002");
  CHECK(keys.chunk(7, 999) < keys.chunk(8, 0));
  CHECK(keys.chunk(7, 10) > keys.chunk(7, 9));
  CHECK_FALSE(keys.log_version(keys.chunk(7, 0)));  // a chunk is never read as a batch
}

TEST_CASE("Ledger log: a snapshot splits into chunks of at most 1 MB and joins back; a damaged set is refused") {
  const LedgerKeys keys{"/ts"};
  std::string state(2'100'000, '\0');
  for (std::size_t i = 0; i < state.size(); ++i) state[i] = static_cast<char>(i % 253);
  const auto chunks = split_snapshot(42, state);
  REQUIRE(chunks.size() == 3);
  std::vector<std::string> names;
  std::vector<ChunkKV> kvs;
  for (std::uint32_t i = 0; i < chunks.size(); ++i) {
    CHECK(chunks[i].size() <= max_chunk_bytes);
    names.push_back(keys.chunk(42, i));
  }
  for (std::size_t i = 0; i < chunks.size(); ++i) kvs.push_back(ChunkKV{names[i], chunks[i]});
  CHECK(join_snapshot(keys, 42, kvs) == state);
  // An empty state is one chunk.
  const auto empty = split_snapshot(1, "");
  REQUIRE(empty.size() == 1);
  const auto one = keys.chunk(1, 0);
  CHECK(join_snapshot(keys, 1, {ChunkKV{one, empty[0]}}) == std::string());

  std::string why;
  auto missing = kvs;
  missing.pop_back();
  CHECK_FALSE(join_snapshot(keys, 42, missing, &why));
  CHECK(why.find("2 of its 3 chunks") != std::string::npos);
  auto gap = kvs;
  gap.erase(gap.begin() + 1);
  CHECK_FALSE(join_snapshot(keys, 42, gap, &why));
  CHECK(why.find("where chunk 1") != std::string::npos);
  CHECK_FALSE(join_snapshot(keys, 43, kvs, &why));  // another version's keys
  const auto other = split_snapshot(41, state);
  auto mixed = kvs;
  mixed[1].value = other[1];  // the right key, another snapshot's chunk
  CHECK_FALSE(join_snapshot(keys, 42, mixed, &why));
  CHECK(why.find("of version 41") != std::string::npos);
  auto torn = kvs;
  const std::string short_value = chunks[0].substr(0, 10);
  torn[0].value = short_value;
  CHECK_FALSE(join_snapshot(keys, 42, torn, &why));
  CHECK(why.find("not a snapshot chunk") != std::string::npos);
  CHECK_FALSE(join_snapshot(keys, 42, {}, &why));
}

TEST_CASE("Ledger log: the log after a snapshot is assembled from where it covers; gaps and short logs are refused") {
  const LedgerKeys keys{"/ts"};
  const auto batch = [](std::uint64_t first, std::uint64_t last) {
    BatchWriter w;
    for (auto v = first; v <= last; ++v) REQUIRE(w.add(v, "cs-" + std::to_string(v)));
    return w.take();
  };
  std::string why;
  {  // The snapshot at 12; the batch 10..14 straddles it: 13 and 14 are taken, then 15..20.
    LogAssembler log(keys, 12);
    CHECK(log.add(keys.log(10), batch(10, 14), &why));
    CHECK(log.add(keys.log(15), batch(15, 20), &why));
    CHECK(log.ends_at(20));
    CHECK_FALSE(log.ends_at(21, &why));
    CHECK(why.find("ends at version 20") != std::string::npos);
    REQUIRE(log.records().size() == 8);
    CHECK(log.records().front() == LogRecord{13, "cs-13"});
    CHECK(log.batches() == std::vector<BatchSpan>{{10, 14}, {15, 20}});
  }
  {  // A batch wholly inside the snapshot (left by a switch never made) is skipped.
    LogAssembler log(keys, 12);
    CHECK(log.add(keys.log(1), batch(1, 9), &why));
    CHECK(log.add(keys.log(10), batch(10, 14), &why));
    CHECK(log.records().size() == 2);
  }
  {  // The log starts after the snapshot's next version: a gap.
    LogAssembler log(keys, 12);
    CHECK_FALSE(log.add(keys.log(14), batch(14, 15), &why));
    CHECK(why.find("gap") != std::string::npos);
  }
  {  // A gap between batches, a batch under the wrong key, a foreign key.
    LogAssembler log(keys, 0);
    CHECK(log.add(keys.log(1), batch(1, 3), &why));
    CHECK_FALSE(log.add(keys.log(5), batch(5, 6), &why));
    CHECK_FALSE(log.add(keys.log(4), batch(5, 6), &why));
    CHECK(why.find("does not decode") != std::string::npos);
    CHECK_FALSE(log.add(keys.chunk(4, 0), batch(4, 6), &why));
    CHECK(why.find("not a ledger log key") != std::string::npos);
    CHECK(log.last() == 3);
  }
  {  // A head that was snapshotted whole: no batch at all.
    LogAssembler log(keys, 40);
    CHECK(log.ends_at(40));
    CHECK(log.records().empty());
  }
}

TEST_CASE("Ledger log: the switch is fenced like an append, puts the head and deletes the covered log and other snapshots") {
  const LedgerKeys keys{"/ts"};
  const tradeshard::cluster::etcd::LeaderKey leader{"/ts/gateway", "/ts/gateway/abc", 77, 1};
  const auto t = switch_snapshot(keys, leader, 1234, LedgerHead{77, 500, 450}, 441);
  REQUIRE(t.compare.size() == 2);
  CHECK(t.compare[0].key == leader.key);
  CHECK(t.compare[0].number == 77);
  CHECK(t.compare[1].key == keys.head());
  CHECK(t.compare[1].number == 1234);
  REQUIRE(t.success.size() == 4);
  const auto& put = std::get<tradeshard::cluster::etcd::PutRequest>(t.success[0]);
  CHECK(put.key == keys.head());
  CHECK(decode_head(put.value) == LedgerHead{77, 500, 450});
  const auto& log = std::get<tradeshard::cluster::etcd::DeleteRequest>(t.success[1]);
  CHECK(log.key == keys.log_prefix());
  CHECK(log.range_end == keys.log(441));  // batches that begin before 441: all of them end by 440
  const auto& older = std::get<tradeshard::cluster::etcd::DeleteRequest>(t.success[2]);
  const auto& newer = std::get<tradeshard::cluster::etcd::DeleteRequest>(t.success[3]);
  // The kept snapshot's chunks fall in neither range; every other snapshot's in one of them.
  const auto inside = [](const auto& d, const std::string& k) { return k >= d.key && k < d.range_end; };
  CHECK_FALSE(inside(older, keys.chunk(450, 0)));
  CHECK_FALSE(inside(newer, keys.chunk(450, 0)));
  CHECK_FALSE(inside(newer, keys.chunk(450, 2047)));
  CHECK(inside(older, keys.chunk(449, 3)));
  CHECK(inside(older, keys.chunk(1, 0)));
  CHECK(inside(newer, keys.chunk(451, 0)));
  CHECK(inside(newer, keys.chunk(45000, 0)));
  CHECK_FALSE(inside(newer, keys.head()));
  CHECK_FALSE(inside(older, keys.log(1)));
  REQUIRE(t.failure.size() == 2);  // the leader key, then the head: read like an append's refusal
}

// Cluster mode's values in etcd (include/tradeshard/cluster/membership.hpp): strict decoding of
// member and assignment values, and the fenced write against a real etcd: it lands while the
// leader key is the one that won, and is refused, with the reason readable, once it is not.
#include "tradeshard/cluster/membership.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <optional>

#include "cluster/etcd_await.hpp"
#include "cluster/etcd_process.hpp"
#include "tradeshard/cluster/etcd_client.hpp"

using namespace tradeshard::cluster;
using namespace tradeshard::testing;

TEST_CASE("Membership: a member value round-trips; anything else is refused with a reason") {
  const MemberInfo m{"worker-1", "worker", "127.0.0.3:7101", 4242};
  const auto back = decode_member(encode(m));
  REQUIRE(back);
  CHECK(back->id == "worker-1");
  CHECK(back->role == "worker");
  CHECK(back->addr == "127.0.0.3:7101");
  CHECK(back->pid == 4242);
  const std::pair<const char*, const char*> bad[] = {
      {"", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"id":"w","role":"worker","addr":"a:1"})", "missing \"pid\""},
      {R"({"id":"w","role":"worker","addr":"a:1","pid":1,"x":2})", "unexpected field"},
      {R"({"id":"w/1","role":"worker","addr":"a:1","pid":1})", "\"id\""},
      {R"({"id":"w","role":"king","addr":"a:1","pid":1})", "\"role\""},
      {R"({"id":"w","role":"worker","addr":"","pid":1})", "\"addr\""},
      {R"({"id":"w","role":"worker","addr":"a:1","pid":"1"})", "\"pid\""},
  };
  for (const auto& [value, why] : bad) {
    std::string error;
    CHECK_FALSE(decode_member(value, &error));
    CHECK_MESSAGE(error.find(why) != std::string::npos, value << " -> " << error);
  }
}

TEST_CASE("Membership: assignments round-trip; a wrong shape is refused") {
  Assignments a{7, 3, "gw-1", {"worker-1", "worker-2", "worker-1"}, {"node-b", "node-a"}};
  const auto back = decode_assignments(encode(a));
  REQUIRE(back);
  CHECK(back->epoch == 7);
  CHECK(back->version == 3);
  CHECK(back->gateway == "gw-1");
  CHECK(back->hosts == a.hosts);
  CHECK(back->nodes == a.nodes);
  std::string error;
  CHECK(decode_assignments(R"({"epoch":1,"version":1,"gateway":"g","hosts":["w"],"nodes":[]})", &error));
  CHECK_FALSE(decode_assignments(R"({"epoch":-1,"version":1,"gateway":"g","hosts":[],"nodes":[]})", &error));
  CHECK(error.find("epoch") != std::string::npos);
  CHECK_FALSE(decode_assignments(R"({"epoch":1,"version":1,"gateway":"g","hosts":[1],"nodes":[]})", &error));
  CHECK(error.find("hosts") != std::string::npos);
  CHECK_FALSE(decode_assignments(R"({"epoch":1,"version":1,"gateway":"g","hosts":[],"nodes":["a b"]})", &error));
  CHECK(error.find("nodes") != std::string::npos);
  CHECK_FALSE(decode_assignments(R"({"epoch":1,"version":1,"gateway":"g","hosts":[]})", &error));
  CHECK(error.find("nodes") != std::string::npos);
}

TEST_CASE("Membership: the fenced write lands only while the leader key is the one that won") {
  EtcdCluster etcd(1, 53);
  boost::asio::io_context io;
  EtcdOptions o;
  o.endpoints = etcd.endpoints();
  EtcdClient client(io, o);
  const Keys keys{"/t"};
  WonElection won(io, client, keys.election());
  const etcd::LeaderKey leader = won.leader;
  CHECK(leader.rev > 0);

  // First write: the key is absent (expected mod 0).
  const Assignments a{static_cast<std::uint64_t>(leader.rev), 1, "gw-1", {"worker-1"}, {}};
  auto r = await_etcd<etcd::TxnResponse>(io, [&](auto done) {
    client.txn(fenced_put(leader, keys.assignments(), encode(a), 0), std::move(done));
  });
  REQUIRE(r.ok());
  REQUIRE(r.value->succeeded);
  const auto mod = r.value->header.revision;

  // A stale expected revision: refused, and the leader key is still ours (not a lost leadership).
  r = await_etcd<etcd::TxnResponse>(io, [&](auto done) {
    client.txn(fenced_put(leader, keys.assignments(), encode(a), mod - 1), std::move(done));
  });
  REQUIRE(r.ok());
  CHECK_FALSE(r.value->succeeded);
  CHECK_FALSE(lost_leadership(leader, *r.value));

  // The leader key gone (revoked: what another gateway's takeover looks like): refused, and read as lost.
  REQUIRE(await_etcd<etcd::LeaseRevokeResponse>(io, [&](auto done) { client.lease_revoke(won.lease_id, std::move(done)); }).ok());
  r = await_etcd<etcd::TxnResponse>(io, [&](auto done) {
    client.txn(fenced_put(leader, keys.assignments(), encode(a), mod), std::move(done));
  });
  REQUIRE(r.ok());
  CHECK_FALSE(r.value->succeeded);
  CHECK(lost_leadership(leader, *r.value));
  // What is stored is still the leader's write.
  const auto stored = await_etcd<etcd::RangeResponse>(io, [&](auto done) {
    client.range(etcd::RangeRequest{keys.assignments(), {}, 0, 0, false, false}, std::move(done));
  });
  REQUIRE(stored.ok());
  REQUIRE(stored.value->kvs.size() == 1);
  CHECK(stored.value->kvs[0].mod_revision == mod);
  won.campaign.reset();
  client.stop();
}

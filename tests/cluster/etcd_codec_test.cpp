// The etcd JSON gateway codec on its own: bodies as etcd 3.4's gateway writes them (copied from a
// real etcd 3.4.23 answering curl), the quirks it has, and what a wrong answer turns into.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tradeshard/cluster/etcd_codec.hpp"

using namespace tradeshard::cluster::etcd;
using nlohmann::json;

TEST_CASE("etcd codec: base64 round-trips every byte and refuses what the gateway never writes") {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t n = 0; n <= all.size(); n += 1) {
    const std::string part = all.substr(0, n);
    const auto back = base64_decode(base64_encode(part));
    REQUIRE(back.has_value());
    CHECK(*back == part);
  }
  CHECK(base64_encode("foo") == "Zm9v");
  CHECK(base64_encode("fo") == "Zm8=");
  CHECK(*base64_decode("YmFy") == "bar");
  CHECK(*base64_decode("") == "");
  CHECK_FALSE(base64_decode("Zm9").has_value());     // not a multiple of 4
  CHECK_FALSE(base64_decode("Zm 9v").has_value());   // whitespace
  CHECK_FALSE(base64_decode("Z=9v").has_value());    // padding inside
  CHECK_FALSE(base64_decode("Zm9v\n").has_value());
  CHECK_FALSE(base64_decode("Zm9-").has_value());    // the URL alphabet
  CHECK_FALSE(base64_decode("====").has_value());
  CHECK_FALSE(base64_decode("Zh==").has_value());    // unused bits set: not what an encoder writes
  CHECK_FALSE(base64_decode("Zm9=").has_value());
  CHECK(*base64_decode("Zg==") == "f");
}

TEST_CASE("etcd codec: prefix_end is the first key past the prefix") {
  CHECK(prefix_end("members/") == "members0");
  CHECK(prefix_end("a\xff") == "b");
  CHECK(prefix_end(std::string("\xff\xff", 2)) == std::string(1, '\0'));
  CHECK(prefix_end("") == std::string(1, '\0'));
}

TEST_CASE("etcd codec: a txn's compares, branches and limits") {
  TxnRequest t;
  t.compare.push_back(Compare::mod_revision("ledger/head", Compare::Result::equal, 42));
  t.compare.push_back(Compare::missing("members/w1"));
  t.compare.push_back(Compare::value_of("k", Compare::Result::not_equal, std::string("\0x", 2)));
  t.success.emplace_back(PutRequest{"ledger/head", "43", 7, false});
  t.success.emplace_back(DeleteRequest{"old/", prefix_end("old/"), false});
  t.failure.emplace_back(RangeRequest{"ledger/head", "", 0, 0, false, false});
  const json j = json::parse(encode(t));
  CHECK(j["compare"][0] == json{{"key", base64_encode("ledger/head")}, {"target", "MOD"}, {"result", "EQUAL"},
                                {"mod_revision", "42"}});
  CHECK(j["compare"][1]["target"] == "CREATE");
  CHECK(j["compare"][1]["create_revision"] == "0");
  CHECK(j["compare"][2]["value"] == base64_encode(std::string("\0x", 2)));
  CHECK(j["compare"][2]["result"] == "NOT_EQUAL");
  CHECK(j["success"][0]["request_put"] == json{{"key", base64_encode("ledger/head")}, {"value", base64_encode("43")},
                                               {"lease", "7"}});
  CHECK(j["success"][1]["request_delete_range"]["range_end"] == base64_encode("old0"));
  CHECK(j["failure"][0]["request_range"]["key"] == base64_encode("ledger/head"));

  CHECK_FALSE(check_txn(t, 100).has_value());
  TxnRequest big;
  for (int i = 0; i < 129; ++i) big.success.emplace_back(PutRequest{"k" + std::to_string(i), "v", 0, false});
  const auto refused = check_txn(big, 1000);
  REQUIRE(refused.has_value());
  CHECK(refused->kind == Error::Kind::local);
  CHECK(refused->message.find("128") != std::string::npos);
  big.success.resize(128);
  CHECK_FALSE(check_txn(big, 1000).has_value());
  CHECK(check_txn(big, max_request_bytes + 1).has_value());
}

TEST_CASE("etcd codec: answers as the 3.4 gateway writes them") {
  SUBCASE("range: 64-bit numbers as strings, base64 keys and values") {
    const auto r = decode_range(
        R"({"header":{"cluster_id":"6623856614322246884","member_id":"16582046896825366469","revision":"2","raft_term":"2"},)"
        R"("kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1","value":"YmFy"}],"count":"1"})");
    REQUIRE(r.ok());
    CHECK(r.value->header.revision == 2);
    CHECK(r.value->header.member_id == 16582046896825366469ull);
    REQUIRE(r.value->kvs.size() == 1);
    CHECK(r.value->kvs[0].key == "foo");
    CHECK(r.value->kvs[0].value == "bar");
    CHECK(r.value->kvs[0].lease == 0);
    CHECK(r.value->count == 1);
  }
  SUBCASE("an empty range omits kvs and count") {
    const auto r = decode_range(R"({"header":{"revision":"3"}})");
    REQUIRE(r.ok());
    CHECK(r.value->kvs.empty());
    CHECK(r.value->count == 0);
  }
  SUBCASE("txn that succeeded, with its responses") {
    const auto r = decode_txn(
        R"({"header":{"revision":"3"},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"3"}}},)"
        R"({"response_range":{"header":{"revision":"3"},"kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"3","version":"2","value":"eQ=="}],"count":"1"}}]})");
    REQUIRE(r.ok());
    CHECK(r.value->succeeded);
    REQUIRE(r.value->responses.size() == 2);
    CHECK(std::holds_alternative<PutResponse>(r.value->responses[0]));
    CHECK(std::get<RangeResponse>(r.value->responses[1]).kvs.at(0).value == "y");
  }
  SUBCASE("a failed txn has no succeeded field") {
    const auto r = decode_txn(R"({"header":{"revision":"2"}})");
    REQUIRE(r.ok());
    CHECK_FALSE(r.value->succeeded);
  }
  SUBCASE("lease grant, keepalive, and the keepalive of a lease that is gone") {
    const auto g = decode_lease_grant(R"({"header":{"revision":"2"},"ID":"8630482728505139208","TTL":"2"})");
    REQUIRE(g.ok());
    CHECK(g.value->id == 8630482728505139208);
    CHECK(g.value->ttl == 2);
    const auto k = decode_lease_keepalive(R"({"result":{"header":{"revision":"3"},"ID":"8630482728505139212","TTL":"2"}})");
    REQUIRE(k.ok());
    CHECK(k.value->ttl == 2);
    const auto gone = decode_lease_keepalive(R"({"result":{"header":{"revision":"3"},"ID":"8630482728505139212"}})");
    REQUIRE(gone.ok());
    CHECK(gone.value->ttl == 0);
  }
  SUBCASE("watch: created, a put (type omitted), a delete, and a cancel after compaction") {
    auto w = decode_watch(R"({"result":{"header":{"revision":"4"},"created":true}})");
    REQUIRE(w.ok());
    CHECK(w.value->created);
    w = decode_watch(
        R"({"result":{"header":{"revision":"5"},"events":[{"kv":{"key":"Zm9v","create_revision":"2","mod_revision":"4","version":"3","value":"Yg=="}},)"
        R"({"type":"DELETE","kv":{"key":"Zm9v","mod_revision":"5"}}]}})");
    REQUIRE(w.ok());
    REQUIRE(w.value->events.size() == 2);
    CHECK(w.value->events[0].type == WatchEvent::Type::put);
    CHECK(w.value->events[0].kv.value == "b");
    CHECK(w.value->events[1].type == WatchEvent::Type::del);
    CHECK(w.value->events[1].kv.mod_revision == 5);
    w = decode_watch(R"({"result":{"header":{"raft_term":"2"},"canceled":true,"compact_revision":"4"}})");
    REQUIRE(w.ok());
    CHECK(w.value->canceled);
    CHECK(w.value->compact_revision == 4);
  }
  SUBCASE("election: campaign, leader, observe") {
    const auto c = decode_campaign(
        R"({"header":{"revision":"5"},"leader":{"name":"Z3c=","key":"Z3cvNzdjNWEyNTBiOGIxNjAxNA==","rev":"5","lease":"8630482728505139220"}})");
    REQUIRE(c.ok());
    CHECK(c.value->leader.name == "gw");
    CHECK(c.value->leader.key == "gw/77c5a250b8b16014");
    CHECK(c.value->leader.rev == 5);
    const auto o = decode_leader(
        R"({"result":{"header":{"revision":"5"},"kv":{"key":"Z3cvNzdjNWEyNTBiOGIxNjAxNA==","create_revision":"5","mod_revision":"5","version":"1","value":"YQ==","lease":"8630482728505139220"}}})");
    REQUIRE(o.ok());
    CHECK(o.value->kv.create_revision == 5);
    CHECK(o.value->kv.value == "a");
  }
  SUBCASE("cluster, status and alarms") {
    const auto m = decode_member_list(
        R"({"header":{"raft_term":"2"},"members":[{"ID":"16582046896825366469","name":"e1","peerURLs":["http://127.0.0.5:23800"],"clientURLs":["http://127.0.0.5:23790"]}]})");
    REQUIRE(m.ok());
    REQUIRE(m.value->members.size() == 1);
    CHECK(m.value->members[0].name == "e1");
    CHECK(m.value->members[0].client_urls.at(0) == "http://127.0.0.5:23790");
    const auto s = decode_status(
        R"({"header":{"revision":"5"},"version":"3.4.23","dbSize":"32768","leader":"16582046896825366469","raftIndex":"18","raftTerm":"2","raftAppliedIndex":"18","dbSizeInUse":"24576"})");
    REQUIRE(s.ok());
    CHECK(s.value->db_size == 32768);
    CHECK(s.value->version == "3.4.23");
    const auto none = decode_alarms("{}");
    REQUIRE(none.ok());
    CHECK(none.value->alarms.empty());
    const auto nospace = decode_alarms(R"({"alarms":[{"memberID":"1","alarm":"NOSPACE"}]})");
    REQUIRE(nospace.ok());
    CHECK(nospace.value->alarms.at(0).alarm == "NOSPACE");
  }
}

TEST_CASE("etcd codec: errors and answers that are not what the gateway sends") {
  const auto e = decode_range(R"({"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5})");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error.kind == Error::Kind::etcd);
  CHECK(e.error.code == Code::not_found);
  CHECK(e.error.message == "etcdserver: requested lease not found");
  const auto stream = decode_watch(R"({"error":{"grpc_code":14,"http_code":503,"message":"etcdserver: no leader","http_status":"Service Unavailable"}})");
  REQUIRE_FALSE(stream.ok());
  CHECK(stream.error.code == Code::unavailable);
  CHECK(stream.error.message == "etcdserver: no leader");

  for (const char* body : {"", "not json", "[]", "42", R"({"kvs":"x"})", R"({"kvs":[{"key":"###="}]})",
                           R"({"kvs":[{"key":"Zm9v","mod_revision":"12x"}]})", R"({"header":{"revision":true}})",
                           R"({"header":{"revision":"99999999999999999999"}})", R"({"kvs":[7]})",
                           R"({"header":{"revision":-1.5}})"}) {
    CAPTURE(body);
    const auto r = decode_range(body);
    CHECK_FALSE(r.ok());
    CHECK(r.error.kind == Error::Kind::protocol);
  }
  // Plain JSON numbers are accepted where the gateway writes strings.
  const auto n = decode_range(R"({"header":{"revision":12},"count":3})");
  REQUIRE(n.ok());
  CHECK(n.value->header.revision == 12);
  CHECK_FALSE(decode_txn(R"({"responses":[{"response_what":{}}]})").ok());
  CHECK_FALSE(decode_watch(R"({"result":{"events":[{"type":"EXPLODE"}]}})").ok());
  CHECK_FALSE(decode_campaign(R"({"header":{}})").ok());
  CHECK_FALSE(decode_lease_grant(R"({"header":{}})").ok());
}

TEST_CASE("etcd codec: a stream's messages split wherever the bytes arrive") {
  StreamSplitter s(64);
  s.feed(R"({"a":1})" "\n" R"({"b")");
  CHECK(s.next() == std::optional<std::string>(R"({"a":1})"));
  CHECK_FALSE(s.next().has_value());
  s.feed(":2}\n\n");
  CHECK(s.next() == std::optional<std::string>(R"({"b":2})"));
  CHECK(s.next() == std::optional<std::string>(""));
  CHECK_FALSE(s.next().has_value());
  CHECK(s.buffered() == 0);
  s.feed("tail");
  CHECK(s.take_rest() == "tail");
  StreamSplitter small(8);
  small.feed("0123456789");
  CHECK_FALSE(small.next().has_value());
  CHECK(small.overflowed());
}

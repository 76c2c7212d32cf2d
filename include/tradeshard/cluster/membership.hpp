#pragma once
// What cluster mode keeps in etcd (docs/cluster.md "In etcd"): a few keys under cluster.prefix,
// none written per order or per tick. Values are JSON; this header encodes and strictly decodes
// them (they are outside bytes: another process, or a person with etcdctl, wrote them) and builds
// the fenced transaction every authoritative write goes through. No networking.
//
//   <prefix>/members/<role>/<id>  one per worker or node process, bound to its lease: it vanishes
//                                 when the process dies or loses etcd for a lease TTL
//   <prefix>/gateway              the gateways' election (etcd's election API); the leader key's
//                                 creation revision is the leading gateway's epoch
//   <prefix>/assignments          which worker process hosts each worker slot and which node
//                                 process each processing-node slot; written only by the leader,
//                                 in a transaction fenced on its leader key
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/cluster/etcd_codec.hpp"

namespace tradeshard::cluster {

struct Keys {
  std::string prefix;  // without a trailing '/'
  [[nodiscard]] std::string members(std::string_view role) const { return prefix + "/members/" + std::string(role) + "/"; }
  [[nodiscard]] std::string member(std::string_view role, std::string_view id) const {
    return members(role) + std::string(id);
  }
  [[nodiscard]] std::string election() const { return prefix + "/gateway"; }
  [[nodiscard]] std::string assignments() const { return prefix + "/assignments"; }
};

// A registered process.
struct MemberInfo {
  std::string id;
  std::string role;  // "worker" (nodes: "node")
  std::string addr;  // host:port of its link listener
  std::int64_t pid = 0;
};
[[nodiscard]] std::string encode(const MemberInfo& m);
// Refuses anything but the shape encode() writes (with the reason in `error`).
[[nodiscard]] std::optional<MemberInfo> decode_member(std::string_view value, std::string* error = nullptr);

// The leader's placement: hosts[slot] is the worker process of worker slot `slot`, nodes[slot]
// the node process of processing-node slot `slot` (empty: the gateway runs them itself).
struct Assignments {
  std::uint64_t epoch = 0;    // the leader that wrote it
  std::uint64_t version = 0;  // +1 on every write (a failover, a start)
  std::string gateway;        // its id
  std::vector<std::string> hosts;
  std::vector<std::string> nodes;
};
[[nodiscard]] std::string encode(const Assignments& a);
[[nodiscard]] std::optional<Assignments> decode_assignments(std::string_view value, std::string* error = nullptr);

// The fenced write: succeeds only while `leader` still leads (its key exists with the creation
// revision it won with) and `key` is still at `expected_mod` (0: absent). On failure the
// response carries the leader key's range, then `key`'s, so the writer can tell a lost
// leadership (step down) from a concurrent write (re-read).
[[nodiscard]] etcd::TxnRequest fenced_put(const etcd::LeaderKey& leader, std::string key, std::string value,
                                          std::int64_t expected_mod);
// Whether a failed fenced_put's answer says the leader key is gone or is another's.
[[nodiscard]] bool lost_leadership(const etcd::LeaderKey& leader, const etcd::TxnResponse& failed);

}  // namespace tradeshard::cluster

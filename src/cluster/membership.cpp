// Cluster mode's values in etcd (include/tradeshard/cluster/membership.hpp).
#include "tradeshard/cluster/membership.hpp"

#include <nlohmann/json.hpp>
#include <set>

namespace tradeshard::cluster {

using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

// The value as a JSON object with exactly `fields` (each present), or the reason it is not.
std::optional<json> object_with(std::string_view value, std::initializer_list<const char*> fields, std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<json> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  for (const char* f : fields) {
    if (!j.contains(f)) return fail(std::string("missing \"") + f + "\"");
  }
  if (j.size() != fields.size()) return fail("unexpected field");
  return j;
}

bool id_like(const json& v) {
  if (!v.is_string()) return false;
  const auto& s = v.get_ref<const std::string&>();
  if (s.empty() || s.size() > 64) return false;
  for (const char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string encode(const MemberInfo& m) {
  return dump(json{{"id", m.id}, {"role", m.role}, {"addr", m.addr}, {"pid", m.pid}});
}

std::optional<MemberInfo> decode_member(std::string_view value, std::string* error) {
  auto j = object_with(value, {"id", "role", "addr", "pid"}, error);
  if (!j) return std::nullopt;
  const auto fail = [error](const char* why) -> std::optional<MemberInfo> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  if (!id_like((*j)["id"])) return fail("\"id\": 1 to 64 of [A-Za-z0-9._-]");
  if ((*j)["role"] != "worker" && (*j)["role"] != "node") return fail("\"role\": worker or node");
  const json& addr = (*j)["addr"];
  if (!addr.is_string() || addr.get_ref<const std::string&>().empty() ||
      addr.get_ref<const std::string&>().size() > 128) {
    return fail("\"addr\": host:port");
  }
  if (!(*j)["pid"].is_number_integer()) return fail("\"pid\": an integer");
  MemberInfo m;
  m.id = (*j)["id"].get<std::string>();
  m.role = (*j)["role"].get<std::string>();
  m.addr = addr.get<std::string>();
  m.pid = (*j)["pid"].get<std::int64_t>();
  return m;
}

std::string encode(const Assignments& a) {
  return dump(json{{"epoch", a.epoch}, {"version", a.version}, {"gateway", a.gateway}, {"hosts", a.hosts}, {"nodes", a.nodes}});
}

std::optional<Assignments> decode_assignments(std::string_view value, std::string* error) {
  auto j = object_with(value, {"epoch", "version", "gateway", "hosts", "nodes"}, error);
  if (!j) return std::nullopt;
  const auto fail = [error](const char* why) -> std::optional<Assignments> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  if (!(*j)["epoch"].is_number_unsigned()) return fail("\"epoch\": a positive integer");
  if (!(*j)["version"].is_number_unsigned()) return fail("\"version\": a positive integer");
  if (!id_like((*j)["gateway"])) return fail("\"gateway\": an id");
  const json& hosts = (*j)["hosts"];
  if (!hosts.is_array() || hosts.size() > 4096) return fail("\"hosts\": an array of at most 4096 ids");
  const json& nodes = (*j)["nodes"];
  if (!nodes.is_array() || nodes.size() > 4096) return fail("\"nodes\": an array of at most 4096 ids");
  Assignments a;
  a.epoch = (*j)["epoch"].get<std::uint64_t>();
  a.version = (*j)["version"].get<std::uint64_t>();
  a.gateway = (*j)["gateway"].get<std::string>();
  for (const auto& h : hosts) {
    if (!id_like(h)) return fail("\"hosts\": each an id");
    a.hosts.push_back(h.get<std::string>());
  }
  for (const auto& n : nodes) {
    if (!id_like(n)) return fail("\"nodes\": each an id");
    a.nodes.push_back(n.get<std::string>());
  }
  return a;
}

etcd::TxnRequest fenced_put(const etcd::LeaderKey& leader, std::string key, std::string value,
                            std::int64_t expected_mod) {
  using etcd::Compare;
  etcd::TxnRequest t;
  t.compare.push_back(Compare::create_revision(leader.key, Compare::Result::equal, leader.rev));
  t.compare.push_back(Compare::mod_revision(key, Compare::Result::equal, expected_mod));
  t.failure.emplace_back(etcd::RangeRequest{leader.key, {}, 0, 0, false, false});
  t.failure.emplace_back(etcd::RangeRequest{key, {}, 0, 0, false, false});
  t.success.emplace_back(etcd::PutRequest{std::move(key), std::move(value), 0, false});
  return t;
}

bool lost_leadership(const etcd::LeaderKey& leader, const etcd::TxnResponse& failed) {
  if (failed.responses.empty()) return true;
  const auto* r = std::get_if<etcd::RangeResponse>(&failed.responses.front());
  if (r == nullptr || r->kvs.empty()) return true;
  return r->kvs.front().create_revision != leader.rev;
}

}  // namespace tradeshard::cluster

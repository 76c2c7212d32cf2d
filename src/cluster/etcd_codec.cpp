// etcd v3 JSON gateway bodies (include/tradeshard/cluster/etcd_codec.hpp). Control-plane only:
// a few requests per second, so nlohmann::json's DOM is plenty; every field read from outside is
// type-checked, and a wrong type is a protocol error, never an exception that escapes.
#include "tradeshard/cluster/etcd_codec.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <type_traits>
#include <nlohmann/json.hpp>

namespace tradeshard::cluster::etcd {

using nlohmann::json;

namespace {

// A decoding failure inside the field readers; caught once, at the decode boundary.
struct Bad {
  std::string what;
};

[[noreturn]] void bad(std::string what) { throw Bad{std::move(what)}; }

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

const json* field(const json& o, const char* name) {
  const auto it = o.find(name);
  return it == o.end() || it->is_null() ? nullptr : &*it;
}

template <class Int>
Int integer(const json& o, const char* name) {
  const json* v = field(o, name);
  if (v == nullptr) return 0;
  if (v->is_number_integer()) {
    if constexpr (std::is_signed_v<Int>) {
      if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX))
        bad(std::string(name) + " out of range");
      return v->get<Int>();
    } else {
      if (!v->is_number_unsigned()) bad(std::string(name) + " is negative");
      return v->get<Int>();
    }
  }
  if (!v->is_string()) bad(std::string(name) + " is not an integer");
  const auto& s = v->get_ref<const std::string&>();
  Int out = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || end != s.data() + s.size() || s.empty())
    bad(std::string(name) + " is not an integer: \"" + s.substr(0, 32) + "\"");
  return out;
}

std::int64_t i64(const json& o, const char* name) { return integer<std::int64_t>(o, name); }
std::uint64_t u64(const json& o, const char* name) { return integer<std::uint64_t>(o, name); }

bool flag(const json& o, const char* name) {
  const json* v = field(o, name);
  if (v == nullptr) return false;
  if (!v->is_boolean()) bad(std::string(name) + " is not a boolean");
  return v->get<bool>();
}

std::string text(const json& o, const char* name) {
  const json* v = field(o, name);
  if (v == nullptr) return {};
  if (!v->is_string()) bad(std::string(name) + " is not a string");
  return v->get<std::string>();
}

std::string bytes(const json& o, const char* name) {
  const json* v = field(o, name);
  if (v == nullptr) return {};
  if (!v->is_string()) bad(std::string(name) + " is not a base64 string");
  auto out = base64_decode(v->get_ref<const std::string&>());
  if (!out) bad(std::string(name) + " is not valid base64");
  return std::move(*out);
}

const json* object(const json& o, const char* name) {
  const json* v = field(o, name);
  if (v != nullptr && !v->is_object()) bad(std::string(name) + " is not an object");
  return v;
}

const json* array(const json& o, const char* name) {
  const json* v = field(o, name);
  if (v != nullptr && !v->is_array()) bad(std::string(name) + " is not an array");
  return v;
}

const json& as_object(const json& v, const char* what) {
  if (!v.is_object()) bad(std::string(what) + " is not an object");
  return v;
}

std::vector<std::string> strings(const json& o, const char* name) {
  std::vector<std::string> out;
  if (const json* a = array(o, name)) {
    for (const auto& s : *a) {
      if (!s.is_string()) bad(std::string(name) + " has a non-string");
      out.push_back(s.get<std::string>());
    }
  }
  return out;
}

Header header(const json& o) {
  Header h;
  if (const json* v = object(o, "header")) {
    h.revision = i64(*v, "revision");
    h.member_id = u64(*v, "member_id");
    h.raft_term = u64(*v, "raft_term");
  }
  return h;
}

KeyValue key_value(const json& v) {
  as_object(v, "kv");
  KeyValue kv;
  kv.key = bytes(v, "key");
  kv.value = bytes(v, "value");
  kv.create_revision = i64(v, "create_revision");
  kv.mod_revision = i64(v, "mod_revision");
  kv.version = i64(v, "version");
  kv.lease = i64(v, "lease");
  return kv;
}

std::vector<KeyValue> key_values(const json& o, const char* name) {
  std::vector<KeyValue> out;
  if (const json* a = array(o, name)) {
    out.reserve(a->size());
    for (const auto& v : *a) out.push_back(key_value(v));
  }
  return out;
}

RangeResponse range_response(const json& o) {
  RangeResponse r;
  r.header = header(o);
  r.kvs = key_values(o, "kvs");
  r.more = flag(o, "more");
  r.count = i64(o, "count");
  return r;
}

PutResponse put_response(const json& o) {
  PutResponse r;
  r.header = header(o);
  if (const json* p = object(o, "prev_kv")) r.prev_kv = key_value(*p);
  return r;
}

DeleteResponse delete_response(const json& o) {
  DeleteResponse r;
  r.header = header(o);
  r.deleted = i64(o, "deleted");
  r.prev_kvs = key_values(o, "prev_kvs");
  return r;
}

Error etcd_error(Code code, std::string message) { return Error{Error::Kind::etcd, code, std::move(message)}; }

Code code_of(std::int64_t c) {
  return c >= 0 && c <= 16 ? static_cast<Code>(c) : Code::unknown;
}

// The body as an object, unwrapped from a stream's {"result":…}; an error body as its Error.
template <class T, class F>
Result<T> decode(std::string_view body, F&& read) {
  const json j = json::parse(body.begin(), body.end(), nullptr, false);
  if (j.is_discarded()) return Result<T>::failure({Error::Kind::protocol, Code::unknown, "answer is not JSON"});
  if (!j.is_object()) return Result<T>::failure({Error::Kind::protocol, Code::unknown, "answer is not a JSON object"});
  try {
    if (const json* e = field(j, "error")) {
      if (e->is_object()) {  // a stream's error: {"error":{"grpc_code","http_code","message","http_status"}}
        return Result<T>::failure(etcd_error(code_of(i64(*e, "grpc_code")), text(*e, "message")));
      }
      std::string message = text(j, "message");
      if (message.empty()) message = e->is_string() ? e->get<std::string>() : dump(*e);
      return Result<T>::failure(etcd_error(code_of(i64(j, "code")), std::move(message)));
    }
    if (const json* r = object(j, "result")) return Result<T>::success(read(*r));
    return Result<T>::success(read(j));
  } catch (const Bad& b) {
    return Result<T>::failure({Error::Kind::protocol, Code::unknown, b.what});
  } catch (const json::exception& e) {  // a get<> the checks above did not foresee
    return Result<T>::failure({Error::Kind::protocol, Code::unknown, e.what()});
  }
}

json kv_fields(std::string_view key, std::string_view range_end) {
  json j = json::object();
  j["key"] = base64_encode(key);
  if (!range_end.empty()) j["range_end"] = base64_encode(range_end);
  return j;
}

json range_json(const RangeRequest& r) {
  json j = kv_fields(r.key, r.range_end);
  if (r.limit != 0) j["limit"] = std::to_string(r.limit);
  if (r.revision != 0) j["revision"] = std::to_string(r.revision);
  if (r.keys_only) j["keys_only"] = true;
  if (r.count_only) j["count_only"] = true;
  return j;
}

json put_json(const PutRequest& r) {
  json j = kv_fields(r.key, {});
  j["value"] = base64_encode(r.value);
  if (r.lease != 0) j["lease"] = std::to_string(r.lease);
  if (r.prev_kv) j["prev_kv"] = true;
  return j;
}

json delete_json(const DeleteRequest& r) {
  json j = kv_fields(r.key, r.range_end);
  if (r.prev_kv) j["prev_kv"] = true;
  return j;
}

json op_json(const Op& op) {
  json j = json::object();
  if (const auto* r = std::get_if<RangeRequest>(&op)) j["request_range"] = range_json(*r);
  if (const auto* p = std::get_if<PutRequest>(&op)) j["request_put"] = put_json(*p);
  if (const auto* d = std::get_if<DeleteRequest>(&op)) j["request_delete_range"] = delete_json(*d);
  return j;
}

json compare_json(const Compare& c) {
  static constexpr const char* targets[] = {"VERSION", "CREATE", "MOD", "VALUE", "LEASE"};
  static constexpr const char* results[] = {"EQUAL", "GREATER", "LESS", "NOT_EQUAL"};
  json j = kv_fields(c.key, c.range_end);
  j["target"] = targets[static_cast<int>(c.target)];
  j["result"] = results[static_cast<int>(c.result)];
  switch (c.target) {
    case Compare::Target::version: j["version"] = std::to_string(c.number); break;
    case Compare::Target::create: j["create_revision"] = std::to_string(c.number); break;
    case Compare::Target::mod: j["mod_revision"] = std::to_string(c.number); break;
    case Compare::Target::value: j["value"] = base64_encode(c.value); break;
    case Compare::Target::lease: j["lease"] = std::to_string(c.number); break;
  }
  return j;
}

json leader_json(const LeaderKey& l) {
  return json{{"name", base64_encode(l.name)},
              {"key", base64_encode(l.key)},
              {"rev", std::to_string(l.rev)},
              {"lease", std::to_string(l.lease)}};
}

}  // namespace

const char* to_string(Error::Kind k) noexcept {
  switch (k) {
    case Error::Kind::not_sent: return "not_sent";
    case Error::Kind::ambiguous: return "ambiguous";
    case Error::Kind::etcd: return "etcd";
    case Error::Kind::protocol: return "protocol";
    case Error::Kind::local: return "local";
  }
  return "?";
}

std::string describe(const Error& e) {
  std::string out = to_string(e.kind);
  if (e.kind == Error::Kind::etcd) out += " (code " + std::to_string(static_cast<int>(e.code)) + ")";
  return out + ": " + e.message;
}

std::string prefix_end(std::string_view prefix) {
  std::string end(prefix);
  while (!end.empty()) {
    auto& last = reinterpret_cast<unsigned char&>(end.back());
    if (last < 0xff) {
      ++last;
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');  // every byte was 0xff (or no prefix): to the end of the keyspace
}

Compare Compare::mod_revision(std::string key, Result r, std::int64_t rev) {
  return Compare{std::move(key), Target::mod, r, rev, {}, {}};
}
Compare Compare::create_revision(std::string key, Result r, std::int64_t rev) {
  return Compare{std::move(key), Target::create, r, rev, {}, {}};
}
Compare Compare::version_of(std::string key, Result r, std::int64_t v) {
  return Compare{std::move(key), Target::version, r, v, {}, {}};
}
Compare Compare::value_of(std::string key, Result r, std::string v) {
  return Compare{std::move(key), Target::value, r, 0, std::move(v), {}};
}

std::string encode(const RangeRequest& r) { return dump(range_json(r)); }
std::string encode(const PutRequest& r) { return dump(put_json(r)); }
std::string encode(const DeleteRequest& r) { return dump(delete_json(r)); }

std::string encode(const TxnRequest& r) {
  json j = json::object();
  json& compare = j["compare"] = json::array();
  for (const auto& c : r.compare) compare.push_back(compare_json(c));
  json& success = j["success"] = json::array();
  for (const auto& op : r.success) success.push_back(op_json(op));
  json& failure = j["failure"] = json::array();
  for (const auto& op : r.failure) failure.push_back(op_json(op));
  return dump(j);
}

std::string encode(const WatchRequest& r) {
  json c = kv_fields(r.key, r.range_end);
  if (r.start_revision != 0) c["start_revision"] = std::to_string(r.start_revision);
  if (r.prev_kv) c["prev_kv"] = true;
  if (r.progress_notify) c["progress_notify"] = true;
  return dump(json{{"create_request", std::move(c)}});
}

std::string encode_compact(std::int64_t revision, bool physical) {
  return dump(json{{"revision", std::to_string(revision)}, {"physical", physical}});
}
std::string encode_lease_grant(std::int64_t ttl_seconds) { return dump(json{{"TTL", std::to_string(ttl_seconds)}}); }
std::string encode_lease_id(std::int64_t id) { return dump(json{{"ID", std::to_string(id)}}); }
std::string encode_campaign(std::string_view name, std::int64_t lease, std::string_view value) {
  return dump(json{{"name", base64_encode(name)}, {"lease", std::to_string(lease)}, {"value", base64_encode(value)}});
}
std::string encode_election_name(std::string_view name) { return dump(json{{"name", base64_encode(name)}}); }
std::string encode_resign(const LeaderKey& leader) { return dump(json{{"leader", leader_json(leader)}}); }
std::string encode_proclaim(const LeaderKey& leader, std::string_view value) {
  return dump(json{{"leader", leader_json(leader)}, {"value", base64_encode(value)}});
}
std::string encode_authenticate(std::string_view user, std::string_view password) {
  return dump(json{{"name", user}, {"password", password}});
}
std::string encode_alarm_get() { return dump(json{{"action", "GET"}}); }

std::optional<Error> check_size(std::size_t encoded_bytes) {
  if (encoded_bytes <= max_request_bytes) return std::nullopt;
  return Error{Error::Kind::local, Code::invalid_argument,
               "request of " + std::to_string(encoded_bytes) + " bytes is over etcd's limit of " +
                   std::to_string(max_request_bytes)};
}

std::optional<Error> check_txn(const TxnRequest& r, std::size_t encoded_bytes) {
  const std::size_t ops = std::max({r.compare.size(), r.success.size(), r.failure.size()});
  if (ops > max_txn_ops) {
    return Error{Error::Kind::local, Code::invalid_argument,
                 "txn with " + std::to_string(ops) + " operations in one list; etcd allows " +
                     std::to_string(max_txn_ops)};
  }
  return check_size(encoded_bytes);
}

Result<RangeResponse> decode_range(std::string_view body) {
  return decode<RangeResponse>(body, [](const json& o) { return range_response(o); });
}

Result<PutResponse> decode_put(std::string_view body) {
  return decode<PutResponse>(body, [](const json& o) { return put_response(o); });
}

Result<DeleteResponse> decode_delete(std::string_view body) {
  return decode<DeleteResponse>(body, [](const json& o) { return delete_response(o); });
}

Result<TxnResponse> decode_txn(std::string_view body) {
  return decode<TxnResponse>(body, [](const json& o) {
    TxnResponse t;
    t.header = header(o);
    t.succeeded = flag(o, "succeeded");
    if (const json* a = array(o, "responses")) {
      for (const auto& r : *a) {
        as_object(r, "response");
        if (const json* v = object(r, "response_range")) {
          t.responses.emplace_back(range_response(*v));
        } else if (const json* p = object(r, "response_put")) {
          t.responses.emplace_back(put_response(*p));
        } else if (const json* d = object(r, "response_delete_range")) {
          t.responses.emplace_back(delete_response(*d));
        } else {
          bad("txn response of an unknown kind");
        }
      }
    }
    return t;
  });
}

Result<Header> decode_header_only(std::string_view body) {
  return decode<Header>(body, [](const json& o) { return header(o); });
}

Result<LeaseGrantResponse> decode_lease_grant(std::string_view body) {
  return decode<LeaseGrantResponse>(body, [](const json& o) {
    LeaseGrantResponse r{header(o), i64(o, "ID"), i64(o, "TTL")};
    if (const std::string e = text(o, "error"); !e.empty()) bad("lease grant: " + e);
    if (r.id == 0) bad("lease grant without an ID");
    return r;
  });
}

Result<LeaseKeepAliveResponse> decode_lease_keepalive(std::string_view body) {
  return decode<LeaseKeepAliveResponse>(body, [](const json& o) {
    return LeaseKeepAliveResponse{header(o), i64(o, "ID"), i64(o, "TTL")};
  });
}

Result<LeaseRevokeResponse> decode_lease_revoke(std::string_view body) {
  return decode<LeaseRevokeResponse>(body, [](const json& o) { return LeaseRevokeResponse{header(o)}; });
}

Result<WatchMessage> decode_watch(std::string_view message) {
  return decode<WatchMessage>(message, [](const json& o) {
    WatchMessage w;
    w.header = header(o);
    w.watch_id = i64(o, "watch_id");
    w.created = flag(o, "created");
    w.canceled = flag(o, "canceled");
    w.compact_revision = i64(o, "compact_revision");
    w.cancel_reason = text(o, "cancel_reason");
    if (const json* a = array(o, "events")) {
      for (const auto& e : *a) {
        as_object(e, "event");
        WatchEvent ev;
        const std::string type = text(e, "type");  // PUT is the zero value: omitted
        if (type == "DELETE") {
          ev.type = WatchEvent::Type::del;
        } else if (!type.empty() && type != "PUT") {
          bad("watch event of type \"" + type.substr(0, 32) + "\"");
        }
        if (const json* kv = object(e, "kv")) ev.kv = key_value(*kv);
        if (const json* p = object(e, "prev_kv")) ev.prev_kv = key_value(*p);
        w.events.push_back(std::move(ev));
      }
    }
    return w;
  });
}

Result<CampaignResponse> decode_campaign(std::string_view body) {
  return decode<CampaignResponse>(body, [](const json& o) {
    CampaignResponse c;
    c.header = header(o);
    const json* l = object(o, "leader");
    if (l == nullptr) bad("campaign answer without a leader");
    c.leader = LeaderKey{bytes(*l, "name"), bytes(*l, "key"), i64(*l, "rev"), i64(*l, "lease")};
    return c;
  });
}

Result<LeaderResponse> decode_leader(std::string_view body) {
  return decode<LeaderResponse>(body, [](const json& o) {
    LeaderResponse r;
    r.header = header(o);
    const json* kv = object(o, "kv");
    if (kv == nullptr) bad("leader answer without a kv");
    r.kv = key_value(*kv);
    return r;
  });
}

Result<AuthenticateResponse> decode_authenticate(std::string_view body) {
  return decode<AuthenticateResponse>(body, [](const json& o) {
    AuthenticateResponse a{header(o), text(o, "token")};
    if (a.token.empty()) bad("authenticate answer without a token");
    return a;
  });
}

Result<MemberListResponse> decode_member_list(std::string_view body) {
  return decode<MemberListResponse>(body, [](const json& o) {
    MemberListResponse r;
    r.header = header(o);
    if (const json* a = array(o, "members")) {
      for (const auto& m : *a) {
        as_object(m, "member");
        r.members.push_back(Member{u64(m, "ID"), text(m, "name"), strings(m, "peerURLs"), strings(m, "clientURLs"),
                                   flag(m, "isLearner")});
      }
    }
    return r;
  });
}

Result<StatusResponse> decode_status(std::string_view body) {
  return decode<StatusResponse>(body, [](const json& o) {
    StatusResponse s;
    s.header = header(o);
    s.version = text(o, "version");
    s.db_size = i64(o, "dbSize");
    s.db_size_in_use = i64(o, "dbSizeInUse");
    s.leader = u64(o, "leader");
    s.raft_index = u64(o, "raftIndex");
    s.errors = strings(o, "errors");
    return s;
  });
}

Result<AlarmResponse> decode_alarms(std::string_view body) {
  return decode<AlarmResponse>(body, [](const json& o) {
    AlarmResponse r;
    r.header = header(o);
    if (const json* a = array(o, "alarms")) {
      for (const auto& m : *a) {
        as_object(m, "alarm");
        Alarm alarm{u64(m, "memberID"), text(m, "alarm")};
        if (alarm.alarm.empty()) alarm.alarm = "NONE";  // the zero value is omitted
        r.alarms.push_back(std::move(alarm));
      }
    }
    return r;
  });
}

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string{};
  // EVP_DecodeBlock skips surrounding whitespace and counts '=' padding as zero bytes; the gateway
  // writes neither stray whitespace nor padding anywhere but the end, so refuse both.
  std::size_t pad = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    const bool alpha = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
                       c == '/';
    if (c == '=') {
      if (i + 2 < text.size()) return std::nullopt;
      ++pad;
    } else if (!alpha || pad != 0) {
      return std::nullopt;
    }
  }
  // Canonical only: the bits a padded final group does not use must be zero ("Zh==" is "f" too
  // for a lenient decoder, but encodes back as "Zg=="); the fuzzer's round trip found it.
  if (pad > 0) {
    const unsigned char last = static_cast<unsigned char>(text[text.size() - pad - 1]);
    const int v = last >= 'A' && last <= 'Z'   ? last - 'A'
                  : last >= 'a' && last <= 'z' ? last - 'a' + 26
                  : last >= '0' && last <= '9' ? last - '0' + 52
                  : last == '+'                ? 62
                                               : 63;
    if ((v & (pad == 2 ? 0x0f : 0x03)) != 0) return std::nullopt;
  }
  std::string out(3 * (text.size() / 4), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  if (n < 0 || static_cast<std::size_t>(n) < pad) return std::nullopt;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::string StreamSplitter::take_rest() {
  std::string rest = pending_.substr(start_);
  pending_.clear();
  start_ = 0;
  return rest;
}

std::optional<std::string> StreamSplitter::next() {
  if (overflowed_) return std::nullopt;
  const std::size_t nl = pending_.find('\n', start_);
  if (nl == std::string::npos) {
    if (pending_.size() - start_ > max_) overflowed_ = true;
    // Compact once the consumed prefix dominates, so a long stream does not grow the buffer.
    if (start_ > 0 && start_ >= pending_.size() / 2) {
      pending_.erase(0, start_);
      start_ = 0;
    }
    return std::nullopt;
  }
  if (nl - start_ > max_) {
    overflowed_ = true;
    return std::nullopt;
  }
  std::string message = pending_.substr(start_, nl - start_);
  start_ = nl + 1;
  if (start_ == pending_.size()) {
    pending_.clear();
    start_ = 0;
  }
  return message;
}

}  // namespace tradeshard::cluster::etcd

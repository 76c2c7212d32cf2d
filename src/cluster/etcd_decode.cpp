// etcd v3 JSON gateway answers (include/tradeshard/cluster/etcd_codec.hpp): everything read from
// outside is type-checked field by field, and a wrong type is a protocol error, never an
// exception that escapes. The requests and base64 are in etcd_codec.cpp.
#include "tradeshard/cluster/etcd_codec.hpp"

#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <type_traits>

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

}  // namespace

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

}  // namespace tradeshard::cluster::etcd

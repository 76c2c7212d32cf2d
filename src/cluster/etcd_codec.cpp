// etcd v3 JSON gateway requests, base64 and stream splitting (include/tradeshard/cluster/etcd_codec.hpp).
// Control-plane only: a few requests per second, so nlohmann::json's DOM is plenty. Answers are
// decoded in etcd_decode.cpp.
#include "tradeshard/cluster/etcd_codec.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <nlohmann/json.hpp>

namespace tradeshard::cluster::etcd {

using nlohmann::json;

namespace {

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

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

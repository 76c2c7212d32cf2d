#pragma once
// etcd v3's JSON gateway (grpc-gateway in front of etcd's gRPC API, etcd 3.4): the requests
// tradeshard sends and the answers it reads, as plain C++ values, with no networking. The client
// (src/cluster/etcd_client.hpp) puts these bodies on the wire; the codec is unit-tested and fuzzed
// (tests/fuzz/etcd_fuzz.cpp) on its own, because everything it decodes comes from outside.
//
// The gateway's JSON quirks, all handled here and nowhere else:
//  - keys and values are base64 (binary-safe: any byte may appear in a key or value);
//  - 64-bit integers are JSON strings ("revision":"12"); plain numbers are accepted too;
//  - fields at their zero value are omitted: a failed txn has no "succeeded", an empty range no
//    "kvs", a keepalive for a lease that is gone no "TTL" (ttl 0 here means "lease lost");
//  - stream endpoints (watch, election observe, lease keepalive) wrap each message in
//    {"result":…}, and a stream that fails sends {"error":{…}} in its place;
//  - an error is {"error","message","code"} with the gRPC status code (HTTP status aside).
// Limits checked before sending (etcd's defaults): 1.5 MiB per request, 128 operations per txn.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace tradeshard::cluster::etcd {

inline constexpr std::size_t max_request_bytes = 1536 * 1024;  // etcd --max-request-bytes default
inline constexpr std::size_t max_txn_ops = 128;                // etcd --max-txn-ops default

// gRPC status codes etcd answers with (the ones tradeshard acts on).
enum class Code : int {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,  // NOSPACE alarm, too many requests
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,  // e.g. a watch or range at a compacted revision
  unimplemented = 12,
  internal = 13,
  unavailable = 14,  // no leader, shutting down
  data_loss = 15,
  unauthenticated = 16,  // missing or expired auth token
};

// What went wrong with one request. `kind` says whether etcd may have applied it:
//  - not_sent:  the request never left (no connection, refused before sending): safe to retry;
//  - ambiguous: sent, and no answer (timeout, connection dropped): it may or may not have been
//               applied; a writer resolves it by reading back what it wrote (docs/cluster.md);
//  - etcd:      etcd answered with an error (`code`, `message`); nothing was applied;
//  - protocol:  the answer was not what the gateway sends (bad JSON, bad base64, wrong shape);
//  - local:     refused here before sending (over a limit, the client stopped).
struct Error {
  enum class Kind : std::uint8_t { not_sent, ambiguous, etcd, protocol, local };
  Kind kind = Kind::protocol;
  Code code = Code::unknown;
  std::string message;
};
[[nodiscard]] const char* to_string(Error::Kind k) noexcept;
[[nodiscard]] std::string describe(const Error& e);

// A decoded answer or the reason there is none.
template <class T>
struct Result {
  std::optional<T> value;
  Error error;
  [[nodiscard]] bool ok() const noexcept { return value.has_value(); }
  static Result failure(Error e) { return Result{std::nullopt, std::move(e)}; }
  static Result success(T v) { return Result{std::move(v), {}}; }
};

struct Header {
  std::int64_t revision = 0;  // the store's revision when the answer was made
  std::uint64_t member_id = 0;
  std::uint64_t raft_term = 0;
};

struct KeyValue {
  std::string key;
  std::string value;
  std::int64_t create_revision = 0;
  std::int64_t mod_revision = 0;
  std::int64_t version = 0;  // 0: the key does not exist (only in compares)
  std::int64_t lease = 0;
};

// The smallest key greater than every key that starts with `prefix` ("\0" for an empty prefix:
// the whole keyspace), as etcd's clientv3.GetPrefixRangeEnd computes it.
[[nodiscard]] std::string prefix_end(std::string_view prefix);

// ---- requests ----

struct RangeRequest {
  std::string key;
  std::string range_end;  // empty: `key` alone; prefix_end(key): every key under the prefix
  std::int64_t limit = 0;
  std::int64_t revision = 0;  // 0: the latest
  bool keys_only = false;
  bool count_only = false;
};

struct PutRequest {
  std::string key;
  std::string value;
  std::int64_t lease = 0;
  bool prev_kv = false;
};

struct DeleteRequest {
  std::string key;
  std::string range_end;
  bool prev_kv = false;
};

struct Compare {
  enum class Target : std::uint8_t { version, create, mod, value, lease };
  enum class Result : std::uint8_t { equal, greater, less, not_equal };
  std::string key;
  Target target = Target::version;
  Result result = Result::equal;
  std::int64_t number = 0;  // for version, create, mod, lease
  std::string value;        // for value
  std::string range_end;

  // The usual fences.
  [[nodiscard]] static Compare mod_revision(std::string key, Result r, std::int64_t rev);
  [[nodiscard]] static Compare create_revision(std::string key, Result r, std::int64_t rev);
  [[nodiscard]] static Compare version_of(std::string key, Result r, std::int64_t v);
  [[nodiscard]] static Compare value_of(std::string key, Result r, std::string v);
  [[nodiscard]] static Compare missing(std::string key) { return create_revision(std::move(key), Result::equal, 0); }
};

using Op = std::variant<RangeRequest, PutRequest, DeleteRequest>;

struct TxnRequest {
  std::vector<Compare> compare;
  std::vector<Op> success;
  std::vector<Op> failure;
};

struct WatchRequest {
  std::string key;
  std::string range_end;
  std::int64_t start_revision = 0;  // 0: from now
  bool prev_kv = false;
  bool progress_notify = false;  // etcd sends an empty message with the revision when idle
};

// ---- answers ----

struct RangeResponse {
  Header header;
  std::vector<KeyValue> kvs;
  bool more = false;
  std::int64_t count = 0;
};

struct PutResponse {
  Header header;
  std::optional<KeyValue> prev_kv;
};

struct DeleteResponse {
  Header header;
  std::int64_t deleted = 0;
  std::vector<KeyValue> prev_kvs;
};

using OpResponse = std::variant<RangeResponse, PutResponse, DeleteResponse>;

struct TxnResponse {
  Header header;
  bool succeeded = false;
  std::vector<OpResponse> responses;  // of the branch that ran, in order
};

struct LeaseGrantResponse {
  Header header;
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // seconds, as granted (etcd raises a TTL under its minimum)
};

struct LeaseKeepAliveResponse {
  Header header;
  std::int64_t id = 0;
  std::int64_t ttl = 0;  // 0: the lease is gone (expired or revoked)
};

struct LeaseRevokeResponse {
  Header header;
};

struct WatchEvent {
  enum class Type : std::uint8_t { put, del };
  Type type = Type::put;
  KeyValue kv;  // for del: key and mod_revision only
  std::optional<KeyValue> prev_kv;
};

struct WatchMessage {
  Header header;
  std::int64_t watch_id = 0;
  bool created = false;
  bool canceled = false;
  std::int64_t compact_revision = 0;  // set with canceled when start_revision was compacted
  std::string cancel_reason;
  std::vector<WatchEvent> events;
};

struct LeaderKey {
  std::string name;
  std::string key;  // the campaigner's key: name + "/" + lease id in hex
  std::int64_t rev = 0;  // the key's creation revision: the leader's epoch
  std::int64_t lease = 0;
};

struct CampaignResponse {
  Header header;
  LeaderKey leader;
};

struct LeaderResponse {  // also each message of an observe stream
  Header header;
  KeyValue kv;  // the leader's key (kv.create_revision is its epoch) and the value it proclaimed
};

struct AuthenticateResponse {
  Header header;
  std::string token;
};

struct Member {
  std::uint64_t id = 0;
  std::string name;
  std::vector<std::string> peer_urls;
  std::vector<std::string> client_urls;
  bool learner = false;
};

struct MemberListResponse {
  Header header;
  std::vector<Member> members;
};

struct StatusResponse {
  Header header;
  std::string version;
  std::int64_t db_size = 0;
  std::int64_t db_size_in_use = 0;
  std::uint64_t leader = 0;
  std::uint64_t raft_index = 0;
  std::vector<std::string> errors;
};

struct Alarm {
  std::uint64_t member_id = 0;
  std::string alarm;  // "NOSPACE", "CORRUPT"
};

struct AlarmResponse {
  Header header;
  std::vector<Alarm> alarms;
};

// ---- encoding: the JSON body of each request, and where it goes ----

inline constexpr std::string_view range_path = "/v3/kv/range";
inline constexpr std::string_view put_path = "/v3/kv/put";
inline constexpr std::string_view delete_path = "/v3/kv/deleterange";
inline constexpr std::string_view txn_path = "/v3/kv/txn";
inline constexpr std::string_view compact_path = "/v3/kv/compaction";
inline constexpr std::string_view lease_grant_path = "/v3/lease/grant";
inline constexpr std::string_view lease_keepalive_path = "/v3/lease/keepalive";
inline constexpr std::string_view lease_revoke_path = "/v3/lease/revoke";
inline constexpr std::string_view watch_path = "/v3/watch";
inline constexpr std::string_view campaign_path = "/v3/election/campaign";
inline constexpr std::string_view leader_path = "/v3/election/leader";
inline constexpr std::string_view observe_path = "/v3/election/observe";
inline constexpr std::string_view resign_path = "/v3/election/resign";
inline constexpr std::string_view proclaim_path = "/v3/election/proclaim";
inline constexpr std::string_view authenticate_path = "/v3/auth/authenticate";
inline constexpr std::string_view member_list_path = "/v3/cluster/member/list";
inline constexpr std::string_view status_path = "/v3/maintenance/status";
inline constexpr std::string_view alarm_path = "/v3/maintenance/alarm";

[[nodiscard]] std::string encode(const RangeRequest& r);
[[nodiscard]] std::string encode(const PutRequest& r);
[[nodiscard]] std::string encode(const DeleteRequest& r);
[[nodiscard]] std::string encode(const TxnRequest& r);
[[nodiscard]] std::string encode(const WatchRequest& r);  // a create_request
[[nodiscard]] std::string encode_compact(std::int64_t revision, bool physical);
[[nodiscard]] std::string encode_lease_grant(std::int64_t ttl_seconds);
[[nodiscard]] std::string encode_lease_id(std::int64_t id);  // keepalive and revoke
[[nodiscard]] std::string encode_campaign(std::string_view name, std::int64_t lease, std::string_view value);
[[nodiscard]] std::string encode_election_name(std::string_view name);  // leader and observe
[[nodiscard]] std::string encode_resign(const LeaderKey& leader);
[[nodiscard]] std::string encode_proclaim(const LeaderKey& leader, std::string_view value);
[[nodiscard]] std::string encode_authenticate(std::string_view user, std::string_view password);
[[nodiscard]] std::string encode_alarm_get();

// Refuses (Error::Kind::local) a txn over max_txn_ops operations in a branch, or a body over
// max_request_bytes, before it is sent: etcd would refuse it too, after a round trip.
[[nodiscard]] std::optional<Error> check_txn(const TxnRequest& r, std::size_t encoded_bytes);
[[nodiscard]] std::optional<Error> check_size(std::size_t encoded_bytes);

// ---- decoding: a response body (HTTP status aside; an error body decodes to its Error) ----

[[nodiscard]] Result<RangeResponse> decode_range(std::string_view body);
[[nodiscard]] Result<PutResponse> decode_put(std::string_view body);
[[nodiscard]] Result<DeleteResponse> decode_delete(std::string_view body);
[[nodiscard]] Result<TxnResponse> decode_txn(std::string_view body);
[[nodiscard]] Result<Header> decode_header_only(std::string_view body);  // compaction, resign, proclaim
[[nodiscard]] Result<LeaseGrantResponse> decode_lease_grant(std::string_view body);
[[nodiscard]] Result<LeaseKeepAliveResponse> decode_lease_keepalive(std::string_view body);
[[nodiscard]] Result<LeaseRevokeResponse> decode_lease_revoke(std::string_view body);
[[nodiscard]] Result<WatchMessage> decode_watch(std::string_view message);
[[nodiscard]] Result<CampaignResponse> decode_campaign(std::string_view body);
[[nodiscard]] Result<LeaderResponse> decode_leader(std::string_view body);  // leader and observe
[[nodiscard]] Result<AuthenticateResponse> decode_authenticate(std::string_view body);
[[nodiscard]] Result<MemberListResponse> decode_member_list(std::string_view body);
[[nodiscard]] Result<StatusResponse> decode_status(std::string_view body);
[[nodiscard]] Result<AlarmResponse> decode_alarms(std::string_view body);

// Base64 as the gateway writes it (standard alphabet, padded); decode refuses anything else.
[[nodiscard]] std::string base64_encode(std::string_view bytes);
[[nodiscard]] std::optional<std::string> base64_decode(std::string_view text);

// Splits a stream body into its messages: the gateway ends each with '\n'. Feed bytes as they
// arrive; next() returns each whole message once, and refuses one over `max_message` bytes.
class StreamSplitter {
 public:
  explicit StreamSplitter(std::size_t max_message = 64u << 20) : max_(max_message) {}
  void feed(std::string_view bytes) { pending_.append(bytes.data(), bytes.size()); }
  // A whole message (without its '\n'), or nullopt when more bytes are needed. After an
  // oversize message, overflowed() is true and the stream is unusable.
  std::optional<std::string> next();
  [[nodiscard]] bool overflowed() const noexcept { return overflowed_; }
  [[nodiscard]] std::size_t buffered() const noexcept { return pending_.size() - start_; }
  // What is left after the last '\n' (the stream ended without one).
  [[nodiscard]] std::string take_rest();

 private:
  std::string pending_;
  std::size_t start_ = 0;
  std::size_t max_;
  bool overflowed_ = false;
};

}  // namespace tradeshard::cluster::etcd

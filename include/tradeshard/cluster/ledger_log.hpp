#pragma once
// The ledger's log in etcd (cluster mode, issue 18; docs/cluster.md "The ledger's log in etcd"):
// the keys, the values and the fenced transaction that appends a batch of change sets. Pure: no
// networking. Everything decoded here was read from etcd (another process, or a person with
// etcdctl, wrote it), so decoding is strict and fuzzed (tests/fuzz/etcd_fuzz.cpp).
//
//   <prefix>/ledger/head             {"epoch","version","snapshot"}: the last version in etcd,
//                                    written by the leading gateway with every batch
//   <prefix>/ledger/log/<v:20 digits>  one batch: the change sets v, v+1, … (contiguous), each
//                                    framed [u64 version][u32 length][bytes] after a magic
//   <prefix>/ledger/snap/<v:20 digits>/<i:6 digits>
//                                    chunk i of the snapshot of the state at version v (the
//                                    ledger codec's snapshot), each at most max_chunk_bytes
//
// Appending a batch is one transaction: compare create_revision(leader key) == the gateway's
// epoch (it still leads) and mod_revision(head) == the revision of its last write (nobody else
// wrote), then put the batch and the new head. A batch holds at most max_batch_bytes, so the
// request stays under etcd's 1.5 MiB after base64 (4/3) and the JSON around it.
//
// A snapshot is written chunk by chunk (each put fenced on the leader key), after a fenced delete
// of whatever an earlier writer left under the same version. Once every chunk is in etcd and the
// head has reached its version, one transaction fenced like an append switches the head's
// "snapshot" to it and deletes the batches it covers and every other snapshot's chunks: a reader
// at any revision sees a head whose snapshot is whole and whose log continues right after it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/cluster/etcd_codec.hpp"

namespace tradeshard::cluster {

inline constexpr std::size_t max_batch_bytes = 1'000'000;
inline constexpr std::size_t max_chunk_bytes = 1'000'000;  // a snapshot chunk's value (< 1 MiB)
inline constexpr std::uint32_t max_chunks = 2048;          // a 2 GB snapshot: past any etcd quota

struct LedgerKeys {
  std::string prefix;  // cluster.prefix, without a trailing '/'
  [[nodiscard]] std::string head() const { return prefix + "/ledger/head"; }
  [[nodiscard]] std::string log_prefix() const { return prefix + "/ledger/log/"; }
  // Zero-padded so that etcd's byte order of the keys is the order of the versions.
  [[nodiscard]] std::string log(std::uint64_t first_version) const;
  // The first version of a log key, or nullopt when `key` is not one.
  [[nodiscard]] std::optional<std::uint64_t> log_version(std::string_view key) const;
  [[nodiscard]] std::string snapshot_prefix() const { return prefix + "/ledger/snap/"; }
  // Every chunk of the snapshot at `version` is under this prefix.
  [[nodiscard]] std::string snapshot(std::uint64_t version) const;
  [[nodiscard]] std::string chunk(std::uint64_t version, std::uint32_t index) const;
  // What each follower (replica process, standby gateway) publishes, on its lease.
  [[nodiscard]] std::string followers() const { return prefix + "/replicas/"; }
  [[nodiscard]] std::string follower(std::string_view id) const { return followers() + std::string(id); }
};

// A follower's status under followers(): {"id","process","http","applied","checkpoint":
// {"version","digest"}|null,"digest":{"version","digest"}}. `process` is "replica" or "standby";
// digests are 16 hex digits (LedgerService::digest at that version). Written at most twice a
// second, only when it changed: never per change set.
struct DigestAt {
  std::uint64_t version = 0;
  std::uint64_t digest = 0;
  bool operator==(const DigestAt&) const = default;
};
struct FollowerStatus {
  std::string id;
  std::string process;  // "replica" | "standby"
  std::string http;     // host:port
  std::uint64_t applied = 0;
  std::optional<DigestAt> checkpoint;  // the last checkpoint version it passed
  DigestAt current;                    // at `applied`
  bool operator==(const FollowerStatus&) const = default;
};
[[nodiscard]] std::string encode(const FollowerStatus& s);
[[nodiscard]] std::optional<FollowerStatus> decode_follower(std::string_view value, std::string* error = nullptr);

struct LedgerHead {
  std::uint64_t epoch = 0;     // the gateway that wrote it (its leader key's creation revision)
  std::uint64_t version = 0;   // the last change set in etcd
  std::uint64_t snapshot = 0;  // the newest snapshot's version (0: none; the log starts at 1)
  bool operator==(const LedgerHead&) const = default;
};
[[nodiscard]] std::string encode(const LedgerHead& h);
[[nodiscard]] std::optional<LedgerHead> decode_head(std::string_view value, std::string* error = nullptr);

// One change set as the ledger's codec wrote it (ledger/codec.hpp), with its version.
struct LogRecord {
  std::uint64_t version = 0;
  std::string bytes;
  bool operator==(const LogRecord&) const = default;
};

// Builds batches: records in version order, each batch at most max_batch_bytes (a record larger
// than that alone is refused: the ledger never makes one, a change set is a few hundred bytes).
class BatchWriter {
 public:
  // False (nothing added) when `version` does not follow the last one or the record is too large.
  [[nodiscard]] bool add(std::uint64_t version, std::string_view bytes);
  [[nodiscard]] bool empty() const noexcept { return records_ == 0; }
  [[nodiscard]] std::size_t bytes() const noexcept { return out_.size(); }
  [[nodiscard]] std::uint64_t first() const noexcept { return first_; }
  [[nodiscard]] std::uint64_t last() const noexcept { return last_; }
  [[nodiscard]] std::size_t records() const noexcept { return records_; }
  // Whether a record of `size` bytes still fits.
  [[nodiscard]] bool fits(std::size_t size) const noexcept;
  // The batch's value; the writer is empty afterwards (the next batch continues at last() + 1).
  [[nodiscard]] std::string take();

 private:
  std::string out_;
  std::uint64_t first_ = 0, last_ = 0;
  std::size_t records_ = 0;
  bool any_ = false;  // a record was added: the next must follow last_
};

// A batch's records, checked: the magic, whole frames, versions contiguous from the key's.
[[nodiscard]] std::optional<std::vector<LogRecord>> decode_batch(std::string_view value, std::uint64_t first_version,
                                                                 std::string* error = nullptr);

// The change sets of a log as read from etcd at one revision, checked against its head: batches in
// key order, contiguous, the first reaching the head's snapshot + 1 (the ones before were deleted
// with that snapshot), the last ending at the head's version. Records at or before the snapshot
// are skipped. Used by a gateway taking the lead and by replicas (which also add watched batches).
struct BatchSpan {
  std::uint64_t first = 0, last = 0;
  bool operator==(const BatchSpan&) const = default;
};
class LogAssembler {
 public:
  LogAssembler(LedgerKeys keys, std::uint64_t snapshot) : keys_(std::move(keys)), last_(snapshot) {}
  // False (and why) when the key is not a log key, the batch does not decode or does not follow.
  [[nodiscard]] bool add(std::string_view key, std::string_view value, std::string* error = nullptr);
  // Whether the log read ends exactly at `version` (the head's).
  [[nodiscard]] bool ends_at(std::uint64_t version, std::string* error = nullptr) const;
  [[nodiscard]] std::uint64_t last() const noexcept { return last_; }
  [[nodiscard]] std::vector<LogRecord>& records() noexcept { return records_; }
  [[nodiscard]] const std::vector<BatchSpan>& batches() const noexcept { return batches_; }

 private:
  LedgerKeys keys_;
  std::uint64_t last_;  // the last version taken (the snapshot's before any)
  std::vector<LogRecord> records_;
  std::vector<BatchSpan> batches_;
};

// A snapshot's chunk values: [magic][u64 version][u32 index][u32 count][bytes], each at most
// max_chunk_bytes; at least one (an empty state still has a header). Empty when it would take
// more than max_chunks.
[[nodiscard]] std::vector<std::string> split_snapshot(std::uint64_t version, std::string_view bytes);
// The snapshot's bytes from its chunks as a range of snapshot(version) returned them (key order),
// checked: every chunk there once, in order, of this version, none missing.
struct ChunkKV {
  std::string_view key, value;
};
[[nodiscard]] std::optional<std::string> join_snapshot(const LedgerKeys& keys, std::uint64_t version,
                                                       const std::vector<ChunkKV>& chunks, std::string* error = nullptr);

// The fenced append: succeeds only while `leader` leads and the head is still at `head_mod`
// (0: no head yet). On failure the response holds the leader key's range, then the head's, so
// the writer can tell a lost leadership (step down) from another writer (also step down: two
// gateways wrote) and read the head that is there.
[[nodiscard]] etcd::TxnRequest append_batch(const LedgerKeys& keys, const etcd::LeaderKey& leader,
                                            std::int64_t head_mod, std::uint64_t first_version, std::string batch,
                                            const LedgerHead& new_head);

// A snapshot chunk's put, fenced on the leader key alone (chunks are invisible until the switch).
[[nodiscard]] etcd::TxnRequest put_chunk(const LedgerKeys& keys, const etcd::LeaderKey& leader, std::uint64_t version,
                                         std::uint32_t index, std::string value);
// Deletes what an earlier writer left under snapshot(version), fenced on the leader key.
[[nodiscard]] etcd::TxnRequest clear_snapshot(const LedgerKeys& keys, const etcd::LeaderKey& leader,
                                              std::uint64_t version);
// The switch, fenced like an append (and answering a refusal the same way): puts `new_head`
// (whose snapshot is the new one), deletes the batches before `keep_log_from` (the first version
// of the first batch reaching past the snapshot, or the head's version + 1) and every snapshot
// chunk but the new snapshot's.
[[nodiscard]] etcd::TxnRequest switch_snapshot(const LedgerKeys& keys, const etcd::LeaderKey& leader,
                                               std::int64_t head_mod, const LedgerHead& new_head,
                                               std::uint64_t keep_log_from);

}  // namespace tradeshard::cluster

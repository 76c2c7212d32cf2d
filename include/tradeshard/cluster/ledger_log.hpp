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
//
// Appending a batch is one transaction: compare create_revision(leader key) == the gateway's
// epoch (it still leads) and mod_revision(head) == the revision of its last write (nobody else
// wrote), then put the batch and the new head. A batch holds at most max_batch_bytes, so the
// request stays under etcd's 1.5 MiB after base64 (4/3) and the JSON around it.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/cluster/etcd_codec.hpp"

namespace tradeshard::cluster {

inline constexpr std::size_t max_batch_bytes = 1'000'000;

struct LedgerKeys {
  std::string prefix;  // cluster.prefix, without a trailing '/'
  [[nodiscard]] std::string head() const { return prefix + "/ledger/head"; }
  [[nodiscard]] std::string log_prefix() const { return prefix + "/ledger/log/"; }
  // Zero-padded so that etcd's byte order of the keys is the order of the versions.
  [[nodiscard]] std::string log(std::uint64_t first_version) const;
  // The first version of a log key, or nullopt when `key` is not one.
  [[nodiscard]] std::optional<std::uint64_t> log_version(std::string_view key) const;
};

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

// The fenced append: succeeds only while `leader` leads and the head is still at `head_mod`
// (0: no head yet). On failure the response holds the leader key's range, then the head's, so
// the writer can tell a lost leadership (step down) from another writer (also step down: two
// gateways wrote) and read the head that is there.
[[nodiscard]] etcd::TxnRequest append_batch(const LedgerKeys& keys, const etcd::LeaderKey& leader,
                                            std::int64_t head_mod, std::uint64_t first_version, std::string batch,
                                            const LedgerHead& new_head);

}  // namespace tradeshard::cluster

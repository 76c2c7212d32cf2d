#pragma once
// Append-only write-ahead log of committed ledger change sets (edge layer: POSIX files, one
// background thread; no Boost/Asio).
//
// Files under options.dir:
//   wal-NNNNNN.log            segments; records [u32 len][u64 xxh3(version|payload)][u64 version][payload]
//   snapshot-<version>.snap   ["TSSNAP01"][u64 version][u64 len][u64 xxh3(payload)][payload]
//
// Promises:
//  * append() write()s the record on the caller's thread before returning: once it returns ok the
//    record survives kill -9 of the process (it is in the page cache / file).
//  * on_durable(v) is called from the fsync thread after an fdatasync that covers every record with
//    version <= v (group commit: one call may cover many appends). Only then does it survive a
//    power loss. Policy every_commit: the fsync thread starts a round as soon as it is idle and a
//    record is pending. Policy interval: one round every interval_ms.
//  * open() recovers: newest snapshot + every later record, all checksummed. A torn LAST record
//    (partial, bad checksum with nothing after it, or a zero-filled tail) is truncated away and
//    never loaded. Any other damage (bad record followed by data, version gap not covered by the
//    snapshot, bad snapshot) makes open() fail with an error naming the file and offset.
//  * request_snapshot(v, bytes) hands the snapshot to the background thread, which writes it
//    atomically (tmp, fsync, rename, fsync dir) and then deletes segments holding only versions <= v.
// Thread use: open/append/request_snapshot/destructor on one thread (the event loop); callbacks run
// on the fsync thread and must only post work back to the loop.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tradeshard::storage {

// every_commit: the fsync thread syncs after every write; interval: every interval_ms; none: never
// (tests, tools, fuzzing: writes reach the page cache only, no thread is started for them, and
// durable_version() stays where recovery left it). Snapshots are written by the thread whatever
// the policy.
enum class FsyncPolicy : std::uint8_t { every_commit, interval, none };

struct WalOptions {
  std::string dir;                                // ledger.data_dir
  FsyncPolicy policy = FsyncPolicy::every_commit;  // ledger.fsync: "every_commit" | "interval"
  std::uint32_t interval_ms = 5;                  // ledger.fsync_interval_ms
  std::uint64_t segment_bytes = 64ull << 20;      // ledger.wal_segment_bytes
  std::uint32_t max_record = 1u << 20;            // larger length fields are treated as damage
  std::uint32_t test_fsync_delay_ms = 0;          // tests only: each fsync round sleeps first (a slow disk)
};

struct WalRecord {
  std::uint64_t version = 0;
  std::string payload;
};

struct WalRecovery {
  std::optional<std::uint64_t> snapshot_version;
  std::string snapshot;              // payload of the newest snapshot (empty if none)
  std::vector<WalRecord> records;    // versions snapshot_version+1 .. last, contiguous
  std::uint64_t last_version = 0;    // highest version recovered (snapshot or record)
  std::string truncated_file;        // set when a torn tail was cut
  std::uint64_t truncated_at = 0;    // offset it was cut at
  std::uint64_t truncated_bytes = 0;
};

enum class AppendError : std::uint8_t { ok, not_next_version, too_large, io_error, closed };
std::string_view to_string(AppendError e) noexcept;

class Wal {
 public:
  using DurableFn = std::function<void(std::uint64_t version)>;
  using ErrorFn = std::function<void(std::string_view message)>;

  struct Open;
  // Recovers the directory (creating it if missing). The fsync thread starts with the first
  // write or snapshot request.
  [[nodiscard]] static Open open(const WalOptions& options, DurableFn on_durable,
                                 ErrorFn on_error = {});

  ~Wal();  // final fsync of everything written, then stops the thread
  Wal(const Wal&) = delete;
  Wal& operator=(const Wal&) = delete;

  // stage() + flush(): the record is in the file when this returns. version = staged_version() + 1.
  [[nodiscard]] AppendError append(std::uint64_t version, std::string_view payload);
  // Batching for the event loop: stage() only frames the record in memory; flush() writes every
  // staged record with one write() and wakes the fsync thread. Call flush() once per loop turn,
  // before any reply that depends on the staged records leaves the process.
  [[nodiscard]] AppendError stage(std::uint64_t version, std::string_view payload);
  [[nodiscard]] AppendError flush();
  [[nodiscard]] std::uint64_t staged_version() const noexcept { return staged_version_; }
  // version must be <= last_version() (flushed); the write happens on the fsync thread.
  [[nodiscard]] AppendError request_snapshot(std::uint64_t version, std::string bytes);

  [[nodiscard]] std::uint64_t last_version() const noexcept { return last_version_; }
  [[nodiscard]] std::uint64_t durable_version() const noexcept;
  [[nodiscard]] std::uint64_t fsync_rounds() const noexcept;
  [[nodiscard]] std::uint64_t snapshots_written() const noexcept;

 private:
  struct Shared;
  Wal(const WalOptions& options, DurableFn on_durable, ErrorFn on_error);
  [[nodiscard]] bool open_segment(std::uint64_t seq, bool append_existing, std::string& error);
  [[nodiscard]] bool rotate();
  void start_thread();  // loop thread only
  void run();
  void finish_snapshot(std::uint64_t version, const std::string& bytes);

  WalOptions options_;
  std::uint64_t last_version_ = 0;    // highest version written to the file
  std::uint64_t staged_version_ = 0;  // highest version framed (>= last_version_)
  std::uint64_t segment_seq_ = 0;
  std::uint64_t segment_size_ = 0;
  std::string buffer_;  // staged frames; reused, so no allocation per append
  std::unique_ptr<Shared> shared_;
};

struct Wal::Open {
  std::unique_ptr<Wal> wal;
  WalRecovery recovery;
  std::string error;  // non-empty on failure: names the file and offset
  [[nodiscard]] bool ok() const noexcept { return wal != nullptr; }
};

}  // namespace tradeshard::storage

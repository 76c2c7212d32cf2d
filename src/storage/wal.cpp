#include "tradeshard/storage/wal.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

#include "wal_format.hpp"

namespace tradeshard::storage {

std::string_view to_string(AppendError e) noexcept {
  switch (e) {
    case AppendError::ok: return "ok";
    case AppendError::not_next_version: return "not_next_version";
    case AppendError::too_large: return "too_large";
    case AppendError::io_error: return "io_error";
    case AppendError::closed: return "closed";
  }
  return "unknown";
}

// State shared by the loop thread and the fsync thread.
struct Wal::Shared {
  // Guards everything below up to `wake_mu`. Never held during an fsync.
  std::mutex mu;
  int fd = -1;                      // current segment; changed only by the loop thread, under mu
  std::vector<int> sealed;          // rotated segments awaiting a last fsync, closed by the thread
  bool dir_dirty = false;           // a segment was created: its directory entry needs an fsync
  std::vector<detail::SegmentFile> closed_segments;  // deletable once a snapshot covers them
  std::vector<std::string> snapshot_files;
  std::vector<std::pair<std::uint64_t, std::string>> snapshot_queue;

  std::atomic<std::uint64_t> written{0};
  std::atomic<std::uint64_t> durable{0};
  std::atomic<std::uint64_t> rounds{0};
  std::atomic<std::uint64_t> snapshots{0};
  std::atomic<bool> idle{false};
  std::atomic<bool> stop{false};
  std::atomic<bool> failed{false};
  std::atomic<bool> work{false};  // a snapshot is queued

  std::mutex wake_mu;
  std::condition_variable cv;
  DurableFn on_durable;
  ErrorFn on_error;
  std::thread thread;

  void fail(const std::string& message) {
    failed.store(true);
    if (on_error) on_error(message);
  }
  void wake() {
    std::lock_guard lk(wake_mu);
    cv.notify_one();
  }
};

Wal::Wal(const WalOptions& options, DurableFn on_durable, ErrorFn on_error)
    : options_(options), shared_(std::make_unique<Shared>()) {
  shared_->on_durable = std::move(on_durable);
  shared_->on_error = std::move(on_error);
  buffer_.reserve(64 * 1024);
}

Wal::Open Wal::open(const WalOptions& options, DurableFn on_durable, ErrorFn on_error) {
  Open out;
  detail::RecoverResult rec = detail::recover(options);
  if (!rec.error.empty()) {
    out.error = std::move(rec.error);
    return out;
  }
  std::unique_ptr<Wal> wal(new Wal(options, std::move(on_durable), std::move(on_error)));
  wal->last_version_ = rec.recovery.last_version;
  wal->staged_version_ = rec.recovery.last_version;
  // Records recovered after a kill -9 may still be only in the page cache: make them durable
  // before reporting anything as durable.
  for (const auto& seg : rec.segments) {
    const int fd = ::open(seg.path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || ::fsync(fd) != 0) out.error = "wal: cannot fsync " + seg.path;
    if (fd >= 0) ::close(fd);
  }
  const bool reuse = !rec.segments.empty() && rec.segments.back().size < options.segment_bytes;
  std::uint64_t seq = rec.segments.empty() ? 1 : rec.segments.back().seq + (reuse ? 0 : 1);
  if (reuse) {
    wal->segment_size_ = rec.segments.back().size;
    rec.segments.pop_back();
  }
  if (out.error.empty()) (void)wal->open_segment(seq, reuse, out.error);
  if (!out.error.empty()) return out;
  Shared& sh = *wal->shared_;
  sh.closed_segments = std::move(rec.segments);
  sh.snapshot_files = std::move(rec.snapshots);
  sh.written.store(wal->last_version_);
  sh.durable.store(wal->last_version_);
  // The fsync thread starts with the first write (start_thread): a log only recovered and read
  // (tools, tests, the fuzz target) costs no thread.
  out.recovery = std::move(rec.recovery);
  out.wal = std::move(wal);
  return out;
}

bool Wal::open_segment(std::uint64_t seq, bool append_existing, std::string& error) {
  const std::string path = options_.dir + "/" + detail::segment_name(seq);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) {
    error = "wal: cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  if (!append_existing) segment_size_ = 0;
  segment_seq_ = seq;
  std::lock_guard lk(shared_->mu);
  if (shared_->fd >= 0) {
    if (options_.policy == FsyncPolicy::none) ::close(shared_->fd);  // nothing will sync it
    else shared_->sealed.push_back(shared_->fd);
  }
  shared_->fd = fd;
  shared_->dir_dirty = true;
  return true;
}

bool Wal::rotate() {
  const std::string old_path = options_.dir + "/" + detail::segment_name(segment_seq_);
  {
    std::lock_guard lk(shared_->mu);
    shared_->closed_segments.push_back(
        detail::SegmentFile{segment_seq_, old_path, last_version_, segment_size_});
  }
  std::string error;
  if (!open_segment(segment_seq_ + 1, false, error)) {
    shared_->fail(error);
    return false;
  }
  return true;
}

AppendError Wal::append(std::uint64_t version, std::string_view payload) {
  const AppendError e = stage(version, payload);
  return e == AppendError::ok ? flush() : e;
}

AppendError Wal::stage(std::uint64_t version, std::string_view payload) {
  if (shared_->failed.load(std::memory_order_relaxed)) return AppendError::io_error;
  if (version != staged_version_ + 1) return AppendError::not_next_version;
  if (payload.size() > options_.max_record) return AppendError::too_large;
  detail::frame(buffer_, version, payload);
  staged_version_ = version;
  return AppendError::ok;
}

AppendError Wal::flush() {
  Shared& sh = *shared_;
  if (sh.failed.load(std::memory_order_relaxed)) return AppendError::io_error;
  if (buffer_.empty()) return AppendError::ok;
  if (segment_size_ > 0 && segment_size_ + buffer_.size() > options_.segment_bytes && !rotate()) {
    return AppendError::io_error;
  }
  if (!detail::write_all(sh.fd, buffer_.data(), buffer_.size())) {
    // A half-written record would read as corruption once more follow: cut it and stop.
    const int saved = errno;
    (void)::ftruncate(sh.fd, static_cast<off_t>(segment_size_));
    sh.fail(std::string("wal: write failed: ") + std::strerror(saved));
    return AppendError::io_error;
  }
  segment_size_ += buffer_.size();
  buffer_.clear();
  last_version_ = staged_version_;
  sh.written.store(last_version_, std::memory_order_seq_cst);
  if (options_.policy == FsyncPolicy::none) return AppendError::ok;
  start_thread();
  // Pairs with run(): either the thread sees the new version or we see it idle and wake it.
  if (sh.idle.load(std::memory_order_seq_cst)) sh.wake();
  return AppendError::ok;
}

void Wal::start_thread() {
  if (!shared_->thread.joinable()) shared_->thread = std::thread([this] { run(); });
}

AppendError Wal::request_snapshot(std::uint64_t version, std::string bytes) {
  Shared& sh = *shared_;
  if (sh.failed.load()) return AppendError::io_error;
  if (version > last_version_) return AppendError::not_next_version;
  // Seal the current segment so the older ones become deletable once the snapshot is durable.
  if (segment_size_ > 0 && !rotate()) return AppendError::io_error;
  {
    std::lock_guard lk(sh.mu);
    sh.snapshot_queue.emplace_back(version, std::move(bytes));
  }
  sh.work.store(true);
  start_thread();
  sh.wake();
  return AppendError::ok;
}

namespace {

// Writes the snapshot atomically: tmp file, fsync, rename, fsync dir.
bool write_snapshot(const std::string& dir, std::uint64_t version, const std::string& payload,
                    std::string& path, std::string& error) {
  std::string header(detail::snapshot_header, '\0');
  header.replace(0, 8, detail::snapshot_magic);
  detail::put_u64(header.data() + 8, version);
  detail::put_u64(header.data() + 16, payload.size());
  detail::put_u64(header.data() + 24, detail::checksum(header.data() + 8, 16) ^
                                          detail::checksum(payload.data(), payload.size()));
  path = dir + "/" + detail::snapshot_name(version);
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  bool ok = fd >= 0 && detail::write_all(fd, header.data(), header.size()) &&
            detail::write_all(fd, payload.data(), payload.size()) && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  ok = ok && ::rename(tmp.c_str(), path.c_str()) == 0 && detail::fsync_dir(dir);
  if (!ok) {
    error = "wal: cannot write snapshot " + path + ": " + std::strerror(errno);
    ::unlink(tmp.c_str());
  }
  return ok;
}

}  // namespace

void Wal::run() {
  Shared& sh = *shared_;
  std::uint64_t synced = sh.durable.load();
  const auto interval = std::chrono::milliseconds(options_.interval_ms);
  while (true) {
    {
      std::unique_lock lk(sh.wake_mu);
      if (options_.policy == FsyncPolicy::every_commit) {
        sh.idle.store(true, std::memory_order_seq_cst);
        sh.cv.wait(lk, [&] {
          return sh.stop.load() || sh.work.load() ||
                 sh.written.load(std::memory_order_seq_cst) != synced;
        });
        sh.idle.store(false, std::memory_order_relaxed);
      } else {
        sh.cv.wait_for(lk, interval, [&] { return sh.stop.load() || sh.work.load(); });
      }
    }
    // Everything up to `target` was written to the current fd or to one sealed before we look.
    // With FsyncPolicy::none the thread runs only for snapshots: nothing is synced or claimed durable.
    const std::uint64_t target =
        options_.policy == FsyncPolicy::none ? synced : sh.written.load(std::memory_order_acquire);
    std::vector<int> sealed;
    std::vector<std::pair<std::uint64_t, std::string>> snaps;
    int fd = -1;
    bool dir_dirty = false;
    {
      std::lock_guard lk(sh.mu);
      sealed.swap(sh.sealed);
      snaps.swap(sh.snapshot_queue);
      sh.work.store(false);
      fd = sh.fd;
      dir_dirty = std::exchange(sh.dir_dirty, false);
    }
    if (options_.test_fsync_delay_ms != 0 && target != synced) {
      std::this_thread::sleep_for(std::chrono::milliseconds(options_.test_fsync_delay_ms));
    }
    bool ok = true;
    for (int s : sealed) {
      ok = ::fdatasync(s) == 0 && ok;
      ::close(s);
    }
    if (target != synced) ok = ::fdatasync(fd) == 0 && ok;
    if (dir_dirty) ok = detail::fsync_dir(options_.dir) && ok;
    if (!ok) {
      // After a failed fsync the page cache state is unknown: never claim durability again.
      sh.fail(std::string("wal: fsync failed: ") + std::strerror(errno));
      return;
    }
    if (target != synced) {
      synced = target;
      sh.durable.store(target);
      sh.rounds.fetch_add(1, std::memory_order_relaxed);
      if (sh.on_durable) sh.on_durable(target);
    }
    for (const auto& [version, bytes] : snaps) finish_snapshot(version, bytes);
    if (sh.stop.load() && sh.written.load() == synced && !sh.work.load()) return;
  }
}

void Wal::finish_snapshot(std::uint64_t version, const std::string& bytes) {
  Shared& sh = *shared_;
  std::string path;
  std::string error;
  if (!write_snapshot(options_.dir, version, bytes, path, error)) {
    if (sh.on_error) sh.on_error(error);  // not fatal: the segments are kept
    return;
  }
  sh.snapshots.fetch_add(1, std::memory_order_relaxed);
  std::vector<std::string> doomed;
  {
    std::lock_guard lk(sh.mu);
    // Oldest first, so what remains is always a contiguous suffix of the log.
    auto& segs = sh.closed_segments;
    std::size_t n = 0;
    while (n < segs.size() && segs[n].last_version <= version) doomed.push_back(segs[n++].path);
    segs.erase(segs.begin(), segs.begin() + static_cast<std::ptrdiff_t>(n));
    for (auto& old : sh.snapshot_files) {
      if (old != path) doomed.push_back(old);
    }
    sh.snapshot_files.assign(1, path);
  }
  for (const auto& p : doomed) ::unlink(p.c_str());
}

std::uint64_t Wal::durable_version() const noexcept { return shared_->durable.load(); }
std::uint64_t Wal::fsync_rounds() const noexcept { return shared_->rounds.load(); }
std::uint64_t Wal::snapshots_written() const noexcept { return shared_->snapshots.load(); }

Wal::~Wal() {
  Shared& sh = *shared_;
  (void)flush();
  if (sh.thread.joinable()) {
    sh.stop.store(true);
    sh.wake();
    sh.thread.join();
  }
  for (int fd : sh.sealed) ::close(fd);
  if (sh.fd >= 0) ::close(sh.fd);
}

}  // namespace tradeshard::storage

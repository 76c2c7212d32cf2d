#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tradeshard/storage/wal.hpp"

using namespace tradeshard::storage;
namespace fs = std::filesystem;

namespace {

// A fresh directory under the system temp dir, removed at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    char tmpl[] = "/tmp/tradeshard-wal-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

WalOptions options(const TempDir& d) {
  WalOptions o;
  o.dir = d.path.string();
  return o;
}

std::string payload(std::uint64_t v) { return "change-set-" + std::to_string(v); }

// Appends versions [from, to] and destroys the WAL cleanly.
void write_records(const WalOptions& o, std::uint64_t from, std::uint64_t to) {
  auto w = Wal::open(o, nullptr);
  REQUIRE(w.ok());
  for (std::uint64_t v = from; v <= to; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
}

bool wait_for(const std::function<bool()>& pred) {
  for (int i = 0; i < 500 && !pred(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  return pred();
}

std::string only_segment(const TempDir& d) {
  std::string found;
  for (const auto& e : fs::directory_iterator(d.path)) {
    if (e.path().extension() == ".log") found = e.path().string();
  }
  return found;
}

void append_raw(const std::string& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary | std::ios::app);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

void flip_byte(const std::string& path, std::uint64_t offset) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekg(static_cast<std::streamoff>(offset));
  char c = 0;
  f.read(&c, 1);
  c = static_cast<char>(c ^ 0x5A);
  f.seekp(static_cast<std::streamoff>(offset));
  f.write(&c, 1);
}

constexpr std::uint64_t frame_header = 20;
std::uint64_t frame_size(std::uint64_t v) { return frame_header + payload(v).size(); }

}  // namespace

// Ensure appended records come back in order after a clean reopen, and durability is reported.
TEST_CASE("Wal: round trip and durable callback") {
  TempDir d;
  std::atomic<std::uint64_t> durable{0};
  {
    auto w = Wal::open(options(d), [&](std::uint64_t v) { durable.store(v); });
    REQUIRE(w.ok());
    CHECK(w.recovery.records.empty());
    for (std::uint64_t v = 1; v <= 100; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
    CHECK(w.wal->append(5, "x") == AppendError::not_next_version);
    CHECK(w.wal->append(102, "x") == AppendError::not_next_version);
    CHECK(wait_for([&] { return durable.load() == 100; }));
    CHECK(w.wal->durable_version() == 100);
    CHECK(w.wal->fsync_rounds() >= 1);
  }
  auto w = Wal::open(options(d), nullptr);
  REQUIRE(w.ok());
  REQUIRE(w.recovery.records.size() == 100);
  CHECK(w.recovery.records[41].version == 42);
  CHECK(w.recovery.records[41].payload == payload(42));
  CHECK(w.recovery.last_version == 100);
  CHECK(w.wal->append(101, payload(101)) == AppendError::ok);
}

// Ensure the interval policy also reports durability (without a wake-up per append).
TEST_CASE("Wal: interval fsync policy") {
  TempDir d;
  WalOptions o = options(d);
  o.policy = FsyncPolicy::interval;
  o.interval_ms = 2;
  std::atomic<std::uint64_t> durable{0};
  auto w = Wal::open(o, [&](std::uint64_t v) { durable.store(v); });
  REQUIRE(w.ok());
  for (std::uint64_t v = 1; v <= 10; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
  CHECK(wait_for([&] { return durable.load() == 10; }));
}

// Ensure the none policy writes (and rotates) without ever claiming durability, and reads back.
TEST_CASE("Wal: none fsync policy writes without syncing") {
  TempDir d;
  WalOptions o = options(d);
  o.policy = FsyncPolicy::none;
  o.segment_bytes = 200;
  std::atomic<std::uint64_t> durable{0};
  {
    auto w = Wal::open(o, [&](std::uint64_t v) { durable.store(v); });
    REQUIRE(w.ok());
    for (std::uint64_t v = 1; v <= 30; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
    CHECK(w.wal->durable_version() == 0);
    CHECK(w.wal->fsync_rounds() == 0);
  }
  CHECK(durable.load() == 0);
  auto w = Wal::open(o, nullptr);
  REQUIRE(w.ok());
  REQUIRE(w.recovery.records.size() == 30);
  CHECK(w.recovery.records.back().version == 30);
}

// Ensure small segments rotate and every segment is read back in order.
TEST_CASE("Wal: segment rotation") {
  TempDir d;
  WalOptions o = options(d);
  o.segment_bytes = 200;
  {
    // Durability must follow records across rotations (sealed segments get their own fsync).
    std::atomic<std::uint64_t> durable{0};
    auto w = Wal::open(o, [&](std::uint64_t v) { durable.store(v); });
    REQUIRE(w.ok());
    for (std::uint64_t v = 1; v <= 50; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
    CHECK(wait_for([&] { return durable.load() == 50; }));
  }
  std::size_t logs = 0;
  for (const auto& e : fs::directory_iterator(d.path)) logs += e.path().extension() == ".log";
  CHECK(logs > 5);
  auto w = Wal::open(o, nullptr);
  REQUIRE(w.ok());
  REQUIRE(w.recovery.records.size() == 50);
  CHECK(w.recovery.records.back().version == 50);
}

// Ensure a torn last record (partial, bad checksum at the end, zero tail) is cut, never loaded.
TEST_CASE("Wal: torn last record is truncated") {
  TempDir d;
  write_records(options(d), 1, 5);
  const std::string seg = only_segment(d);
  const auto good_size = fs::file_size(seg);
  SUBCASE("partial header") { append_raw(seg, std::string("\x10\x00\x00", 3)); }
  SUBCASE("partial payload") {
    std::string hdr(frame_header, '\0');
    hdr[0] = 40;  // says 40 payload bytes, only 7 follow
    append_raw(seg, hdr + "partial");
  }
  SUBCASE("complete frame, bad checksum, nothing after it") {
    write_records(options(d), 6, 6);
    flip_byte(seg, good_size + frame_header + 2);
  }
  SUBCASE("zero-filled tail") { append_raw(seg, std::string(64, '\0')); }
  auto w = Wal::open(options(d), nullptr);
  REQUIRE(w.ok());
  CHECK(w.recovery.records.size() == 5);
  CHECK(w.recovery.last_version == 5);
  CHECK(w.recovery.truncated_file == seg);
  CHECK(w.recovery.truncated_at == good_size);
  CHECK(w.recovery.truncated_bytes > 0);
  CHECK(fs::file_size(seg) == good_size);
  // The log continues cleanly after the cut.
  REQUIRE(w.wal->append(6, payload(6)) == AppendError::ok);
  w.wal.reset();
  auto again = Wal::open(options(d), nullptr);
  REQUIRE(again.ok());
  CHECK(again.recovery.records.size() == 6);
  CHECK(again.recovery.truncated_bytes == 0);
}

// Ensure a damaged record followed by valid ones stops start-up, naming file and offset.
TEST_CASE("Wal: corrupt middle record is a clear error") {
  TempDir d;
  write_records(options(d), 1, 5);
  const std::string seg = only_segment(d);
  const std::uint64_t second = frame_size(1);
  SUBCASE("payload byte") { flip_byte(seg, second + frame_header + 3); }
  SUBCASE("length field") { flip_byte(seg, second); }
  auto w = Wal::open(options(d), nullptr);
  CHECK_FALSE(w.ok());
  CHECK(w.error.find(seg) != std::string::npos);
  CHECK(w.error.find("offset " + std::to_string(second)) != std::string::npos);
  CHECK(fs::file_size(seg) == 5 * frame_size(1));  // nothing was cut
}

// Ensure records are appended to the file before append() returns: a SIGKILLed writer loses none.
TEST_CASE("Wal: reopen after kill -9 without close or fsync") {
  TempDir d;
  WalOptions o = options(d);
  o.policy = FsyncPolicy::interval;
  o.interval_ms = 60'000;  // no fsync happens before the kill
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    auto w = Wal::open(o, nullptr);
    if (!w.ok()) ::_exit(2);
    for (std::uint64_t v = 1; v <= 1000; ++v) {
      if (w.wal->append(v, payload(v)) != AppendError::ok) ::_exit(3);
    }
    ::kill(::getpid(), SIGKILL);
    ::_exit(4);
  }
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGKILL);
  auto w = Wal::open(o, nullptr);
  REQUIRE(w.ok());
  REQUIRE(w.recovery.records.size() == 1000);
  CHECK(w.recovery.records.back().payload == payload(1000));
}

// Ensure a snapshot replaces the segments it covers and load = snapshot + later records.
TEST_CASE("Wal: snapshot deletes covered segments") {
  TempDir d;
  WalOptions o = options(d);
  o.segment_bytes = 300;
  {
    auto w = Wal::open(o, nullptr);
    REQUIRE(w.ok());
    for (std::uint64_t v = 1; v <= 40; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
    CHECK(w.wal->request_snapshot(41, "s") == AppendError::not_next_version);
    REQUIRE(w.wal->request_snapshot(40, "state@40") == AppendError::ok);
    CHECK(wait_for([&] { return w.wal->snapshots_written() == 1; }));
    for (std::uint64_t v = 41; v <= 45; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
  }
  std::size_t logs = 0;
  for (const auto& e : fs::directory_iterator(d.path)) logs += e.path().extension() == ".log";
  CHECK(logs <= 2);
  auto w = Wal::open(o, nullptr);
  REQUIRE(w.ok());
  REQUIRE(w.recovery.snapshot_version == 40u);
  CHECK(w.recovery.snapshot == "state@40");
  REQUIRE(w.recovery.records.size() == 5);
  CHECK(w.recovery.records.front().version == 41);
  CHECK(w.recovery.last_version == 45);
}

// Ensure a damaged snapshot or a hole in the versions refuses to start.
TEST_CASE("Wal: bad snapshot and version holes are errors") {
  TempDir d;
  WalOptions o = options(d);
  SUBCASE("snapshot checksum") {
    {
      auto w = Wal::open(o, nullptr);
      REQUIRE(w.ok());
      REQUIRE(w.wal->append(1, "a") == AppendError::ok);
      REQUIRE(w.wal->request_snapshot(1, "snapshot-bytes") == AppendError::ok);
      CHECK(wait_for([&] { return w.wal->snapshots_written() == 1; }));
    }
    std::string snap;
    for (const auto& e : fs::directory_iterator(d.path)) {
      if (e.path().extension() == ".snap") snap = e.path().string();
    }
    REQUIRE(!snap.empty());
    flip_byte(snap, 35);
    auto w = Wal::open(o, nullptr);
    CHECK_FALSE(w.ok());
    CHECK(w.error.find("corrupt snapshot " + snap) != std::string::npos);
  }
  SUBCASE("first segment lost") {
    o.segment_bytes = 100;
    write_records(o, 1, 10);
    fs::remove(d.path / "wal-000001.log");
    auto w = Wal::open(o, nullptr);
    CHECK_FALSE(w.ok());
    CHECK(w.error.find("are missing") != std::string::npos);
  }
}

// Ensure staged records reach the file only on flush(), all in order, and versions stay strict.
TEST_CASE("Wal: stage and flush batch the writes") {
  TempDir d;
  std::atomic<std::uint64_t> durable{0};
  auto w = Wal::open(options(d), [&](std::uint64_t v) { durable.store(v); });
  REQUIRE(w.ok());
  for (std::uint64_t v = 1; v <= 3; ++v) REQUIRE(w.wal->stage(v, payload(v)) == AppendError::ok);
  CHECK(w.wal->stage(5, "x") == AppendError::not_next_version);
  CHECK(w.wal->staged_version() == 3);
  CHECK(w.wal->last_version() == 0);
  CHECK(fs::file_size(only_segment(d)) == 0);
  CHECK(w.wal->request_snapshot(3, "s") == AppendError::not_next_version);  // not written yet
  REQUIRE(w.wal->flush() == AppendError::ok);
  CHECK(w.wal->last_version() == 3);
  CHECK(fs::file_size(only_segment(d)) == 3 * frame_size(1));
  CHECK(wait_for([&] { return durable.load() == 3; }));
  REQUIRE(w.wal->append(4, payload(4)) == AppendError::ok);
  w.wal.reset();
  auto again = Wal::open(options(d), nullptr);
  REQUIRE(again.ok());
  CHECK(again.recovery.records.size() == 4);
}

// Found by tests/fuzz/wal_fuzz.cpp (corpus wal/snapshot-ahead-of-segment): a snapshot newer than
// every record left (a segment holding 1..2 next to snapshot 4) opens fine, and the next append
// (5, into that segment) must not turn it into a log that refuses to open ("out of sequence").
TEST_CASE("Wal: appending after a snapshot newer than the log's records reopens cleanly") {
  TempDir with_snapshot;
  {
    auto w = Wal::open(options(with_snapshot), nullptr);
    REQUIRE(w.ok());
    for (std::uint64_t v = 1; v <= 4; ++v) REQUIRE(w.wal->append(v, payload(v)) == AppendError::ok);
    REQUIRE(w.wal->request_snapshot(4, "state-at-4") == AppendError::ok);
    CHECK(wait_for([&] { return w.wal->snapshots_written() == 1; }));
  }
  TempDir d;
  write_records(options(d), 1, 2);
  for (const auto& e : fs::directory_iterator(with_snapshot.path)) {
    if (e.path().extension() == ".snap") fs::copy_file(e.path(), d.path / e.path().filename());
  }
  {
    auto w = Wal::open(options(d), nullptr);
    REQUIRE(w.ok());
    CHECK(w.recovery.snapshot_version == 4);
    CHECK(w.recovery.records.empty());
    REQUIRE(w.wal->append(5, payload(5)) == AppendError::ok);
  }
  auto again = Wal::open(options(d), nullptr);
  REQUIRE(again.ok());
  CHECK(again.wal->last_version() == 5);
  REQUIRE(again.recovery.records.size() == 1);
  CHECK(again.recovery.records[0].version == 5);
}

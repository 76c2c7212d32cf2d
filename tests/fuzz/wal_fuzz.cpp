// libFuzzer target: write-ahead log recovery (storage::Wal::open) from arbitrary bytes, then the
// ledger's replay of what it recovered (app::LedgerService::recover), as LedgerStorage does at
// start-up. Files go to a per-process directory under /dev/shm (the fuzzer's cwd when /dev/shm
// is missing), emptied before each input and removed at exit.
//
// Input: byte 0 selects the layout, the rest is the data.
//   mode 0: the rest is wal-000001.log.
//   mode 1: [u16 n][n bytes: a snapshot file][rest: wal-000001.log]; the snapshot is named after
//           the version in its header (bytes 8..15), so the name check passes when they agree.
//   mode 2: the rest is records [u16 len][len bytes payload]..., framed with valid checksums at
//           versions 1, 2, ... (the real framing code), so the ledger's decoder sees arbitrary
//           change sets; with bit 2 of byte 0 set the first payload is a valid snapshot instead.
//   mode 3: [u16 n][n bytes: wal-000001.log][rest: wal-000002.log].
// A failed open or replay (an error string) is an expected outcome. Oracle: when open succeeds,
// appending the next version and reopening must succeed again with nothing left to truncate
// and that version last (a recovered log is a clean log).
//
// With TRADESHARD_FUZZ_WRITE_SEEDS=<dir> set, the target instead writes seed inputs for every
// mode from a log written by the real Wal and LedgerService (deposits, fills and a snapshot),
// then exits: that is how tests/fuzz/corpus/wal/ was made.
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "storage/wal_format.hpp"
#include "tradeshard/app/ledger_service.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/protocol/config_loader.hpp"
#include "tradeshard/storage/wal.hpp"

using namespace tradeshard;
namespace fs = std::filesystem;

namespace {

constexpr const char* kConfig = R"({
  "instruments": [
    { "symbol": "BTCUSDT", "class": "crypto", "base": "BTC", "quote": "USDT", "tick_size": "0.01", "lot_size": "0.00001" },
    { "symbol": "EURUSD", "class": "forex", "base": "EUR", "quote": "USD", "tick_size": "0.00001", "lot_size": "1" }
  ],
  "workers": [ { "id": "worker-1", "capacity": 1000 } ],
  "replication": { "replicas": 3, "log_keep": 16 },
  "ledger": { "data_dir": "unused", "fsync": "every_commit", "snapshot_every": 4 }
})";

struct Env {
  app::Config config = protocol::parse_config(kConfig);
  core::InstrumentTable instruments{config.instruments};
  std::string dir;
};
Env* env = nullptr;

void remove_dir() {
  if (env) {
    std::error_code ec;
    fs::remove_all(env->dir, ec);
  }
}

void empty_dir(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) fs::remove_all(e.path(), ec);
}

void write_file(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::uint16_t take_u16(std::string_view& s) {
  if (s.size() < 2) {
    s = {};
    return 0;
  }
  const auto v = static_cast<std::uint16_t>(static_cast<unsigned char>(s[0]) | (static_cast<unsigned char>(s[1]) << 8));
  s.remove_prefix(2);
  return v;
}

std::string_view take(std::string_view& s, std::size_t n) {
  n = std::min(n, s.size());
  const auto out = s.substr(0, n);
  s.remove_prefix(n);
  return out;
}

// A snapshot file exactly as Wal writes one (header, checksum, payload).
std::string snapshot_file(std::uint64_t version, std::string_view payload) {
  std::string out(storage::detail::snapshot_header, '\0');
  out.replace(0, 8, storage::detail::snapshot_magic);
  storage::detail::put_u64(out.data() + 8, version);
  storage::detail::put_u64(out.data() + 16, payload.size());
  storage::detail::put_u64(out.data() + 24, storage::detail::checksum(out.data() + 8, 16) ^
                                                storage::detail::checksum(payload.data(), payload.size()));
  out.append(payload);
  return out;
}

std::string file_in(const std::string& dir, const std::string& name) { return dir + "/" + name; }

// Lays the input out as files in env->dir (see the header comment).
void lay_out(std::string_view in) {
  const std::string& dir = env->dir;
  if (in.empty()) return;
  const auto mode = static_cast<unsigned char>(in[0]);
  in.remove_prefix(1);
  switch (mode & 3) {
    case 0:
      write_file(file_in(dir, storage::detail::segment_name(1)), in);
      break;
    case 1: {
      const auto snap = take(in, take_u16(in));
      const std::uint64_t version = snap.size() >= 16 ? storage::detail::get_u64(snap.data() + 8) : 1;
      write_file(file_in(dir, storage::detail::snapshot_name(version)), snap);
      write_file(file_in(dir, storage::detail::segment_name(1)), in);
      break;
    }
    case 2: {
      std::uint64_t version = 1;
      if (mode & 4) {
        const auto snap = take(in, take_u16(in));
        write_file(file_in(dir, storage::detail::snapshot_name(version)), snapshot_file(version, snap));
        ++version;
      }
      std::string log;
      while (!in.empty()) storage::detail::frame(log, version++, take(in, take_u16(in)));
      write_file(file_in(dir, storage::detail::segment_name(1)), log);
      break;
    }
    default: {
      const auto first = take(in, take_u16(in));
      write_file(file_in(dir, storage::detail::segment_name(1)), first);
      write_file(file_in(dir, storage::detail::segment_name(2)), in);
      break;
    }
  }
}

// No fsync thread for plain writes: under ASan, starting and joining one per input took over
// half of this target's time (thread stacks mapped and unmapped), and fsync is not what is fuzzed.
storage::WalOptions options(storage::FsyncPolicy policy = storage::FsyncPolicy::none) {
  storage::WalOptions o;
  o.dir = env->dir;
  o.policy = policy;
  o.segment_bytes = 1 << 16;  // small enough that an append after recovery may rotate
  return o;
}

// What LedgerStorage does with a recovery; error text or empty.
std::string replay(const storage::WalRecovery& rec) {
  app::LedgerService ledger(env->config, env->instruments);
  std::vector<std::string> records;
  for (const auto& r : rec.records) records.push_back(r.payload);
  std::optional<std::string> snap;
  if (rec.snapshot_version) snap = rec.snapshot;
  return ledger.recover(snap, records);
}

[[noreturn]] void broken(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::abort();
}

// Seeds from a log written by the real code: LedgerService staging into Wal.
class WalLog final : public app::LedgerLog {
 public:
  WalLog(storage::Wal& wal, bool snapshots) : snapshots_(snapshots), wal_(wal) {}
  bool stage(std::uint64_t version, std::string_view bytes) override {
    payloads.emplace_back(bytes);
    return wal_.stage(version, bytes) == storage::AppendError::ok;
  }
  bool flush() override { return wal_.flush() == storage::AppendError::ok; }
  void snapshot(std::uint64_t version, std::string bytes) override {
    if (!snapshots_) return;
    snapshot_version = version;
    snapshot_bytes = bytes;
    (void)wal_.request_snapshot(version, std::move(bytes));
  }
  std::vector<std::string> payloads;
  std::uint64_t snapshot_version = 0;
  std::string snapshot_bytes;

 private:
  bool snapshots_;
  storage::Wal& wal_;
};

struct SeedLog {
  std::string segment;   // every segment file's bytes, in order
  std::string snapshot;  // the snapshot file ("" without)
  std::vector<std::string> payloads;
  std::string snapshot_payload;
};

// The same ledger history (deposits, two fills, a withdrawal: 6 versions) through the real
// LedgerService and Wal, with or without the snapshot the ledger asks for after 4 commits (the
// Wal then deletes the segment holding versions 1..4).
SeedLog write_log(bool snapshots) {
  empty_dir(env->dir);
  SeedLog out;
  std::string snapshot_name;
  {
    auto opened = storage::Wal::open(options(storage::FsyncPolicy::every_commit), {});
    if (!opened.ok()) broken("seed: " + opened.error);
    WalLog log(*opened.wal, snapshots);
    app::LedgerService ledger(env->config, env->instruments);
    ledger.attach_log(&log);
    std::uint64_t v = 0;
    auto check = [](const std::string& e) {
      if (!e.empty()) broken("seed: " + e);
    };
    auto flush = [&ledger] {
      if (!ledger.flush()) broken("seed: the log write failed");
    };
    check(ledger.transfer("alice", "USDT", core::Decimal{100000000, 2}, true, v));
    check(ledger.transfer("bob", "USDT", core::Decimal{500000, 2}, true, v));
    flush();
    const auto btc = *env->instruments.find("BTCUSDT");
    // bob sells alice 0.25 BTC at 50000.10 (ticks of 0.01, lots of 0.00001), then 0.1 more
    if (!ledger.commit(app::Trade{"alice", "bob", btc, 5000010, 25000})) broken("seed: trade refused");
    flush();
    if (!ledger.commit(app::Trade{"alice", "bob", btc, 5000020, 10000})) broken("seed: trade refused");
    flush();  // 4 commits: the ledger asks for a snapshot here
    check(ledger.transfer("carol", "USD", core::Decimal{5000, 0}, true, v));
    check(ledger.transfer("alice", "USDT", core::Decimal{1000, 0}, false, v));
    flush();
    out.payloads = log.payloads;
    out.snapshot_payload = log.snapshot_bytes;
    if (snapshots && log.snapshot_version == 0) broken("seed: no snapshot taken");
    snapshot_name = storage::detail::snapshot_name(log.snapshot_version);
  }  // the Wal's destructor waits for the snapshot and the last fsync
  std::vector<std::pair<std::uint64_t, std::string>> segments;
  for (const auto& e : fs::directory_iterator(env->dir)) {
    const auto name = e.path().filename().string();
    std::uint64_t n = 0;
    if (storage::detail::parse_segment_name(name, n)) segments.emplace_back(n, read_file(e.path()));
    if (snapshots && name == snapshot_name) out.snapshot = read_file(e.path());
  }
  std::sort(segments.begin(), segments.end());
  for (const auto& seg : segments) out.segment += seg.second;
  if (out.segment.empty() || (snapshots && out.snapshot.empty())) broken("seed: the log left no segment or snapshot");
  return out;
}

int write_seeds(const std::string& out_dir) {
  fs::create_directories(out_dir);
  const SeedLog full = write_log(false);
  const SeedLog snap = write_log(true);
  auto u16 = [](std::size_t n) { return std::string{static_cast<char>(n & 0xff), static_cast<char>(n >> 8)}; };
  auto seed = [&](const std::string& name, const std::string& bytes) {
    write_file(out_dir + "/" + name, bytes);
    std::printf("wrote %s/%s (%zu bytes)\n", out_dir.c_str(), name.c_str(), bytes.size());
  };
  seed("segment", std::string(1, '\0') + full.segment);
  seed("snapshot-and-segment", std::string(1, '\1') + u16(snap.snapshot.size()) + snap.snapshot + snap.segment);
  std::string framed(1, '\2');
  for (const auto& p : full.payloads) framed += u16(p.size()) + p;
  seed("records", framed);
  std::string with_snap(1, '\6');
  with_snap += u16(snap.snapshot_payload.size()) + snap.snapshot_payload;
  for (std::size_t i = 4; i < snap.payloads.size(); ++i) with_snap += u16(snap.payloads[i].size()) + snap.payloads[i];
  seed("snapshot-and-records", with_snap);
  const std::size_t cut = full.segment.size() / 2;
  seed("two-segments", std::string(1, '\3') + u16(cut) + full.segment.substr(0, cut) + full.segment.substr(cut));
  seed("torn-tail", std::string(1, '\0') + full.segment.substr(0, full.segment.size() - 7));
  return 0;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  env = new Env;
  std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::current_path().string();
  env->dir = base + "/tradeshard-fuzz-wal-" + std::to_string(::getpid());
  fs::create_directories(env->dir);
  empty_dir(env->dir);
  std::atexit(remove_dir);
  if (const char* out = std::getenv("TRADESHARD_FUZZ_WRITE_SEEDS")) std::exit(write_seeds(out));
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  empty_dir(env->dir);
  lay_out(std::string_view(reinterpret_cast<const char*>(data), size));
  std::uint64_t next = 0;
  {
    auto opened = storage::Wal::open(options(), {});
    if (!opened.ok()) return 0;  // damage reported with its file and offset: expected
    (void)replay(opened.recovery);
    next = opened.wal->last_version() + 1;
    const auto e = opened.wal->append(next, "fuzz");
    if (e != storage::AppendError::ok) broken("append after recovery failed: " + std::string(storage::to_string(e)));
  }
  auto again = storage::Wal::open(options(), {});
  if (!again.ok()) broken("reopening a recovered log failed: " + again.error);
  if (!again.recovery.truncated_file.empty()) broken("reopening a recovered log truncated " + again.recovery.truncated_file);
  if (again.wal->last_version() != next) {
    broken("reopened at version " + std::to_string(again.wal->last_version()) + ", expected " + std::to_string(next));
  }
  return 0;
}

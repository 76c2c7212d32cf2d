#include "ledger_storage.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/post.hpp>
#include <chrono>
#include <cstdlib>
#include <stdexcept>
#include <thread>

namespace tradeshard::net {

LedgerStorage::LedgerStorage(boost::asio::io_context& io, const app::LedgerConfig& config,
                             app::LedgerService& ledger, Hooks hooks) {
  auto log = spdlog::get("ledger");
  storage::WalOptions opts;
  opts.dir = config.data_dir;
  opts.policy = config.fsync == app::FsyncMode::every_commit ? storage::FsyncPolicy::every_commit
                                                             : storage::FsyncPolicy::interval;
  opts.interval_ms = config.fsync_interval_ms;
  if (const char* d = std::getenv("TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS")) {
    opts.test_fsync_delay_ms = static_cast<std::uint32_t>(std::strtoul(d, nullptr, 10));
    log->warn("ledger: TEST HOOK: every fsync round takes {} ms more (TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS)",
              opts.test_fsync_delay_ms);
  }
  // Both callbacks run on the WAL's fsync thread: hand them to the loop, which owns the ledger.
  auto opened = storage::Wal::open(
      opts,
      [&io, &ledger, durable = hooks.durable](std::uint64_t v) {
        boost::asio::post(io, [&ledger, v, durable] {
          ledger.mark_durable(v);
          if (durable) durable(v);
        });
      },
      [&io, &ledger, failed = hooks.failed](std::string_view message) {
        boost::asio::post(io, [&ledger, m = std::string(message), failed] {
          spdlog::get("ledger")->critical("ledger storage failed, refusing orders from now on: {}", m);
          ledger.storage_failed();
          if (failed) failed();
        });
      });
  if (!opened.ok()) throw std::runtime_error("ledger.data_dir: " + opened.error);
  const auto& rec = opened.recovery;
  if (!rec.truncated_file.empty()) {
    log->warn("ledger: torn last record in {} at offset {} ({} bytes) cut away; it was never acknowledged",
              rec.truncated_file, rec.truncated_at, rec.truncated_bytes);
  }
  std::vector<std::string> records;
  records.reserve(rec.records.size());
  for (const auto& r : rec.records) records.push_back(r.payload);
  std::optional<std::string> snap;
  if (rec.snapshot_version) snap = rec.snapshot;
  if (auto err = ledger.recover(snap, records); !err.empty()) {
    throw std::runtime_error("ledger.data_dir: " + config.data_dir + ": " + err);
  }
  wal_ = std::move(opened.wal);
  if (const char* d = std::getenv("TRADESHARD_TEST_LEDGER_WRITE_DELAY_MS")) {
    delay_ms_ = static_cast<unsigned>(std::strtoul(d, nullptr, 10));
    log->warn("ledger: TEST HOOK: every log write is delayed by {} ms (TRADESHARD_TEST_LEDGER_WRITE_DELAY_MS)", delay_ms_);
  }
  if (const char* f = std::getenv("TRADESHARD_TEST_LEDGER_FAIL_WRITE_AFTER")) {
    fail_after_ = std::strtol(f, nullptr, 10);
    log->warn("ledger: TEST HOOK: log writes fail after {} (TRADESHARD_TEST_LEDGER_FAIL_WRITE_AFTER)", fail_after_);
  }
  ledger.attach_log(this);
  log->info("ledger: recovered version {} from {} ({} records after snapshot {})",
            ledger.coordinator().committed_version(), config.data_dir, records.size(),
            rec.snapshot_version ? std::to_string(*rec.snapshot_version) : "none");
}

LedgerStorage::~LedgerStorage() = default;

bool LedgerStorage::stage(std::uint64_t version, std::string_view bytes) {
  const auto e = wal_->stage(version, bytes);
  if (e != storage::AppendError::ok) {
    spdlog::get("ledger")->critical("ledger: cannot stage version {}: {}", version, storage::to_string(e));
    return false;
  }
  return true;
}

bool LedgerStorage::flush() {
  if (delay_ms_ != 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms_));
  if (fail_after_ == 0) {
    spdlog::get("ledger")->critical("ledger: write failed: injected by TRADESHARD_TEST_LEDGER_FAIL_WRITE_AFTER");
    return false;
  }
  if (fail_after_ > 0) --fail_after_;
  const auto e = wal_->flush();
  if (e != storage::AppendError::ok) {
    spdlog::get("ledger")->critical("ledger: write failed: {}", storage::to_string(e));
    return false;
  }
  return true;
}

void LedgerStorage::snapshot(std::uint64_t version, std::string bytes) {
  if (wal_->request_snapshot(version, std::move(bytes)) != storage::AppendError::ok) {
    spdlog::get("ledger")->warn("ledger: snapshot at version {} not taken", version);
  }
}

}  // namespace tradeshard::net

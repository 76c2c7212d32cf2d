#pragma once
// The ledger's write-ahead log at the edge: opens and recovers storage::Wal under
// ledger.data_dir, replays it into the Gateway's ledger, and brings the fsync thread's
// notifications back onto the loop.
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>

#include "tradeshard/app/ledger_service.hpp"
#include "tradeshard/storage/wal.hpp"

namespace tradeshard::net {

class LedgerStorage final : public app::LedgerLog {
 public:
  // Run on the loop after the ledger heard of it (the Server's ack_after "fsync" gate).
  struct Hooks {
    std::function<void(std::uint64_t version)> durable;  // an fsync covered every record <= version
    std::function<void()> failed;                        // the log failed: durability never advances
  };
  // Throws std::runtime_error with a one-line reason when the log cannot be opened or replayed.
  LedgerStorage(boost::asio::io_context& io, const app::LedgerConfig& config, app::LedgerService& ledger,
                Hooks hooks = {});
  ~LedgerStorage() override;

  bool stage(std::uint64_t version, std::string_view bytes) override;
  bool flush() override;
  void snapshot(std::uint64_t version, std::string bytes) override;

 private:
  std::unique_ptr<storage::Wal> wal_;
  // Fault injection for the release-point tests only (environment, logged loudly at start):
  // TRADESHARD_TEST_LEDGER_WRITE_DELAY_MS sleeps the loop before every log write;
  // TRADESHARD_TEST_LEDGER_FAIL_WRITE_AFTER=N lets N writes succeed, then fails every write;
  // TRADESHARD_TEST_LEDGER_FSYNC_DELAY_MS makes every fsync round that long (a slow disk).
  unsigned delay_ms_ = 0;
  long fail_after_ = -1;
};

}  // namespace tradeshard::net

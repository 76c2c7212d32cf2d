#include <doctest/doctest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <random>
#include <thread>

#include "ledger/ledger_fixture.hpp"
#include "tradeshard/ledger/codec.hpp"
#include "tradeshard/ledger/coordinator.hpp"
#include "tradeshard/storage/wal.hpp"

using namespace tradeshard;
using namespace tradeshard::ledger;
using namespace tradeshard::storage;
namespace fs = std::filesystem;

namespace {

struct Dir {
  std::string path;
  Dir() {
    char tmpl[] = "/tmp/tradeshard-lwal-XXXXXX";
    REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Rebuilds a coordinator from what the WAL recovered: snapshot (if any) + replay.
std::unique_ptr<Coordinator> rebuild(const WalRecovery& rec) {
  auto c = std::make_unique<Coordinator>(&test::rules(), CoordinatorConfig{});
  if (rec.snapshot_version) {
    auto snap = decode_snapshot(rec.snapshot, &test::rules());
    REQUIRE(snap.ok());
    REQUIRE(c->restore(*snap.value));
  }
  for (const auto& r : rec.records) {
    const auto d = decode_change_set(r.payload);
    REQUIRE(d.ok());
    REQUIRE(d.value.version == r.version);
    REQUIRE(c->replay(d.value).committed);
  }
  return c;
}

}  // namespace

// Ensure books recovered from snapshot + later records equal those from replaying every record.
TEST_CASE("Ledger on WAL: snapshot + replay equals full replay") {
  Dir with_snap;
  Dir full;
  Coordinator live(&test::rules(), CoordinatorConfig{});
  std::mt19937_64 rng(7);
  {
    WalOptions a;
    a.dir = with_snap.path;
    a.segment_bytes = 4096;
    WalOptions b;
    b.dir = full.path;
    auto wa = Wal::open(a, nullptr);
    auto wb = Wal::open(b, nullptr);
    REQUIRE(wa.ok());
    REQUIRE(wb.ok());
    std::string buf;
    for (int i = 0; i < 300; ++i) {
      ChangeSet cs;
      const auto buyer = live.resolve_account(cs, "acct" + std::to_string(rng() % 9));
      const auto seller = live.resolve_account(cs, "acct" + std::to_string(rng() % 9));
      REQUIRE(add_fill(cs, test::rules(), *buyer, *seller,
                       static_cast<core::InstrumentId>(rng() % 3),
                       static_cast<core::Ticks>(1 + rng() % 100'000),
                       static_cast<core::Lots>(1 + rng() % 1000)) == LedgerError::ok);
      REQUIRE(live.propose(cs).committed);
      buf.clear();
      encode(cs, buf);
      REQUIRE(wa.wal->append(cs.version, buf) == AppendError::ok);
      REQUIRE(wb.wal->append(cs.version, buf) == AppendError::ok);
      if (cs.version == 150) {
        std::string snap;
        encode(*live.committed_state(), snap);
        REQUIRE(wa.wal->request_snapshot(150, std::move(snap)) == AppendError::ok);
      }
    }
    for (int i = 0; i < 500 && wa.wal->snapshots_written() == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(wa.wal->snapshots_written() == 1);
  }
  auto ra = Wal::open(WalOptions{with_snap.path}, nullptr);
  auto rb = Wal::open(WalOptions{full.path}, nullptr);
  REQUIRE(ra.ok());
  REQUIRE(rb.ok());
  CHECK(ra.recovery.snapshot_version == 150u);
  CHECK(ra.recovery.records.size() == 150);
  CHECK(rb.recovery.records.size() == 300);
  const auto from_snapshot = rebuild(ra.recovery);
  const auto from_log = rebuild(rb.recovery);
  CHECK(from_snapshot->committed_version() == 300);
  CHECK(*from_snapshot->committed_state() == *from_log->committed_state());
  CHECK(*from_log->committed_state() == *live.committed_state());
  CHECK(test::books_balance(*from_snapshot->committed_state()));
}

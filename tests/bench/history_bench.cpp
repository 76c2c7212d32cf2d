// Market-data history store benchmark (docs/history.md), on a real RocksDB in a temp directory:
// realistic quotes (8 symbols, random-walk bids, varying spreads and sizes, 0-2 ms apart) are
// written through history::Store in the storage thread's batches, the partition is closed
// (zstd), then one symbol's million quotes are read back as one range query.
// Baseline from the same run: the same quotes stored one row per key (the naive layout: key
// symbol|ts|seq, value the five integers), in the same RocksDB options and the same close.
//   tradeshard-bench-history [--ticks N] [--quick]
// Prints bytes per stored quote (chunked vs one row per key), write rate, and the range query's
// time for 1,000,000 rows vs a full scan of the baseline's keys. The last line is JSON.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

#include "tradeshard/history/store.hpp"

using namespace tradeshard;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

namespace {

double s_since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

constexpr std::int64_t hour = 3'600'000;
constexpr int symbols = 8;

struct Feed {
  std::mt19937_64 rng{42};
  std::int64_t ts = 1'700'000'000'000 - 1'700'000'000'000 % (4 * hour);
  std::int64_t bid[symbols];
  Feed() {
    for (int s = 0; s < symbols; ++s) bid[s] = (1'000 + s * 7'000) * 100'000'000LL;
  }
  // One quote of symbol s: the bid walks by whole cents, spread 1-5 cents, sizes in 0.001 lots.
  history::QuoteRow next(int s) {
    ts += static_cast<std::int64_t>(rng() % 3);
    bid[s] += (static_cast<std::int64_t>(rng() % 7) - 3) * 1'000'000;
    const std::int64_t spread = (1 + static_cast<std::int64_t>(rng() % 5)) * 1'000'000;
    return {ts, bid[s], bid[s] + spread, static_cast<std::int64_t>(1 + rng() % 2'000) * 100'000,
            static_cast<std::int64_t>(1 + rng() % 2'000) * 100'000};
  }
};

std::uint64_t dir_bytes(const fs::path& p) {
  std::uint64_t n = 0;
  for (const auto& e : fs::recursive_directory_iterator(p)) {
    if (e.is_regular_file() && e.path().extension() == ".sst") n += e.file_size();
  }
  return n;
}

void put_be64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (i * 8)) & 0xff));
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t n = 8'000'000;  // 1M per symbol
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--ticks") && i + 1 < argc) n = std::stoul(argv[++i]);
    if (!std::strcmp(argv[i], "--quick")) n = 2'000'000;
  }
  const std::size_t per_symbol = n / symbols;
  const fs::path dir = fs::temp_directory_path() / ("tradeshard-bench-history-" + std::to_string(::getpid()));
  fs::remove_all(dir);
  std::printf("history bench: %zu quotes of %d symbols (%zu each), partitions of 4 h, in %s\n", n, symbols,
              per_symbol, dir.c_str());

  // The quotes, generated once for both layouts.
  Feed feed;
  std::vector<std::pair<int, history::QuoteRow>> quotes;
  quotes.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const int s = static_cast<int>(i % symbols);
    quotes.emplace_back(s, feed.next(s));
  }
  const std::int64_t first_ts = quotes.front().second.ts, last_ts = quotes.back().second.ts;
  const std::int64_t start = first_ts - first_ts % (4 * hour);
  if (last_ts >= start + 4 * hour) {
    std::printf("history bench: the quotes span more than one partition; use fewer --ticks\n");
    return 1;
  }

  // --- the store: batches of 4,096 rows, grouped per symbol as the storage thread does ---
  history::StoreOptions o;
  o.dir = (dir / "store").string();
  o.archive_dir = (dir / "archive").string();
  o.window_ms = 4 * hour;
  double write_s = 0, close_s = 0;
  std::uint64_t store_bytes = 0;
  {
    history::Store store(o);
    const auto t0 = Clock::now();
    for (std::size_t i = 0; i < n; i += 4'096) {
      std::vector<history::SymbolRows> batch(symbols);
      for (int s = 0; s < symbols; ++s) batch[static_cast<std::size_t>(s)].symbol = "SYM" + std::to_string(s);
      for (std::size_t j = i; j < std::min(n, i + 4'096); ++j) {
        batch[static_cast<std::size_t>(quotes[j].first)].quotes.push_back(quotes[j].second);
      }
      const auto r = store.write(batch, last_ts);
      if (!r.error.empty()) {
        std::printf("write failed: %s\n", r.error.c_str());
        return 1;
      }
    }
    write_s = s_since(t0);
    const auto t1 = Clock::now();
    const auto m = store.maintain(start + 4 * hour + 10'000);  // closes it: flush + zstd compaction
    close_s = s_since(t1);
    if (m.closed.size() != 1) {
      std::printf("close failed: %s\n", m.error.c_str());
      return 1;
    }
    store_bytes = store.partitions().at(0).bytes;
  }
  // Reopened: the query reads from disk (page cache), not from a warm memtable.
  double query_s = 0;
  std::size_t got = 0;
  {
    history::Store store(o);
    const auto t0 = Clock::now();
    const auto p = store.quotes("SYM3", first_ts, last_ts, 1'000'000, std::nullopt);
    query_s = s_since(t0);
    got = p.rows.size();
    if (!p.error.empty() || got != std::min<std::size_t>(per_symbol, 1'000'000)) {
      std::printf("query returned %zu rows: %s\n", got, p.error.c_str());
      return 1;
    }
  }

  // --- baseline: one row per key, same options, same close ---
  double base_write_s = 0, base_scan_s = 0;
  std::uint64_t base_bytes = 0;
  std::size_t base_got = 0;
  {
    rocksdb::Options opt;
    opt.create_if_missing = true;
    rocksdb::BlockBasedTableOptions table;
    table.block_size = 32 << 10;
    opt.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    opt.write_buffer_size = 64ULL << 20;
    opt.compression = rocksdb::kLZ4Compression;
    opt.bottommost_compression = rocksdb::kZSTD;
    rocksdb::DB* raw = nullptr;
    if (!rocksdb::DB::Open(opt, (dir / "baseline").string(), &raw).ok()) return 1;
    std::unique_ptr<rocksdb::DB> db(raw);
    const auto t0 = Clock::now();
    std::uint64_t seq = 0;
    for (std::size_t i = 0; i < n; i += 4'096) {
      rocksdb::WriteBatch wb;
      for (std::size_t j = i; j < std::min(n, i + 4'096); ++j) {
        const auto& q = quotes[j].second;
        std::string k = "q" + std::string(1, static_cast<char>(4)) + "SYM" + std::to_string(quotes[j].first);
        put_be64(k, static_cast<std::uint64_t>(q.ts));
        put_be64(k, ++seq);
        std::string v(40, '\0');
        const std::int64_t f[5] = {q.ts, q.bid, q.ask, q.bid_size, q.ask_size};
        std::memcpy(v.data(), f, sizeof f);
        wb.Put(k, v);
      }
      if (!db->Write(rocksdb::WriteOptions(), &wb).ok()) return 1;
    }
    base_write_s = s_since(t0);
    rocksdb::CompactRangeOptions cro;
    cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    (void)db->Flush(rocksdb::FlushOptions());
    (void)db->CompactRange(cro, nullptr, nullptr);
    base_bytes = dir_bytes(dir / "baseline");
    const auto t1 = Clock::now();
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    const std::string prefix = "q" + std::string(1, static_cast<char>(4)) + "SYM3";
    std::int64_t sum = 0;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix) && base_got < 1'000'000; it->Next()) {
      std::int64_t f[5];
      std::memcpy(f, it->value().data(), sizeof f);
      sum += f[1];
      ++base_got;
    }
    base_scan_s = s_since(t1);
    if (sum == 42) std::printf(" ");
  }
  fs::remove_all(dir);

  const double bpt = static_cast<double>(store_bytes) / static_cast<double>(n);
  const double base_bpt = static_cast<double>(base_bytes) / static_cast<double>(n);
  std::printf("stored: %.2f bytes per quote (one row per key: %.2f; %.1fx smaller)\n", bpt, base_bpt, base_bpt / bpt);
  std::printf("write: %.0f quotes/s (one row per key: %.0f/s; ratio %.2f); close (zstd): %.2f s\n", n / write_s,
              n / base_write_s, base_write_s / write_s, close_s);
  std::printf("range query: %zu quotes in %.3f s (one row per key, raw scan: %zu in %.3f s; ratio %.2f)\n", got,
              query_s, base_got, base_scan_s, base_scan_s / query_s);
  std::printf(
      "{\"bench\":\"history\",\"quotes\":%zu,\"bytes_per_quote\":%.3f,\"baseline_bytes_per_quote\":%.3f,"
      "\"write_per_s\":%.0f,\"baseline_write_per_s\":%.0f,\"close_s\":%.3f,\"query_rows\":%zu,\"query_s\":%.4f,"
      "\"baseline_scan_rows\":%zu,\"baseline_scan_s\":%.4f}\n",
      n, bpt, base_bpt, n / write_s, n / base_write_s, close_s, got, query_s, base_got, base_scan_s);
  return 0;
}

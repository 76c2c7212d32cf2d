#pragma once
// The history store's inside (store.cpp: opening, writes, queries; store_upkeep.cpp: closing,
// archiving, retention, restore). Private to src/history: the only place RocksDB is named.
#include "tradeshard/history/store.hpp"

#include <fcntl.h>
#include <rocksdb/cache.h>
#include <rocksdb/convenience.h>
#include <rocksdb/db.h>
#include <rocksdb/iterator.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/sst_file_writer.h>
#include <rocksdb/table.h>
#include <rocksdb/write_batch.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <unordered_map>
#include <unordered_set>

namespace tradeshard::history {
namespace fs = std::filesystem;


// A closed partition is compacted this long after its window ends: rows of the last instants
// (a feed's lag, the writer's last batch) still land in the memtable first.
constexpr std::int64_t close_grace_ms = 2'000;
// Rows more than this far ahead of the wall clock are not stored (counted late).
constexpr std::int64_t max_ahead_ms = 60'000;

inline std::string cf_name(std::int64_t start) { return "p-" + std::to_string(start); }
inline std::optional<std::int64_t> parse_cf_name(const std::string& name) {
  if (name.rfind("p-", 0) != 0) return std::nullopt;
  try {
    std::size_t used = 0;
    const auto v = std::stoll(name.substr(2), &used);
    if (used + 2 != name.size()) return std::nullopt;
    return v;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

inline void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

inline bool starts_with(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}


struct Store::Impl {
  using CfPtr = std::shared_ptr<rocksdb::ColumnFamilyHandle>;
  struct Part {
    PartitionMeta meta;
    CfPtr cf;  // null when archived
  };
  // What a reader needs of one partition, copied under the mutex.
  struct Source {
    std::int64_t start = 0;
    CfPtr cf;
    std::string archive;  // when cf is null
  };

  StoreOptions opt;
  rocksdb::DB* db = nullptr;
  bool abandoned = false;
  std::atomic<bool> failed{false};  // any write to db failed (set by whichever thread saw it)
  rocksdb::ColumnFamilyOptions cf_options;
  rocksdb::Options archive_options;  // SST export and reading: zstd
  mutable std::mutex mu;             // parts and symbols
  std::map<std::int64_t, Part> parts;
  std::unordered_set<std::string> symbols;
  // Writer thread only.
  std::uint64_t seq = 0;
  std::unordered_map<std::string, std::int64_t> last_ts[2];  // [0] quotes, [1] trades

  explicit Impl(StoreOptions o) : opt(std::move(o)) {
    if (opt.window_ms <= 0) throw std::runtime_error("history: partition window must be positive");
    const auto supported = rocksdb::GetSupportedCompressions();
    const auto has = [&](rocksdb::CompressionType t) {
      return std::find(supported.begin(), supported.end(), t) != supported.end();
    };
    if (!has(rocksdb::kZSTD)) throw std::runtime_error("history: this RocksDB has no zstd compression");
    rocksdb::BlockBasedTableOptions table;
    table.block_size = 32 << 10;  // larger blocks: zstd sees more of a series at once
    table.block_cache = rocksdb::NewLRUCache(64 << 20);
    cf_options.write_buffer_size = opt.write_buffer_bytes;
    cf_options.max_write_buffer_number = 3;
    cf_options.compression = has(rocksdb::kLZ4Compression) ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;
    cf_options.bottommost_compression = rocksdb::kZSTD;
    cf_options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    archive_options.compression = rocksdb::kZSTD;
    archive_options.table_factory = cf_options.table_factory;

    std::error_code ec;
    fs::create_directories(opt.dir, ec);
    if (ec) throw std::runtime_error("history: cannot create " + opt.dir + ": " + ec.message());
    if (!opt.archive_dir.empty()) {
      fs::create_directories(opt.archive_dir, ec);
      if (ec) throw std::runtime_error("history: cannot create " + opt.archive_dir + ": " + ec.message());
      for (const auto& e : fs::directory_iterator(opt.archive_dir, ec)) {
        if (e.path().extension() == ".tmp") fs::remove(e.path(), ec);  // an export cut short
      }
    }
    rocksdb::DBOptions dbo;
    dbo.create_if_missing = true;
    dbo.create_missing_column_families = true;
    dbo.max_background_jobs = 2;
    dbo.info_log_level = rocksdb::WARN_LEVEL;
    dbo.keep_log_file_num = 2;
    dbo.max_log_file_size = 1 << 20;
    dbo.max_total_wal_size = 256ULL << 20;  // bounds recovery time: old partitions' memtables get flushed
    dbo.db_write_buffer_size = 256ULL << 20;  // all partitions' memtables together stay under this
    std::vector<std::string> names;
    if (!rocksdb::DB::ListColumnFamilies(dbo, opt.dir, &names).ok()) names = {rocksdb::kDefaultColumnFamilyName};
    std::vector<rocksdb::ColumnFamilyDescriptor> descs;
    for (const auto& n : names) descs.emplace_back(n, cf_options);
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    const auto s = rocksdb::DB::Open(dbo, opt.dir, descs, &handles, &db);
    if (!s.ok()) throw std::runtime_error("history: cannot open " + opt.dir + ": " + s.ToString());
    load(names, handles);
  }

  ~Impl() {
    parts.clear();  // destroys the partitions' handles before the database
    if (db && !abandoned) {
      (void)db->Close();
      delete db;
    }
  }

  CfPtr wrap(rocksdb::ColumnFamilyHandle* h) {
    return CfPtr(h, [db = db](rocksdb::ColumnFamilyHandle* p) { (void)db->DestroyColumnFamilyHandle(p); });
  }

  std::string archive_path(std::int64_t start) const { return opt.archive_dir + "/p-" + std::to_string(start) + ".sst"; }

  void load(const std::vector<std::string>& names, const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (names[i] == rocksdb::kDefaultColumnFamilyName) {
        (void)db->DestroyColumnFamilyHandle(handles[i]);  // the default family's handle is db's own
        continue;
      }
      const auto start = parse_cf_name(names[i]);
      if (!start) {
        (void)db->DestroyColumnFamilyHandle(handles[i]);
        continue;
      }
      parts[*start].cf = wrap(handles[i]);
    }
    std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions()));
    for (it->Seek("p/"); it->Valid() && starts_with(it->key(), "p/"); it->Next()) {
      const auto start = parse_partition_meta_key(it->key().ToStringView());
      const auto meta = parse_partition_meta(it->value().ToStringView());
      if (!start || !meta) continue;
      auto found = parts.find(*start);
      if (meta->state == 'a' && found == parts.end()) {
        if (fs::exists(archive_path(*start))) parts[*start].meta = *meta;  // else gone: forget it
        continue;
      }
      if (found != parts.end()) found->second.meta = *meta;
    }
    for (auto& [start, p] : parts) {
      // A live family whose bookkeeping says archived: the export finished, the drop did not.
      if (p.cf && p.meta.state == 'a') p.meta.state = 'c', p.meta.restored = true, p.meta.restored_at = 0;
    }
    for (it->Seek("s/"); it->Valid() && starts_with(it->key(), "s/"); it->Next()) {
      symbols.insert(it->key().ToString().substr(2));
    }
    std::string v;
    if (db->Get(rocksdb::ReadOptions(), "seq", &v).ok()) seq = std::strtoull(v.c_str(), nullptr, 10);
  }

  // Writer thread: the partition's family, created when new (under the mutex: readers copy it).
  // Null when the partition is archived or past retention.
  rocksdb::ColumnFamilyHandle* family(std::int64_t start, std::int64_t now_ms, std::string& error) {
    {
      const std::lock_guard lock(mu);
      const auto found = parts.find(start);
      // A restored partition is a copy of its archive file and is dropped again: rows written
      // into it would go with it.
      if (found != parts.end()) return found->second.meta.restored ? nullptr : found->second.cf.get();
    }
    if (opt.retention_ms > 0 && start + opt.window_ms <= now_ms - opt.retention_ms) return nullptr;
    // (write() skips such rows when it orders a symbol's times: keep the two conditions equal.)
    // A time more than one window ahead of the clock is a bad feed clock or a hostile client:
    // each distinct window would cost a column family (and its memtable) for as long as it lasts.
    if (start > now_ms + opt.window_ms) return nullptr;
    if (opt.archive_after_ms > 0 && start + opt.window_ms <= now_ms - opt.archive_after_ms) return nullptr;
    rocksdb::ColumnFamilyHandle* h = nullptr;
    const auto s = db->CreateColumnFamily(cf_options, cf_name(start), &h);
    if (!s.ok()) {
      error = "cannot create partition " + std::to_string(start) + ": " + s.ToString();
      return nullptr;
    }
    const std::lock_guard lock(mu);
    auto& p = parts[start];
    p.cf = wrap(h);
    return h;
  }

  // The last stored time of a symbol's quotes or trades (newest live partition holding any).
  std::int64_t find_last_ts(Kind kind, const std::string& symbol) {
    std::vector<Source> sources = live_sources_desc();
    const std::string prefix = key_prefix(kind, symbol);
    std::vector<QuoteRow> q;
    std::vector<TradeRow> t;
    for (const auto& src : sources) {
      std::unique_ptr<rocksdb::Iterator> it(db->NewIterator(rocksdb::ReadOptions(), src.cf.get()));
      it->SeekForPrev(chunk_key(kind, symbol, INT64_MAX, UINT64_MAX));
      if (!it->Valid()) continue;
      const auto ck = parse_chunk_key(it->key().ToStringView(), prefix);
      if (!ck) continue;
      if (kind == Kind::quote && decode_quotes(it->value().ToStringView(), ck->ts, q) && !q.empty()) return q.back().ts;
      if (kind == Kind::trade && decode_trades(it->value().ToStringView(), ck->ts, t) && !t.empty()) return t.back().ts;
    }
    return INT64_MIN;
  }

  std::vector<Source> live_sources_desc() const {
    std::vector<Source> out;
    const std::lock_guard lock(mu);
    for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
      if (it->second.cf) out.push_back({it->first, it->second.cf, {}});
    }
    return out;
  }

  // Partitions a query over [from, to] reads, oldest first.
  std::vector<Source> sources(std::int64_t from, std::int64_t to) const {
    std::vector<Source> out;
    const std::lock_guard lock(mu);
    for (auto it = parts.begin(); it != parts.end(); ++it) {
      const std::int64_t start = it->first;
      if (start > to || start + opt.window_ms <= from) continue;
      if (it->second.cf) {
        out.push_back({start, it->second.cf, {}});
      } else {
        out.push_back({start, nullptr, archive_path(start)});
      }
    }
    return out;
  }

  // An iterator over one partition: the live family, or the archive file read in place.
  struct Cursorless {
    std::unique_ptr<rocksdb::SstFileReader> reader;
    std::unique_ptr<rocksdb::Iterator> it;
  };
  bool open(const Source& src, Cursorless& c, std::string& error) const {
    rocksdb::ReadOptions ro;
    ro.fill_cache = src.cf != nullptr;
    if (src.cf) {
      c.it.reset(db->NewIterator(ro, src.cf.get()));
      return true;
    }
    c.reader = std::make_unique<rocksdb::SstFileReader>(archive_options);
    const auto s = c.reader->Open(src.archive);
    if (!s.ok()) {
      if (!fs::exists(src.archive)) return false;  // deleted by retention meanwhile: nothing to read
      error = "cannot read archived partition " + std::to_string(src.start) + ": " + s.ToString();
      return false;
    }
    c.it.reset(c.reader->NewIterator(ro));
    return true;
  }

  template <class Row, class Decode>
  Page<Row> scan(Kind kind, std::string_view symbol, std::int64_t from, std::int64_t to, std::size_t limit,
                 const std::optional<Cursor>& after, Decode decode) const {
    Page<Row> page;
    if (symbol.size() > max_symbol_bytes || from > to) return page;
    const std::int64_t first = after ? std::max(from, after->ts) : from;
    const std::string prefix = key_prefix(kind, symbol);
    std::vector<Row> rows;
    for (const auto& src : sources(first, to)) {
      Cursorless c;
      if (!open(src, c, page.error)) {
        if (!page.error.empty()) return page;
        continue;
      }
      auto& it = *c.it;
      const bool resume = after && window_start(after->ts, opt.window_ms) == src.start;
      if (resume) {
        it.Seek(chunk_key(kind, symbol, after->ts, after->seq));
      } else {
        // The chunk holding `first` may start before it: the last chunk starting before it (a
        // chunk starting before `first` can end at `first`, beside one that starts there).
        it.SeekForPrev(chunk_key(kind, symbol, first, 0));
        if (!it.Valid() || !starts_with(it.key(), prefix)) it.Seek(chunk_key(kind, symbol, first, 0));
      }
      for (; it.Valid() && starts_with(it.key(), prefix); it.Next()) {
        const auto ck = parse_chunk_key(it.key().ToStringView(), prefix);
        if (!ck) continue;
        if (ck->ts > to) break;
        if (!decode(it.value().ToStringView(), ck->ts, rows)) {
          page.error = "corrupt chunk in partition " + std::to_string(src.start);
          return page;
        }
        const bool at_cursor = resume && ck->ts == after->ts && ck->seq == after->seq;
        for (std::size_t i = at_cursor ? after->row : 0; i < rows.size(); ++i) {
          if (rows[i].ts < from) continue;
          if (rows[i].ts > to) return page;
          if (page.rows.size() == limit) {
            page.next = Cursor{ck->ts, ck->seq, static_cast<std::uint32_t>(i)};
            return page;
          }
          page.rows.push_back(rows[i]);
        }
      }
      if (!it.status().ok()) {
        page.error = it.status().ToString();
        return page;
      }
    }
    return page;
  }
};

}  // namespace tradeshard::history

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

std::string_view to_string(PartitionState s) noexcept {
  constexpr std::string_view names[] = {"hot", "cold", "archived"};
  return names[static_cast<int>(s)];
}

namespace {

// A closed partition is compacted this long after its window ends: rows of the last instants
// (a feed's lag, the writer's last batch) still land in the memtable first.
constexpr std::int64_t close_grace_ms = 2'000;
// Rows more than this far ahead of the wall clock are not stored (counted late).
constexpr std::int64_t max_ahead_ms = 60'000;

std::string cf_name(std::int64_t start) { return "p-" + std::to_string(start); }
std::optional<std::int64_t> parse_cf_name(const std::string& name) {
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

void fsync_path(const std::string& path, bool directory) {
  const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return;
  (void)::fsync(fd);
  ::close(fd);
}

bool starts_with(const rocksdb::Slice& s, std::string_view prefix) {
  return s.size() >= prefix.size() && std::string_view(s.data(), prefix.size()) == prefix;
}

}  // namespace

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

Store::Store(StoreOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Store::~Store() = default;

WriteResult Store::write(std::vector<SymbolRows>& batch, std::int64_t now_ms) {
  auto& m = *impl_;
  WriteResult r;
  rocksdb::WriteBatch wb;
  std::map<std::int64_t, std::uint64_t> added;  // rows per partition
  std::vector<std::string> new_symbols;
  std::vector<std::pair<std::pair<int, std::string>, std::int64_t>> last_updates;
  std::string value;

  // Splits one symbol's rows (times already made non-decreasing) into chunks per partition.
  // Returns the time of the last row stored (INT64_MIN when none was).
  const auto chunks = [&](Kind kind, const std::string& symbol, auto& rows, auto encode) {
    std::int64_t last_stored = INT64_MIN;
    std::size_t i = 0;
    while (i < rows.size() && r.error.empty()) {
      const std::int64_t start = window_start(rows[i].ts, m.opt.window_ms);
      std::size_t j = i + 1;
      while (j < rows.size() && j - i < max_chunk_rows && window_start(rows[j].ts, m.opt.window_ms) == start) ++j;
      auto* cf = m.family(start, now_ms, r.error);
      if (cf) {
        value.clear();
        encode(value, rows[i].ts, &rows[i], j - i);
        wb.Put(cf, chunk_key(kind, symbol, rows[i].ts, ++m.seq), value);
        added[start] += j - i;
        r.rows += j - i;
        last_stored = rows[j - 1].ts;
      } else if (r.error.empty()) {
        r.late += j - i;
      }
      i = j;
    }
    return last_stored;
  };
  // Times of one symbol never go backwards in the store (see format.hpp).
  const auto order = [&](int k, Kind kind, const std::string& symbol, auto& rows) {
    // Ahead of the clock by more than max_ahead_ms: a wrong feed clock or a hostile client.
    // Dropped before anything else, so one such row cannot drag its symbol's later rows (which
    // are stored at no earlier a time than the last one) into the future.
    const auto ahead = std::erase_if(rows, [&](const auto& row) { return row.ts > now_ms + max_ahead_ms; });
    r.late += ahead;
    if (rows.empty()) return;
    auto found = m.last_ts[k].find(symbol);
    std::int64_t last = found != m.last_ts[k].end() ? found->second : m.find_last_ts(kind, symbol);
    for (auto& row : rows) {
      if (row.ts < last) {
        row.ts = last;
        ++r.reordered;
      }
      last = row.ts;
    }
  };

  for (auto& sr : batch) {
    if (sr.symbol.empty() || sr.symbol.size() > max_symbol_bytes) continue;
    bool known = false;
    {
      const std::lock_guard lock(m.mu);
      known = m.symbols.count(sr.symbol) != 0;
    }
    if (!known) {
      wb.Put("s/" + sr.symbol, "");
      new_symbols.push_back(sr.symbol);
    }
    order(0, Kind::quote, sr.symbol, sr.quotes);
    order(1, Kind::trade, sr.symbol, sr.trades);
    // Only rows stored move a symbol's last time: dropped ones (late, too far ahead) must not
    // drag the next rows after them.
    if (const auto t = chunks(Kind::quote, sr.symbol, sr.quotes, encode_quotes); t != INT64_MIN) {
      last_updates.push_back({{0, sr.symbol}, t});
    }
    if (const auto t = chunks(Kind::trade, sr.symbol, sr.trades, encode_trades); t != INT64_MIN) {
      last_updates.push_back({{1, sr.symbol}, t});
    }
    for (const auto& [interval, bar, partial] : sr.bars) {
      if (!r.error.empty()) break;
      const std::int64_t start = window_start(bar.start_ms, m.opt.window_ms);
      auto* cf = m.family(start, now_ms, r.error);
      if (!cf) {
        if (r.error.empty()) ++r.late;
        continue;
      }
      const std::string key = bar_key(sr.symbol, interval, bar.start_ms);
      market::Bar merged = bar;
      // The same window stored before as a piece (the open bar saved at a shutdown): the two
      // pieces merge. A closed bar stored before is replaced, never added to.
      if (m.db->Get(rocksdb::ReadOptions(), cf, key, &value).ok()) {
        if (const auto earlier = decode_bar(value, bar.start_ms); earlier && earlier->partial) {
          merged = merge_bars(earlier->bar, bar);
        }
      }
      wb.Put(cf, key, encode_bar(merged, partial));
      ++added[start];
      ++r.rows;
    }
    if (!r.error.empty()) break;
  }
  if (!r.error.empty()) {
    r.rows = 0;
    return r;
  }
  if (wb.Count() == 0) return r;
  {
    const std::lock_guard lock(m.mu);
    for (const auto& [start, n] : added) {
      auto meta = m.parts[start].meta;
      meta.rows += n;
      wb.Put(partition_meta_key(start), encode_partition_meta(meta));
    }
  }
  wb.Put("seq", std::to_string(m.seq));
  const auto s = m.db->Write(rocksdb::WriteOptions(), &wb);
  if (!s.ok()) {
    m.failed = true;
    r.error = s.ToString();
    r.rows = 0;
    return r;
  }
  const std::lock_guard lock(m.mu);
  for (const auto& [start, n] : added) m.parts[start].meta.rows += n;
  for (auto& sym : new_symbols) m.symbols.insert(std::move(sym));
  for (auto& [key, ts] : last_updates) m.last_ts[key.first][key.second] = ts;
  return r;
}

MaintainResult Store::maintain(std::int64_t now_ms) {
  auto& m = *impl_;
  MaintainResult out;
  struct Step {
    std::int64_t start = 0;
    Impl::CfPtr cf;
    PartitionMeta meta;
  };
  std::optional<Step> close, archive, unrestore;
  std::vector<Step> expired;
  {
    const std::lock_guard lock(m.mu);
    for (auto& [start, p] : m.parts) {
      const std::int64_t end = start + m.opt.window_ms;
      if (m.opt.retention_ms > 0 && end <= now_ms - m.opt.retention_ms) {
        expired.push_back({start, p.cf, p.meta});
        continue;
      }
      if (!p.cf) continue;
      if (!close && p.meta.state == 'h' && end + close_grace_ms <= now_ms) close = Step{start, p.cf, p.meta};
      if (m.opt.archive_after_ms > 0 && end <= now_ms - m.opt.archive_after_ms && p.meta.state == 'c') {
        if (p.meta.restored) {
          if (!unrestore && now_ms - p.meta.restored_at >= m.opt.restore_keep_ms) unrestore = Step{start, p.cf, p.meta};
        } else if (!archive) {
          archive = Step{start, p.cf, p.meta};
        }
      }
    }
  }
  const auto set_meta = [&](std::int64_t start, const PartitionMeta& meta, bool drop) -> bool {
    const auto s = m.db->Put(rocksdb::WriteOptions(), partition_meta_key(start), encode_partition_meta(meta));
    if (!s.ok()) {
      m.failed = true;
      out.error = s.ToString();
      return false;
    }
    Impl::CfPtr dropped;
    {
      const std::lock_guard lock(m.mu);
      auto& p = m.parts[start];
      p.meta = meta;
      if (drop) dropped = std::move(p.cf);
    }
    if (dropped) {
      const auto d = m.db->DropColumnFamily(dropped.get());
      if (!d.ok()) out.error = d.ToString();
    }
    return true;
  };

  if (close) {
    rocksdb::CompactRangeOptions cro;
    cro.bottommost_level_compaction = rocksdb::BottommostLevelCompaction::kForce;
    (void)m.db->Flush(rocksdb::FlushOptions(), close->cf.get());
    const auto s = m.db->CompactRange(cro, close->cf.get(), nullptr, nullptr);
    if (!s.ok()) {
      out.error = "closing partition " + std::to_string(close->start) + ": " + s.ToString();
    } else {
      close->meta.state = 'c';
      if (set_meta(close->start, close->meta, false)) out.closed.push_back(close->start);
    }
  }
  if (archive && out.error.empty()) {
    const std::string path = m.archive_path(archive->start);
    const std::string tmp = path + ".tmp";
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), m.archive_options);
    std::unique_ptr<rocksdb::Iterator> it(m.db->NewIterator(rocksdb::ReadOptions(), archive->cf.get()));
    rocksdb::Status s;
    bool any = false;
    for (it->SeekToFirst(); it->Valid() && s.ok(); it->Next()) {
      if (!any) s = writer.Open(tmp);
      any = true;
      if (s.ok()) s = writer.Put(it->key(), it->value());
    }
    if (s.ok()) s = it->status();
    if (s.ok() && any) s = writer.Finish();
    std::error_code ec;
    if (!s.ok()) {
      fs::remove(tmp, ec);
      out.error = "archiving partition " + std::to_string(archive->start) + ": " + s.ToString();
    } else {
      if (any) {
        fsync_path(tmp, false);
        fs::rename(tmp, path, ec);
        fsync_path(m.opt.archive_dir, true);
      }
      if (ec) {
        out.error = "archiving partition " + std::to_string(archive->start) + ": " + ec.message();
      } else if (!any) {  // nothing in it: nothing to keep
        const std::lock_guard lock(m.mu);
        Impl::CfPtr cf = std::move(m.parts[archive->start].cf);
        m.parts.erase(archive->start);
        (void)m.db->DropColumnFamily(cf.get());
        if (!m.db->Delete(rocksdb::WriteOptions(), partition_meta_key(archive->start)).ok()) m.failed = true;
        out.deleted.push_back(archive->start);
      } else {
        archive->meta.state = 'a';
        if (set_meta(archive->start, archive->meta, true)) out.archived.push_back(archive->start);
      }
    }
  }
  if (unrestore && out.error.empty()) {
    unrestore->meta.state = 'a';
    unrestore->meta.restored = false;
    if (set_meta(unrestore->start, unrestore->meta, true)) out.unrestored.push_back(unrestore->start);
  }
  for (auto& e : expired) {
    if (e.cf) (void)m.db->DropColumnFamily(e.cf.get());
    std::error_code ec;
    fs::remove(m.archive_path(e.start), ec);
    if (!m.db->Delete(rocksdb::WriteOptions(), partition_meta_key(e.start)).ok()) m.failed = true;
    const std::lock_guard lock(m.mu);
    m.parts.erase(e.start);
    out.deleted.push_back(e.start);
  }
  return out;
}

void Store::abandon() noexcept { impl_->abandoned = true; }

bool Store::failed() const noexcept { return impl_->failed.load(); }

void Store::sync() { (void)impl_->db->FlushWAL(true); }

std::vector<PartitionInfo> Store::partitions() const {
  auto& m = *impl_;
  std::vector<std::pair<std::int64_t, Impl::Part>> copy;
  {
    const std::lock_guard lock(m.mu);
    copy.assign(m.parts.begin(), m.parts.end());
  }
  std::vector<PartitionInfo> out;
  for (const auto& [start, p] : copy) {
    PartitionInfo info;
    info.start = start;
    info.end = start + m.opt.window_ms;
    info.rows = p.meta.rows;
    info.restored = p.meta.restored;
    info.state = p.meta.state == 'h' ? PartitionState::hot
                 : p.meta.state == 'c' ? PartitionState::cold
                                       : PartitionState::archived;
    if (p.cf) {
      rocksdb::ColumnFamilyMetaData md;
      m.db->GetColumnFamilyMetaData(p.cf.get(), &md);
      std::uint64_t mem = 0;
      (void)m.db->GetIntProperty(p.cf.get(), "rocksdb.cur-size-all-mem-tables", &mem);
      info.bytes = md.size + mem;
    } else {
      std::error_code ec;
      const auto size = fs::file_size(m.archive_path(start), ec);
      info.bytes = ec ? 0 : size;
    }
    out.push_back(info);
  }
  return out;
}

bool Store::knows_symbol(std::string_view symbol) const {
  const std::lock_guard lock(impl_->mu);
  return impl_->symbols.count(std::string(symbol)) != 0;
}

Page<QuoteRow> Store::quotes(std::string_view symbol, std::int64_t from, std::int64_t to, std::size_t limit,
                             const std::optional<Cursor>& after) const {
  return impl_->scan<QuoteRow>(Kind::quote, symbol, from, to, limit, after,
                               [](std::string_view v, std::int64_t ts, std::vector<QuoteRow>& rows) {
                                 return decode_quotes(v, ts, rows);
                               });
}

Page<TradeRow> Store::trades(std::string_view symbol, std::int64_t from, std::int64_t to, std::size_t limit,
                             const std::optional<Cursor>& after) const {
  return impl_->scan<TradeRow>(Kind::trade, symbol, from, to, limit, after,
                               [](std::string_view v, std::int64_t ts, std::vector<TradeRow>& rows) {
                                 return decode_trades(v, ts, rows);
                               });
}

Page<StoredBar> Store::bars(std::string_view symbol, market::Interval interval, std::int64_t from,
                            std::int64_t to, std::size_t limit) const {
  auto& m = *impl_;
  Page<StoredBar> page;
  if (symbol.size() > max_symbol_bytes || from > to) return page;
  const std::string prefix = key_prefix(Kind::bar, symbol);
  for (const auto& src : m.sources(from, to)) {
    Impl::Cursorless c;
    if (!m.open(src, c, page.error)) {
      if (!page.error.empty()) return page;
      continue;
    }
    auto& it = *c.it;
    for (it.Seek(bar_key(symbol, interval, from)); it.Valid() && starts_with(it.key(), prefix); it.Next()) {
      const auto bk = parse_bar_key(it.key().ToStringView(), prefix);
      if (!bk || bk->interval != interval || bk->start_ms > to) break;
      const auto bar = decode_bar(it.value().ToStringView(), bk->start_ms);
      if (!bar) {
        page.error = "corrupt bar in partition " + std::to_string(src.start);
        return page;
      }
      if (page.rows.size() == limit) {
        page.next = Cursor{bk->start_ms, 0, 0};
        return page;
      }
      page.rows.push_back(*bar);
    }
    if (!it.status().ok()) {
      page.error = it.status().ToString();
      return page;
    }
  }
  return page;
}

std::string Store::restore(std::int64_t start, std::int64_t now_ms) {
  auto& m = *impl_;
  if (m.failed) return "the history store failed a write earlier; nothing more is written to it until a restart";
  PartitionMeta meta;
  {
    const std::lock_guard lock(m.mu);
    const auto found = m.parts.find(start);
    if (found == m.parts.end()) return "unknown_partition";
    if (found->second.cf) return "not_archived";
    meta = found->second.meta;
  }
  const std::string path = m.archive_path(start);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  auto s = m.db->CreateColumnFamily(m.cf_options, cf_name(start), &h);
  if (!s.ok()) return "restore failed: " + s.ToString();
  auto cf = m.wrap(h);
  rocksdb::IngestExternalFileOptions ingest;
  ingest.move_files = false;  // the archive file stays: the partition can be dropped again cheaply
  s = m.db->IngestExternalFile(cf.get(), {path}, ingest);
  meta.state = 'c';
  meta.restored = true;
  meta.restored_at = now_ms;
  if (s.ok()) {
    s = m.db->Put(rocksdb::WriteOptions(), partition_meta_key(start), encode_partition_meta(meta));
    if (!s.ok()) m.failed = true;
  }
  if (!s.ok()) {
    (void)m.db->DropColumnFamily(cf.get());
    return "restore failed: " + s.ToString();
  }
  const std::lock_guard lock(m.mu);
  auto& p = m.parts[start];
  p.meta = meta;
  p.cf = std::move(cf);
  return {};
}

}  // namespace tradeshard::history

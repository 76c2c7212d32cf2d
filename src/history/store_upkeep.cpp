// The history store's upkeep: partitions closed (zstd), archived, expired; restores.
#include "store_impl.hpp"

namespace tradeshard::history {

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

#include "store_impl.hpp"

namespace tradeshard::history {

std::string_view to_string(PartitionState s) noexcept {
  constexpr std::string_view names[] = {"hot", "cold", "archived"};
  return names[static_cast<int>(s)];
}

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

}  // namespace tradeshard::history

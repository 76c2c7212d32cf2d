// The ledger's log in etcd (include/tradeshard/cluster/ledger_log.hpp).
#include "tradeshard/cluster/ledger_log.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <nlohmann/json.hpp>

namespace tradeshard::cluster {

using nlohmann::json;

namespace {

constexpr std::string_view kMagic = "TSLB1\n";  // tradeshard ledger batch, format 1
constexpr std::size_t kFrame = 8 + 4;           // [u64 version][u32 length]
constexpr std::string_view kChunkMagic = "TSSC1\n";  // tradeshard snapshot chunk, format 1
constexpr std::size_t kChunkHeader = kChunkMagic.size() + 8 + 4 + 4;  // [u64 version][u32 index][u32 count]

std::string fmt_hex(std::uint64_t v) {
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(v));
  return out;
}

std::string digits(std::uint64_t v, int width) {
  char out[24];
  std::snprintf(out, sizeof out, "%0*llu", width, static_cast<unsigned long long>(v));
  return out;
}

void put_le(std::string& out, std::uint64_t v, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_le(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v |= std::uint64_t{static_cast<unsigned char>(in[at + i])} << (8 * i);
  return v;
}

}  // namespace

std::string LedgerKeys::log(std::uint64_t first_version) const { return log_prefix() + digits(first_version, 20); }

std::string LedgerKeys::snapshot(std::uint64_t version) const { return snapshot_prefix() + digits(version, 20) + "/"; }

std::string LedgerKeys::chunk(std::uint64_t version, std::uint32_t index) const {
  return snapshot(version) + digits(index, 6);
}

std::optional<std::uint64_t> LedgerKeys::log_version(std::string_view key) const {
  const std::string p = log_prefix();
  if (key.size() != p.size() + 20 || key.substr(0, p.size()) != p) return std::nullopt;
  const auto digits = key.substr(p.size());
  std::uint64_t v = 0;
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (r.ec != std::errc{} || r.ptr != digits.data() + digits.size() || v == 0) return std::nullopt;
  return v;
}

std::string encode(const LedgerHead& h) {
  return json{{"epoch", h.epoch}, {"version", h.version}, {"snapshot", h.snapshot}}.dump();
}

std::optional<LedgerHead> decode_head(std::string_view value, std::string* error) {
  const auto fail = [error](const char* why) -> std::optional<LedgerHead> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  const json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  if (j.size() != 3 || !j.contains("epoch") || !j.contains("version") || !j.contains("snapshot")) {
    return fail("want exactly \"epoch\", \"version\", \"snapshot\"");
  }
  for (const char* f : {"epoch", "version", "snapshot"}) {
    if (!j[f].is_number_unsigned()) return fail("\"epoch\", \"version\", \"snapshot\": non-negative integers");
  }
  LedgerHead h{j["epoch"].get<std::uint64_t>(), j["version"].get<std::uint64_t>(), j["snapshot"].get<std::uint64_t>()};
  if (h.epoch == 0) return fail("\"epoch\": a leader's, never 0");
  if (h.snapshot > h.version) return fail("\"snapshot\" after \"version\"");
  return h;
}

namespace {
json digest_json(const DigestAt& d) { return json{{"version", d.version}, {"digest", fmt_hex(d.digest)}}; }
}  // namespace

std::string encode(const FollowerStatus& s) {
  return json{{"id", s.id},
              {"process", s.process},
              {"http", s.http},
              {"applied", s.applied},
              {"checkpoint", s.checkpoint ? digest_json(*s.checkpoint) : json(nullptr)},
              {"digest", digest_json(s.current)}}
      .dump();
}

std::optional<FollowerStatus> decode_follower(std::string_view value, std::string* error) {
  const auto fail = [error](const std::string& why) -> std::optional<FollowerStatus> {
    if (error != nullptr) *error = why;
    return std::nullopt;
  };
  const json j = json::parse(value, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
  for (const char* f : {"id", "process", "http", "applied", "checkpoint", "digest"}) {
    if (!j.contains(f)) return fail(std::string("no \"") + f + "\"");
  }
  if (j.size() != 6) return fail("unknown fields");
  if (!j["id"].is_string() || j["id"].get<std::string>().empty()) return fail("\"id\": a non-empty string");
  if (!j["process"].is_string() || (j["process"] != "replica" && j["process"] != "standby")) {
    return fail("\"process\": \"replica\" or \"standby\"");
  }
  if (!j["http"].is_string()) return fail("\"http\": host:port");
  if (!j["applied"].is_number_unsigned()) return fail("\"applied\": a non-negative integer");
  const auto digest_of = [](const json& d) -> std::optional<DigestAt> {
    if (!d.is_object() || d.size() != 2 || !d.contains("version") || !d.contains("digest")) return std::nullopt;
    if (!d["version"].is_number_unsigned() || !d["digest"].is_string()) return std::nullopt;
    const auto hex = d["digest"].get<std::string>();
    std::uint64_t v = 0;
    const auto r = std::from_chars(hex.data(), hex.data() + hex.size(), v, 16);
    if (hex.size() != 16 || r.ec != std::errc{} || r.ptr != hex.data() + hex.size()) return std::nullopt;
    return DigestAt{d["version"].get<std::uint64_t>(), v};
  };
  FollowerStatus s{j["id"].get<std::string>(), j["process"].get<std::string>(), j["http"].get<std::string>(),
                   j["applied"].get<std::uint64_t>(), std::nullopt, {}};
  if (!j["checkpoint"].is_null()) {
    s.checkpoint = digest_of(j["checkpoint"]);
    if (!s.checkpoint) return fail("\"checkpoint\": null or {\"version\", \"digest\": 16 hex digits}");
  }
  const auto current = digest_of(j["digest"]);
  if (!current) return fail("\"digest\": {\"version\", \"digest\": 16 hex digits}");
  s.current = *current;
  return s;
}

bool BatchWriter::fits(std::size_t size) const noexcept {
  const std::size_t base = out_.empty() ? kMagic.size() : out_.size();
  return size <= max_batch_bytes && base + kFrame + size <= max_batch_bytes;
}

bool BatchWriter::add(std::uint64_t version, std::string_view bytes) {
  if (!fits(bytes.size())) return false;
  if (any_ && version != last_ + 1) return false;  // across batches too
  if (version == 0) return false;
  if (out_.empty()) {
    out_.append(kMagic);
    first_ = version;
  }
  put_le(out_, version, 8);
  put_le(out_, bytes.size(), 4);
  out_.append(bytes);
  last_ = version;
  any_ = true;
  ++records_;
  return true;
}

std::string BatchWriter::take() {
  std::string out;
  out.swap(out_);
  records_ = 0;
  first_ = 0;  // last_ stays: the next batch continues after it
  return out;
}

std::optional<std::vector<LogRecord>> decode_batch(std::string_view value, std::uint64_t first_version,
                                                   std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<std::vector<LogRecord>> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  if (value.size() > max_batch_bytes) return fail("larger than a batch may be");
  if (value.substr(0, kMagic.size()) != kMagic) return fail("not a ledger batch (magic)");
  std::vector<LogRecord> out;
  std::size_t at = kMagic.size();
  std::uint64_t expect = first_version;
  while (at < value.size()) {
    if (value.size() - at < kFrame) return fail("a torn frame header at byte " + std::to_string(at));
    const auto version = get_le(value, at, 8);
    const auto length = get_le(value, at + 8, 4);
    if (version != expect) {
      return fail("version " + std::to_string(version) + " where " + std::to_string(expect) + " belongs");
    }
    if (length > value.size() - at - kFrame) return fail("a torn record at byte " + std::to_string(at));
    out.push_back(LogRecord{version, std::string(value.substr(at + kFrame, length))});
    at += kFrame + length;
    ++expect;
  }
  if (out.empty()) return fail("an empty batch");
  return out;
}

bool LogAssembler::add(std::string_view key, std::string_view value, std::string* error) {
  const auto fail = [error](std::string why) {
    if (error != nullptr) *error = std::move(why);
    return false;
  };
  const auto first = keys_.log_version(key);
  if (!first) return fail(std::string(key) + " is not a ledger log key");
  std::string why;
  auto records = decode_batch(value, *first, &why);
  if (!records) return fail(std::string(key) + " does not decode: " + why);
  const std::uint64_t last = records->back().version;
  if (batches_.empty() && last <= last_) return true;  // wholly inside the snapshot
  if (batches_.empty() ? *first > last_ + 1 : *first != last_ + 1) {
    return fail("the ledger's log has a gap: " + std::string(key) + " where version " + std::to_string(last_ + 1) +
                " belongs");
  }
  for (auto& r : *records) {
    if (r.version > last_) records_.push_back(std::move(r));
  }
  batches_.push_back(BatchSpan{*first, last});
  last_ = last;
  return true;
}

bool LogAssembler::ends_at(std::uint64_t version, std::string* error) const {
  if (last_ == version) return true;
  if (error != nullptr) {
    *error = "the ledger's log ends at version " + std::to_string(last_) + " but its head says " + std::to_string(version);
  }
  return false;
}

std::vector<std::string> split_snapshot(std::uint64_t version, std::string_view bytes) {
  constexpr std::size_t room = max_chunk_bytes - kChunkHeader;
  const std::size_t count = bytes.empty() ? 1 : (bytes.size() + room - 1) / room;
  if (count > max_chunks) return {};
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    const auto part = bytes.substr(std::min(bytes.size(), i * room), room);
    std::string v;
    v.reserve(kChunkHeader + part.size());
    v.append(kChunkMagic);
    put_le(v, version, 8);
    put_le(v, i, 4);
    put_le(v, count, 4);
    v.append(part);
    out.push_back(std::move(v));
  }
  return out;
}

std::optional<std::string> join_snapshot(const LedgerKeys& keys, std::uint64_t version,
                                         const std::vector<ChunkKV>& chunks, std::string* error) {
  const auto fail = [error](std::string why) -> std::optional<std::string> {
    if (error != nullptr) *error = std::move(why);
    return std::nullopt;
  };
  if (chunks.empty()) return fail("no chunk of the snapshot at version " + std::to_string(version));
  std::string out;
  std::uint64_t count = 0;
  for (std::size_t i = 0; i < chunks.size(); ++i) {
    const auto& [key, value] = chunks[i];
    if (i >= max_chunks || key != keys.chunk(version, static_cast<std::uint32_t>(i))) {
      return fail(std::string(key) + " where chunk " + std::to_string(i) + " of the snapshot at version " +
                  std::to_string(version) + " belongs");
    }
    if (value.size() > max_chunk_bytes || value.size() < kChunkHeader ||
        value.substr(0, kChunkMagic.size()) != kChunkMagic) {
      return fail(std::string(key) + " is not a snapshot chunk");
    }
    const auto v = get_le(value, kChunkMagic.size(), 8);
    const auto index = get_le(value, kChunkMagic.size() + 8, 4);
    const auto n = get_le(value, kChunkMagic.size() + 12, 4);
    if (v != version || index != i) return fail(std::string(key) + " holds chunk " + std::to_string(index) + " of version " + std::to_string(v));
    if (i == 0) count = n;
    if (n != count || n == 0 || n > max_chunks) return fail(std::string(key) + " says " + std::to_string(n) + " chunks");
    out.append(value.substr(kChunkHeader));
  }
  if (chunks.size() != count) {
    return fail("the snapshot at version " + std::to_string(version) + " has " + std::to_string(chunks.size()) +
                " of its " + std::to_string(count) + " chunks");
  }
  return out;
}

etcd::TxnRequest append_batch(const LedgerKeys& keys, const etcd::LeaderKey& leader, std::int64_t head_mod,
                              std::uint64_t first_version, std::string batch, const LedgerHead& new_head) {
  using etcd::Compare;
  etcd::TxnRequest t;
  t.compare.push_back(Compare::create_revision(leader.key, Compare::Result::equal, leader.rev));
  t.compare.push_back(Compare::mod_revision(keys.head(), Compare::Result::equal, head_mod));
  t.success.emplace_back(etcd::PutRequest{keys.log(first_version), std::move(batch), 0, false});
  t.success.emplace_back(etcd::PutRequest{keys.head(), encode(new_head), 0, false});
  t.failure.emplace_back(etcd::RangeRequest{leader.key, {}, 0, 0, false, false});
  t.failure.emplace_back(etcd::RangeRequest{keys.head(), {}, 0, 0, false, false});
  return t;
}

etcd::TxnRequest put_chunk(const LedgerKeys& keys, const etcd::LeaderKey& leader, std::uint64_t version,
                           std::uint32_t index, std::string value) {
  etcd::TxnRequest t;
  t.compare.push_back(etcd::Compare::create_revision(leader.key, etcd::Compare::Result::equal, leader.rev));
  t.success.emplace_back(etcd::PutRequest{keys.chunk(version, index), std::move(value), 0, false});
  return t;
}

etcd::TxnRequest clear_snapshot(const LedgerKeys& keys, const etcd::LeaderKey& leader, std::uint64_t version) {
  etcd::TxnRequest t;
  t.compare.push_back(etcd::Compare::create_revision(leader.key, etcd::Compare::Result::equal, leader.rev));
  t.success.emplace_back(etcd::DeleteRequest{keys.snapshot(version), etcd::prefix_end(keys.snapshot(version)), false});
  return t;
}

etcd::TxnRequest switch_snapshot(const LedgerKeys& keys, const etcd::LeaderKey& leader, std::int64_t head_mod,
                                 const LedgerHead& new_head, std::uint64_t keep_log_from) {
  using etcd::Compare;
  etcd::TxnRequest t;
  t.compare.push_back(Compare::create_revision(leader.key, Compare::Result::equal, leader.rev));
  t.compare.push_back(Compare::mod_revision(keys.head(), Compare::Result::equal, head_mod));
  t.success.emplace_back(etcd::PutRequest{keys.head(), encode(new_head), 0, false});
  t.success.emplace_back(etcd::DeleteRequest{keys.log_prefix(), keys.log(keep_log_from), false});
  const auto kept = keys.snapshot(new_head.snapshot);
  t.success.emplace_back(etcd::DeleteRequest{keys.snapshot_prefix(), kept, false});
  t.success.emplace_back(etcd::DeleteRequest{etcd::prefix_end(kept), etcd::prefix_end(keys.snapshot_prefix()), false});
  t.failure.emplace_back(etcd::RangeRequest{leader.key, {}, 0, 0, false, false});
  t.failure.emplace_back(etcd::RangeRequest{keys.head(), {}, 0, 0, false, false});
  return t;
}

}  // namespace tradeshard::cluster

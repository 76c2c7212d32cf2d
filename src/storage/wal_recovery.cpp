// Start-up scan of the WAL directory: newest snapshot + contiguous checksummed records.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "wal_format.hpp"

namespace tradeshard::storage::detail {
namespace {

bool all_zero(std::string_view s) noexcept {
  return std::all_of(s.begin(), s.end(), [](char c) { return c == 0; });
}

std::string at(const std::string& path, std::size_t offset) {
  return path + " at offset " + std::to_string(offset);
}

// Reads the snapshot file fully and checks it; error names the file.
bool load_snapshot(const std::string& path, std::uint64_t name_version, WalRecovery& out,
                   std::string& error) {
  std::string bytes;
  if (!read_file(path, bytes, error)) return false;
  const auto bad = [&](const char* why) {
    error = "wal: corrupt snapshot " + path + " (" + why + "); refusing to start";
    return false;
  };
  if (bytes.size() < snapshot_header || bytes.compare(0, 8, snapshot_magic) != 0) {
    return bad("bad header");
  }
  const std::uint64_t version = get_u64(bytes.data() + 8);
  const std::uint64_t len = get_u64(bytes.data() + 16);
  const std::uint64_t sum = get_u64(bytes.data() + 24);
  if (version != name_version) return bad("version does not match file name");
  if (len != bytes.size() - snapshot_header) return bad("length mismatch");
  if (checksum(bytes.data() + 8, 16) ^ checksum(bytes.data() + snapshot_header, len) ^ sum) {
    return bad("checksum mismatch");
  }
  out.snapshot_version = version;
  out.snapshot = bytes.substr(snapshot_header);
  out.last_version = version;
  return true;
}

enum class Damage { none, torn, corrupt };

struct ScanState {
  std::uint64_t next = 0;  // next expected version, 0 = not known yet
  std::uint64_t skip_upto = 0;
};

// Scans one segment. Returns the offset of the first damaged record (== size when clean).
std::size_t scan(const std::string& bytes, const WalOptions& opt, ScanState& st,
                 WalRecovery& out, SegmentFile& seg, Damage& damage, std::string& why) {
  std::size_t off = 0;
  damage = Damage::none;
  while (off < bytes.size()) {
    const std::string_view rest(bytes.data() + off, bytes.size() - off);
    const auto tail = [&](const char* reason) {
      // Damage with nothing but zeros (or nothing) after it is a torn append, anything else is not.
      damage = Damage::corrupt;
      why = reason;
      return off;
    };
    if (all_zero(rest)) return damage = Damage::torn, why = "zero-filled tail", off;
    if (rest.size() < frame_header) return damage = Damage::torn, why = "partial header", off;
    const std::uint32_t len = get_u32(rest.data());
    if (len > opt.max_record) return tail("record length out of range");
    const std::size_t end = frame_header + std::size_t{len};
    if (rest.size() < end) return damage = Damage::torn, why = "partial record", off;
    if (checksum(rest.data() + 12, 8 + std::size_t{len}) != get_u64(rest.data() + 4)) {
      if (end == rest.size() || all_zero(rest.substr(end))) {
        return damage = Damage::torn, why = "checksum mismatch in last record", off;
      }
      return tail("checksum mismatch");
    }
    const std::uint64_t version = get_u64(rest.data() + 12);
    // A jump over versions the snapshot covers is no hole (they are never replayed): it is what
    // appending snapshot + 1 after a segment whose records end below the snapshot leaves.
    const bool covered_jump = version > st.next && version <= st.skip_upto + 1;
    if (st.next != 0 && version != st.next && !covered_jump) return tail("version out of sequence");
    st.next = version + 1;
    seg.last_version = version;
    if (version > st.skip_upto) {
      out.records.push_back(WalRecord{version, std::string(rest.substr(frame_header, len))});
      out.last_version = version;
    }
    off += end;
  }
  return off;
}

bool truncate_tail(const std::string& path, std::size_t off, std::string& error) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  const bool ok = fd >= 0 && ::ftruncate(fd, static_cast<off_t>(off)) == 0 && ::fsync(fd) == 0;
  if (fd >= 0) ::close(fd);
  if (!ok) error = "wal: cannot truncate torn tail of " + at(path, off);
  return ok;
}

}  // namespace

RecoverResult recover(const WalOptions& opt) {
  RecoverResult res;
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(opt.dir, ec);
  if (ec) return res.error = "wal: cannot create " + opt.dir + ": " + ec.message(), res;
  std::vector<std::pair<std::uint64_t, std::string>> snaps;
  for (const auto& e : fs::directory_iterator(opt.dir, ec)) {
    const std::string name = e.path().filename().string();
    std::uint64_t n = 0;
    if (parse_segment_name(name, n)) res.segments.push_back(SegmentFile{n, e.path().string(), 0, 0});
    if (parse_snapshot_name(name, n)) snaps.emplace_back(n, e.path().string());
    if (name.size() > 4 && name.ends_with(".tmp")) fs::remove(e.path(), ec);  // unfinished snapshot
  }
  if (ec) return res.error = "wal: cannot list " + opt.dir + ": " + ec.message(), res;
  std::sort(res.segments.begin(), res.segments.end(),
            [](const auto& a, const auto& b) { return a.seq < b.seq; });
  std::sort(snaps.begin(), snaps.end());
  for (const auto& s : snaps) res.snapshots.push_back(s.second);
  WalRecovery& out = res.recovery;
  if (!snaps.empty() && !load_snapshot(snaps.back().second, snaps.back().first, out, res.error)) {
    return res;
  }
  ScanState st;
  st.skip_upto = out.snapshot_version.value_or(0);
  for (std::size_t i = 0; i < res.segments.size(); ++i) {
    SegmentFile& seg = res.segments[i];
    std::string bytes;
    if (!read_file(seg.path, bytes, res.error)) return res;
    Damage damage = Damage::none;
    std::string why;
    const std::size_t off = scan(bytes, opt, st, out, seg, damage, why);
    seg.size = off;
    if (damage == Damage::none) continue;
    if (damage == Damage::corrupt || i + 1 != res.segments.size()) {
      res.error = "wal: corrupt record in " + at(seg.path, off) + " (" + why + "); refusing to start";
      return res;
    }
    if (!truncate_tail(seg.path, off, res.error)) return res;
    out.truncated_file = seg.path;
    out.truncated_at = off;
    out.truncated_bytes = bytes.size() - off;
  }
  // The records must continue the snapshot (or start at version 1) without a hole.
  const std::uint64_t base = out.snapshot_version.value_or(0);
  if (!out.records.empty() && out.records.front().version != base + 1) {
    res.error = "wal: versions " + std::to_string(base + 1) + ".." +
                std::to_string(out.records.front().version - 1) + " are missing in " + opt.dir +
                "; refusing to start";
  }
  return res;
}

}  // namespace tradeshard::storage::detail

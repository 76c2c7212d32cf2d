#pragma once
// Private: on-disk framing shared by the WAL writer and its recovery scan.
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace tradeshard::storage::detail {

inline constexpr std::size_t frame_header = 4 + 8 + 8;  // len, checksum, version
inline constexpr std::string_view snapshot_magic = "TSSNAP01";
inline constexpr std::size_t snapshot_header = 8 + 8 + 8 + 8;

std::uint64_t checksum(const char* data, std::size_t n) noexcept;

inline void put_u32(char* p, std::uint32_t v) noexcept {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline void put_u64(char* p, std::uint64_t v) noexcept {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>(v >> (8 * i));
}
inline std::uint32_t get_u32(const char* p) noexcept {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}
inline std::uint64_t get_u64(const char* p) noexcept {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
  return v;
}

// Appends one framed record to out.
void frame(std::string& out, std::uint64_t version, std::string_view payload);

std::string segment_name(std::uint64_t seq);
std::string snapshot_name(std::uint64_t version);
// Parses "wal-NNNNNN.log" / "snapshot-N.snap"; false if name is not one.
bool parse_segment_name(std::string_view name, std::uint64_t& seq) noexcept;
bool parse_snapshot_name(std::string_view name, std::uint64_t& version) noexcept;

// Low-level POSIX helpers: false + message on failure.
bool write_all(int fd, const char* data, std::size_t n) noexcept;
bool read_file(const std::string& path, std::string& out, std::string& error);
bool fsync_dir(const std::string& dir) noexcept;

}  // namespace tradeshard::storage::detail

#include <vector>

#include "tradeshard/storage/wal.hpp"

namespace tradeshard::storage::detail {

struct SegmentFile {
  std::uint64_t seq = 0;
  std::string path;
  std::uint64_t last_version = 0;  // 0 when it holds no record
  std::uint64_t size = 0;
};

struct RecoverResult {
  WalRecovery recovery;
  std::vector<SegmentFile> segments;  // ascending seq, after any tail truncation
  std::vector<std::string> snapshots; // every snapshot file found (newest is in recovery)
  std::string error;
};

// Scans options.dir as described in wal.hpp; truncates a torn tail in place.
RecoverResult recover(const WalOptions& options);

}  // namespace tradeshard::storage::detail

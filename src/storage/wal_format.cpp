#include "wal_format.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace tradeshard::storage::detail {

std::uint64_t checksum(const char* data, std::size_t n) noexcept { return XXH3_64bits(data, n); }

void frame(std::string& out, std::uint64_t version, std::string_view payload) {
  const std::size_t at = out.size();
  out.resize(at + frame_header + payload.size());
  char* p = out.data() + at;
  put_u32(p, static_cast<std::uint32_t>(payload.size()));
  put_u64(p + 12, version);
  if (!payload.empty()) std::memcpy(p + frame_header, payload.data(), payload.size());
  // The checksum covers version and payload (contiguous from offset 12); a damaged length
  // shifts that range and fails it too.
  put_u64(p + 4, checksum(p + 12, 8 + payload.size()));
}

std::string segment_name(std::uint64_t seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "wal-%06llu.log", static_cast<unsigned long long>(seq));
  return buf;
}

std::string snapshot_name(std::uint64_t version) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "snapshot-%020llu.snap", static_cast<unsigned long long>(version));
  return buf;
}

namespace {
bool parse_number(std::string_view name, std::string_view prefix, std::string_view suffix,
                  std::uint64_t& out) noexcept {
  if (name.size() <= prefix.size() + suffix.size()) return false;
  if (name.substr(0, prefix.size()) != prefix) return false;
  if (name.substr(name.size() - suffix.size()) != suffix) return false;
  const std::string_view digits = name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  const auto r = std::from_chars(digits.data(), digits.data() + digits.size(), out);
  return r.ec == std::errc{} && r.ptr == digits.data() + digits.size();
}
}  // namespace

bool parse_segment_name(std::string_view name, std::uint64_t& seq) noexcept {
  return parse_number(name, "wal-", ".log", seq);
}

bool parse_snapshot_name(std::string_view name, std::uint64_t& version) noexcept {
  return parse_number(name, "snapshot-", ".snap", version);
}

bool write_all(int fd, const char* data, std::size_t n) noexcept {
  while (n > 0) {
    const ssize_t w = ::write(fd, data, n);
    if (w < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

bool read_file(const std::string& path, std::string& out, std::string& error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    error = "wal: cannot open " + path + ": " + std::strerror(errno);
    return false;
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    error = "wal: cannot stat " + path + ": " + std::strerror(errno);
    ::close(fd);
    return false;
  }
  out.resize(static_cast<std::size_t>(st.st_size));
  std::size_t done = 0;
  while (done < out.size()) {
    const ssize_t r = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(done));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    done += static_cast<std::size_t>(r);
  }
  ::close(fd);
  out.resize(done);
  return true;
}

bool fsync_dir(const std::string& dir) noexcept {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  const bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

}  // namespace tradeshard::storage::detail

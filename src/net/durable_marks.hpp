#pragma once
// ledger.ack_after "fsync" (docs/ledger.md, "When a client hears of a fill"): what a session
// queues after a ledger commit may leave the process only once that commit is on disk. The
// session marks, in its outbound queue, where each message that needs a version not yet durable
// starts and which version that is; a write then takes only the prefix that is safe now, so a
// stream of later messages can never hold back bytes whose version is already durable. Versions
// are non-decreasing along the queue (each is the ledger's committed version when its message
// was queued). No Asio; loop thread only.
#include <cstddef>
#include <cstdint>
#include <deque>

namespace tradeshard::net {

class DurableMarks {
 public:
  // The message starting at byte `offset` of the queue needs `version` durable (called only when
  // it is not yet). A mark for the same version as the last one adds nothing: the earlier start
  // already holds everything after it.
  void mark(std::size_t offset, std::uint64_t version) {
    if (!marks_.empty() && marks_.back().version >= version) return;
    marks_.push_back(Mark{offset, version});
  }
  // How many bytes from the queue's start (of `queued`) may be written with `durable` on disk.
  [[nodiscard]] std::size_t releasable(std::size_t queued, std::uint64_t durable) const noexcept {
    for (const auto& m : marks_) {
      if (m.version > durable) return m.offset;
    }
    return queued;
  }
  // The version the first held byte waits for; 0 when nothing is held.
  [[nodiscard]] std::uint64_t waiting_for(std::uint64_t durable) const noexcept {
    for (const auto& m : marks_) {
      if (m.version > durable) return m.version;
    }
    return 0;
  }
  // A write took the first `n` bytes (at most releasable()): the marks inside them are done, the
  // others move up.
  void consumed(std::size_t n) {
    while (!marks_.empty() && marks_.front().offset < n) marks_.pop_front();
    for (auto& m : marks_) m.offset -= n;
  }
  void clear() noexcept { marks_.clear(); }
  [[nodiscard]] bool empty() const noexcept { return marks_.empty(); }

 private:
  struct Mark {
    std::size_t offset;
    std::uint64_t version;
  };
  std::deque<Mark> marks_;
};

}  // namespace tradeshard::net

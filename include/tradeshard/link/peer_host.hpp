#pragma once
// What a worker or node process runs behind its link listener (docs/cluster.md "The link"): the
// edge (src/net/worker_process.cpp) moves bytes in and out and calls these; WorkerHost (matching
// engines) and NodeHost (processing nodes) keep the state. No sockets. Loop thread only.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/link/codec.hpp"

namespace tradeshard::link {

class PeerHost {
 public:
  virtual ~PeerHost() = default;
  // Bytes the gateway sent; frames to send back are appended to `out`. False: close the link
  // once `out` is written (a REFUSE or a protocol error; error() says why).
  [[nodiscard]] virtual bool on_bytes(std::string_view bytes, std::string& out) = 0;
  // The link is gone; the next one starts with HELLO.
  virtual void on_link_closed() = 0;
  // Whether this HELLO would be accepted (nothing changes): a second connection's HELLO is
  // checked before it may replace the link that serves.
  [[nodiscard]] virtual std::optional<Refuse> check_hello(const Hello& h) const = 0;
  // Work left over between reads (queued orders); frames to `out`. True while more remains.
  virtual bool pump(app::Now now, std::string& out) = 0;
  [[nodiscard]] virtual std::uint64_t epoch() const noexcept = 0;
  [[nodiscard]] virtual const std::string& error() const noexcept = 0;
};

}  // namespace tradeshard::link

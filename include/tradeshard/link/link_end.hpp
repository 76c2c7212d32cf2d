#pragma once
// What the gateway's link manager (src/net/link_manager.cpp) drives for one kind of peer process:
// RemoteVenue for workers, RemoteNodes for processing nodes. The manager owns the sockets,
// heartbeats and failure detection; the end owns what goes over the link. Pure; loop thread only.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/app/clock.hpp"

namespace tradeshard::link {

struct LinkCounters {
  std::uint64_t commands = 0;       // commands (worker) or TICKS batches (node) sent, first sends
  std::uint64_t resent = 0;         // commands sent again after a reconnect or a rehome
  std::uint64_t results = 0;        // RESULT / NODE_OUTPUT frames applied
  std::uint64_t unexpected = 0;     // RESULTs for no outstanding command (dropped)
  std::uint64_t import_failed = 0;  // LOAD_BOOKs the worker refused
  std::uint64_t remote_full = 0;    // orders the worker answered queue_full (ended as expired)
  std::uint64_t rebuilds = 0;       // the worker came back without its state: books rebuilt
  std::uint64_t pings = 0;
  std::uint64_t pongs = 0;
  std::uint64_t ticks = 0;    // node: ticks sent
  std::uint64_t dropped = 0;  // node: ticks not sent (too many batches in flight, link down)
  std::uint64_t lost = 0;     // node: batches sent and never answered (the link or the node died)
};

struct LinkView {
  std::string name;
  bool up = false;             // WELCOME received on the current connection
  bool needs_reset = false;    // declared dead: must come back empty
  std::uint64_t rtt_ns = 0;    // the last PING's round trip
  std::uint64_t last_pong_ns = 0;
  std::size_t outstanding = 0;  // commands sent and waiting plus the backlog; node: batches in flight
  std::vector<std::uint32_t> slots;
  std::string error;
  LinkCounters counters;
};

class LinkEnd {
 public:
  using LinkId = std::uint32_t;
  virtual ~LinkEnd() = default;
  virtual LinkId add_link(std::string name) = 0;
  // A connection is open: the HELLO to write first (reset: the peer drops what it holds).
  [[nodiscard]] virtual std::string hello(LinkId link, bool reset) = 0;
  // Bytes read from the link. False: a protocol error or a REFUSE; close it (link().error).
  [[nodiscard]] virtual bool on_bytes(LinkId link, std::string_view bytes, app::Now now) = 0;
  virtual void on_link_down(LinkId link) = 0;
  // `dead` is gone for good: its slots move to `to`.
  virtual void rehome(LinkId dead, LinkId to) = 0;
  [[nodiscard]] virtual std::string ping(LinkId link, std::uint64_t now_ns) = 0;
  [[nodiscard]] virtual std::string take_output(LinkId link) = 0;
  // Called when a link gets output to write and had none (the edge schedules a write).
  virtual void on_output(std::function<void(LinkId)> f) = 0;
  [[nodiscard]] virtual LinkView link(LinkId link) const = 0;
  [[nodiscard]] virtual std::optional<LinkId> host_of(std::uint32_t slot) const = 0;
};

}  // namespace tradeshard::link

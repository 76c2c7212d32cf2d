#pragma once
// The gateway's end of the links (cluster mode, docs/cluster.md "The link"): an app::Venue whose
// worker slots run in worker processes. OrderFlow and the balancer see the same slots as in the
// embedded default; each slot is hosted by one link (one worker process) at a time, and moves to
// another with its books when that process dies (rehome). No sockets: the edge hands in the bytes
// each link read and writes out what take_output() gives; everything here is tested without them.
//
//  - Commands get a per-link seq and stay *outstanding* until their RESULT: at most
//    max_in_flight per link, and the worker's result cache must be at least that large. Past it,
//    an order is refused (submit() answers false, as a full queue does); a cancel, replace or
//    book move waits in the link's backlog, in order, until a RESULT makes room.
//  - A link that drops and comes back (same epoch) gets every outstanding command again, in
//    order; the worker applies each once (link::WorkerHost).
//  - rehome(): the dead process's slots go to another link: each book is rebuilt there from the
//    shadow (LOAD_BOOK, exact priority), then its outstanding commands are sent there in their
//    order. The dead process's unreported effects die with it: nothing it did reached a client.
//    When it comes back, its link must be opened with reset (it is fenced until then).
//  - Results reach the VenueSink with the `now` of the read that brought them (latency is
//    measured end to end, through the link).
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tradeshard/app/venue.hpp"
#include "tradeshard/link/codec.hpp"
#include "tradeshard/link/link_end.hpp"
#include "tradeshard/link/order_shadow.hpp"

namespace tradeshard::link {

struct RemoteVenueOptions {
  std::string gateway_id = "gateway";
  std::uint64_t epoch = 1;
  std::uint64_t instruments_digest = 0;
  std::uint32_t heartbeat_ms = 100;
  std::uint32_t max_in_flight = 4096;  // commands per link without a RESULT
  std::size_t max_payload = default_max_payload;
};


class RemoteVenue final : public app::Venue, public LinkEnd {
 public:

  explicit RemoteVenue(RemoteVenueOptions options);
  ~RemoteVenue() override;

  // ---- links (called by the edge) ----
  LinkId add_link(std::string name) override;
  // The link that hosts `slot` (before add_worker of that slot).
  void assign(std::uint32_t slot, LinkId link);
  // A connection is open: the HELLO to write first. With reset the process drops everything
  // it holds (it comes back after its slots moved away).
  [[nodiscard]] std::string hello(LinkId link, bool reset) override;
  // Bytes read from the link. False: a protocol error or a REFUSE; close it (error(link)).
  [[nodiscard]] bool on_bytes(LinkId link, std::string_view bytes, app::Now now) override;
  // The connection is gone. Its commands stay outstanding for the next connection (or a rehome).
  void on_link_down(LinkId link) override;
  // `dead` is gone for good: its slots, books and outstanding commands move to `to`. From now
  // on `dead` needs hello(…, reset=true) before it serves again.
  void rehome(LinkId dead, LinkId to) override;
  // A PING to write now (heartbeat); its PONG updates rtt_ns().
  [[nodiscard]] std::string ping(LinkId link, std::uint64_t now_ns) override;
  // Bytes to write on the link now (empty when nothing or the link is not up).
  [[nodiscard]] std::string take_output(LinkId link) override;
  // Called when a link that is up gets output to write and had none (the edge schedules a write;
  // several commands then go out in one).
  void on_output(std::function<void(LinkId)> f) override { on_output_ = std::move(f); }

  using LinkView = ::tradeshard::link::LinkView;
  [[nodiscard]] LinkView link(LinkId link) const override;
  [[nodiscard]] std::size_t links() const noexcept { return links_.size(); }
  [[nodiscard]] std::optional<LinkId> host_of(std::uint32_t slot) const override;
  [[nodiscard]] const OrderShadow& shadow() const noexcept { return shadow_; }

  // ---- app::Venue ----
  void attach(app::VenueSink& sink) override { sink_ = &sink; }
  void add_worker(std::uint32_t worker, std::string_view name, std::uint32_t queue_capacity,
                  std::uint32_t reserved) override;
  void retire_worker(std::uint32_t worker) override;
  [[nodiscard]] bool submit(std::uint32_t worker, const book::NewOrder& order, core::Priority lane) override;
  void cancel(const app::OrderRef& order, std::uint64_t reply_to) override;
  void replace(const app::OrderRef& order, core::Ticks price, core::Lots qty, std::uint64_t reply_to) override;
  void cancel_all(std::span<const app::OrderRef> orders) override;
  [[nodiscard]] std::string move_book(core::InstrumentId instrument, std::uint32_t from, std::uint32_t to,
                                      std::vector<book::OrderKey>& moved) override;
  bool pump(app::Now) override { return false; }  // matching happens in the worker processes
  [[nodiscard]] bool has_queued() const override { return false; }
  std::string_view depth(std::uint32_t worker, core::InstrumentId instrument, std::size_t levels,
                         std::vector<app::DepthLevel>& bids, std::vector<app::DepthLevel>& asks) const override;
  [[nodiscard]] std::vector<app::WorkerBook> books() const override;
  [[nodiscard]] app::VenueStats stats() const override { return {queued_, queued_peak_}; }

 private:
  enum class Kind : std::uint8_t { order, cancel, replace, cancel_all, load_book, drop_book };
  struct Outstanding {
    Kind kind = Kind::order;
    std::uint32_t slot = 0;
    app::OrderRef ref;           // cancel, replace
    std::uint64_t reply_to = 0;  // cancel, replace
    core::Priority lane = core::Priority::normal;
    book::NewOrder order;        // order (for a remote queue_full)
    Message message;             // to send again
  };
  struct Link {
    LinkId id = 0;
    std::string name;
    bool connected = false;  // a connection is open (HELLO sent)
    bool up = false;         // WELCOME received
    bool needs_reset = false;
    std::uint64_t next_seq = 1;
    std::map<std::uint64_t, Outstanding> outstanding;  // sent, no RESULT yet (at most max_in_flight)
    std::deque<Outstanding> backlog;                    // not sent yet: waits for room, in order
    std::string output;
    FrameReader reader;
    std::uint64_t rtt_ns = 0, last_pong_ns = 0, next_ping = 1;
    std::string error;
    LinkCounters counters;
  };
  struct Slot {
    std::string name;
    LinkId link = 0;
    bool assigned = false;
    bool retired = false;
    std::uint32_t capacity = 0, normal_limit = 0;
    std::uint32_t queued = 0;  // orders outstanding
    std::uint64_t orders = 0, trades = 0, volume = 0;
  };

  // Records the command as outstanding and writes it when the link is up. Capped: false (and
  // nothing sent) when the link already has max_in_flight commands outstanding.
  bool send(std::uint32_t slot, Outstanding o, bool capped);
  void write(Link& l, std::uint64_t seq, const Message& m);
  void flush(Link& l);
  // The worker behind `l` lost its state: books from the shadow, then the unanswered commands,
  // renumbered from applied_seq + 1.
  void rebuild(Link& l, std::uint64_t applied_seq);
  [[nodiscard]] bool busy(std::uint32_t slot) const;  // a command for the slot is unanswered
  bool fail(Link& l, std::string why);
  void on_result(Link& l, std::uint64_t seq, const Result& r, app::Now now);
  void deliver(std::uint32_t slot, std::span<const book::Event> events, app::Now now);

  RemoteVenueOptions options_;
  app::VenueSink* sink_ = nullptr;
  std::deque<Link> links_;
  std::vector<Slot> slots_;
  OrderShadow shadow_;
  std::uint64_t queued_ = 0, queued_peak_ = 0;
  std::function<void(LinkId)> on_output_;
};

}  // namespace tradeshard::link

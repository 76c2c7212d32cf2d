#pragma once
// Where orders execute. OrderFlow decides *which* worker an order goes to (ids, validation,
// routing); a Venue runs the workers: it queues, matches and reports. Every result comes back
// through the VenueSink: at once for the in-process venue (InProcessVenue), later for a venue
// that answers over a link. Nothing outside a venue touches a matching engine.
// Standard library and domain types only; loop thread only.
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/messages.hpp"
#include "tradeshard/book/event.hpp"

namespace tradeshard::app {

// One live order as the venue knows it: the worker slot that holds it, its owner, its key.
struct OrderRef {
  std::uint32_t worker = 0;
  book::AccountId account = 0;
  book::OrderKey key = 0;
};

enum class VenueOp : std::uint8_t { cancel, replace };

// One worker's matching counters and queue.
struct WorkerBook {
  std::string_view worker;
  std::uint64_t orders_received = 0, trades = 0, volume_lots = 0, resting_orders = 0, queued = 0;
};

struct VenueStats {
  std::uint64_t queued = 0;       // orders accepted by submit() and not yet matched
  std::uint64_t queued_peak = 0;  // highest `queued` seen
};

class VenueSink {
 public:
  virtual ~VenueSink() = default;
  // The engine events of one order or one command on one worker, in the engine's order: an
  // order's accepted/rejected first; both fills of a trade adjacent, taker first. A cancel of an
  // order still queued yields its done (cancelled); a replace of one yields its replaced.
  // `now` is when the venue processed them (mono_ns 0 when the call was not timed).
  virtual void on_events(std::uint32_t worker, std::span<const book::Event> events, Now now) = 0;
  // A cancel or replace the venue refused; the order is as it was. `reply_to` is the caller's.
  virtual void on_refused(const OrderRef& order, VenueOp op, book::RejectReason reason, std::uint64_t reply_to) = 0;
};

class Venue {
 public:
  virtual ~Venue() = default;
  // Where results go; set once, before the first call below.
  virtual void attach(VenueSink& sink) = 0;

  // Worker slots are numbered as the balancer numbers them, from 0, each added once. The input
  // queue holds at most queue_capacity orders, of which `reserved` only vip and emergency ones.
  virtual void add_worker(std::uint32_t worker, std::string_view name, std::uint32_t queue_capacity,
                          std::uint32_t reserved) = 0;
  // The slot leaves for good; it holds no live order any more (its owner cancelled them first).
  virtual void retire_worker(std::uint32_t worker) = 0;

  // Queues the order in its lane of the worker's input queue; a worker matches its emergency lane
  // first, then vip, then normal, each in arrival order. False when the lane has no room (a
  // normal order may not take the reserve): nothing queued, no event. Its events follow later.
  [[nodiscard]] virtual bool submit(std::uint32_t worker, const book::NewOrder& order, core::Priority lane) = 0;
  // Results: the order's events (done), or on_refused.
  virtual void cancel(const OrderRef& order, std::uint64_t reply_to) = 0;
  // New price and new *total* quantity (see MatchingEngine::replace). Results: events or on_refused.
  virtual void replace(const OrderRef& order, core::Ticks price, core::Lots qty, std::uint64_t reply_to) = 0;
  // Cancels each order (queued or resting) in the given order; a refusal is not reported (the
  // order ended meanwhile).
  virtual void cancel_all(std::span<const OrderRef> orders) = 0;

  // Moves one instrument's book from worker `from` to worker `to`, between two commands: every
  // resting order with its price, leaves, fills and time priority, and the orders of it still
  // queued on `from`, each in its lane in arrival order (behind what that lane of `to` holds). Empty on success, else why
  // nothing moved (the target already holds orders of it, a worker retired, ...). No event.
  // `moved` receives the key of every order that moved (resting and queued).
  [[nodiscard]] virtual std::string move_book(core::InstrumentId instrument, std::uint32_t from, std::uint32_t to,
                                              std::vector<book::OrderKey>& moved) = 0;

  // Runs queued work; true while work remains (call again soon).
  virtual bool pump(Now now) = 0;
  [[nodiscard]] virtual bool has_queued() const = 0;

  // Views. Depth of one instrument's book on one worker: fills bids and asks, returns the
  // worker's name.
  virtual std::string_view depth(std::uint32_t worker, core::InstrumentId instrument, std::size_t levels,
                                 std::vector<DepthLevel>& bids, std::vector<DepthLevel>& asks) const = 0;
  [[nodiscard]] virtual std::vector<WorkerBook> books() const = 0;
  [[nodiscard]] virtual VenueStats stats() const = 0;
};

}  // namespace tradeshard::app

#pragma once
// The embedded venue: one matching engine and one bounded input queue per worker, in this
// process, on the loop thread. submit() queues; pump() matches up to `batch_size` orders per
// worker per call, round robin over the workers; cancel and replace act at once. Every result
// reaches the sink before the call that caused it returns.
#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "tradeshard/app/venue.hpp"
#include "tradeshard/book/matching_engine.hpp"

namespace tradeshard::app {

class InProcessVenue final : public Venue {
 public:
  // The table must outlive the venue.
  InProcessVenue(const core::InstrumentTable& instruments, book::EngineOptions options, std::uint32_t batch_size);
  ~InProcessVenue() override;

  void attach(VenueSink& sink) override { sink_ = &sink; }
  void add_worker(std::uint32_t worker, std::string_view name, std::uint32_t queue_capacity,
                  std::uint32_t reserved) override;
  void retire_worker(std::uint32_t worker) override;
  [[nodiscard]] bool submit(std::uint32_t worker, const book::NewOrder& order, core::Priority lane) override;
  void cancel(const OrderRef& order, std::uint64_t reply_to) override;
  void replace(const OrderRef& order, core::Ticks price, core::Lots qty, std::uint64_t reply_to) override;
  void cancel_all(std::span<const OrderRef> orders) override;
  [[nodiscard]] std::string move_book(core::InstrumentId instrument, std::uint32_t from, std::uint32_t to,
                                      std::vector<book::OrderKey>& moved) override;
  // A worker process's side of the link (link::WorkerHost): rest an exported book on a slot
  // (failover, migration), or drop one without events (it moved away). Not part of Venue.
  [[nodiscard]] book::ImportError import_book(std::uint32_t worker, const book::BookImage& image);
  std::size_t drop_book(std::uint32_t worker, core::InstrumentId instrument);
  bool pump(Now now) override;
  [[nodiscard]] bool has_queued() const override { return !queued_.empty(); }
  std::string_view depth(std::uint32_t worker, core::InstrumentId instrument, std::size_t levels,
                         std::vector<DepthLevel>& bids, std::vector<DepthLevel>& asks) const override;
  [[nodiscard]] std::vector<WorkerBook> books() const override;
  [[nodiscard]] VenueStats stats() const override { return {queued_.size(), queued_peak_}; }

 private:
  struct Worker {
    std::string name;
    std::unique_ptr<book::MatchingEngine> engine;
    // Input lanes by core::Priority (normal, vip, emergency); pump() drains the highest first.
    std::array<std::deque<book::OrderKey>, 3> lanes;
    std::uint32_t queue_capacity = 0;
    std::uint32_t normal_limit = 0;  // queue_capacity minus the priority reserve
    bool retired = false;
    [[nodiscard]] std::size_t queued() const noexcept { return lanes[0].size() + lanes[1].size() + lanes[2].size(); }
  };
  // An event buffer per nesting level: a sink may call back into the venue (a cancel caused by
  // what it was told) while it still reads the events of the outer call.
  class Scratch {
   public:
    explicit Scratch(InProcessVenue& v);
    ~Scratch() { --v_.depth_; }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    book::EventBuffer& events;

   private:
    InProcessVenue& v_;
  };
  // Returns false when the order was not queued (so it is for the engine to answer).
  bool cancel_queued(const OrderRef& order);
  void deliver(std::uint32_t worker, const book::EventBuffer& events, Now now) {
    if (!events.empty()) sink_->on_events(worker, events, now);
  }

  const core::InstrumentTable& instruments_;
  book::EngineOptions options_;
  std::uint32_t batch_size_;
  VenueSink* sink_ = nullptr;
  std::vector<Worker> workers_;
  // Orders queued and not yet matched. A cancelled one leaves this map; its queue entry stays and
  // is skipped when reached (removal from the middle of a deque is O(n)).
  std::unordered_map<book::OrderKey, book::NewOrder> queued_;
  std::uint64_t queued_peak_ = 0;
  std::size_t pump_cursor_ = 0;
  std::deque<book::EventBuffer> scratch_;  // a deque: growing it never moves a buffer in use
  std::size_t depth_ = 0;
};

}  // namespace tradeshard::app

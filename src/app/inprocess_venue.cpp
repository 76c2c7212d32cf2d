#include "tradeshard/app/inprocess_venue.hpp"

#include <stdexcept>

namespace tradeshard::app {
namespace {
// The event a queued order gets when it is cancelled or amended before reaching its engine.
book::Event queued_event(book::EventType type, const book::NewOrder& o) {
  book::Event ev;
  ev.type = type;
  ev.side = o.side;
  ev.account = o.account;
  ev.instrument = o.instrument;
  ev.key = o.key;
  ev.price = o.price;
  ev.qty = o.qty;
  ev.remaining = o.qty;
  return ev;
}

void to_levels(const std::vector<book::LevelView>& from, std::vector<DepthLevel>& to) {
  to.clear();
  for (const auto& l : from) to.push_back({l.price, l.qty, l.orders});
}
}  // namespace

InProcessVenue::InProcessVenue(const core::InstrumentTable& instruments, book::EngineOptions options,
                               std::uint32_t batch_size)
    : instruments_(instruments), options_(options), batch_size_(batch_size ? batch_size : 1) {
  scratch_.emplace_back().reserve(256);
}

InProcessVenue::Scratch::Scratch(InProcessVenue& v)
    : events(v.depth_ < v.scratch_.size() ? v.scratch_[v.depth_] : v.scratch_.emplace_back()), v_(v) {
  ++v_.depth_;
  events.clear();
}
InProcessVenue::~InProcessVenue() = default;

void InProcessVenue::add_worker(std::uint32_t worker, std::string_view name, std::uint32_t queue_capacity,
                                std::uint32_t reserved) {
  if (worker != workers_.size()) throw std::logic_error("InProcessVenue: worker slots are added in order");
  Worker w;
  w.name.assign(name);
  w.engine = std::make_unique<book::MatchingEngine>(instruments_, options_);
  w.queue_capacity = queue_capacity;
  w.normal_limit = reserved < queue_capacity ? queue_capacity - reserved : 0;
  workers_.push_back(std::move(w));
}

void InProcessVenue::retire_worker(std::uint32_t worker) {
  Worker& w = workers_.at(worker);
  for (auto& lane : w.lanes) {
    for (const auto key : lane) queued_.erase(key);
    lane.clear();
  }
  w.retired = true;
}

bool InProcessVenue::submit(std::uint32_t worker, const book::NewOrder& order, core::Priority lane) {
  Worker& w = workers_[worker];
  const std::size_t limit = lane == core::Priority::normal ? w.normal_limit : w.queue_capacity;
  if (w.retired || w.queued() >= limit) return false;
  queued_.emplace(order.key, order);
  w.lanes[static_cast<std::size_t>(lane)].push_back(order.key);
  if (queued_.size() > queued_peak_) queued_peak_ = queued_.size();
  return true;
}

bool InProcessVenue::cancel_queued(const OrderRef& ref) {
  const auto it = queued_.find(ref.key);
  if (it == queued_.end()) return false;
  book::Event ev = queued_event(book::EventType::done, it->second);
  ev.done_reason = book::DoneReason::cancelled;
  queued_.erase(it);
  const Scratch s(*this);
  s.events.push_back(ev);
  deliver(ref.worker, s.events, Now{});
  return true;
}

void InProcessVenue::cancel(const OrderRef& ref, std::uint64_t reply_to) {
  if (cancel_queued(ref)) return;
  const Scratch s(*this);
  const auto rc = workers_[ref.worker].engine->cancel(ref.account, ref.key, s.events);
  if (rc != book::RejectReason::ok) return sink_->on_refused(ref, VenueOp::cancel, rc, reply_to);
  deliver(ref.worker, s.events, Now{});
}

void InProcessVenue::replace(const OrderRef& ref, core::Ticks price, core::Lots qty, std::uint64_t reply_to) {
  if (const auto it = queued_.find(ref.key); it != queued_.end()) {
    // Not in a book yet: amend the queued order in place; it keeps its place in the queue.
    book::NewOrder& o = it->second;
    o.price = price;
    o.qty = qty;
    book::Event ev = queued_event(book::EventType::replaced, o);
    ev.priority_kept = true;
    const Scratch s(*this);
    s.events.push_back(ev);
    return deliver(ref.worker, s.events, Now{});
  }
  const Scratch s(*this);
  const auto rc = workers_[ref.worker].engine->replace(ref.account, ref.key, price, qty, s.events);
  if (rc != book::RejectReason::ok) return sink_->on_refused(ref, VenueOp::replace, rc, reply_to);
  deliver(ref.worker, s.events, Now{});
}

void InProcessVenue::cancel_all(std::span<const OrderRef> orders) {
  for (const auto& ref : orders) {
    if (cancel_queued(ref)) continue;
    const Scratch s(*this);
    if (workers_[ref.worker].engine->cancel(ref.account, ref.key, s.events) == book::RejectReason::ok) {
      deliver(ref.worker, s.events, Now{});
    }
  }
}

std::string InProcessVenue::move_book(core::InstrumentId instrument, std::uint32_t from, std::uint32_t to,
                                      std::vector<book::OrderKey>& moved) {
  moved.clear();
  if (from >= workers_.size() || to >= workers_.size() || from == to) return "bad_worker";
  Worker& a = workers_[from];
  Worker& b = workers_[to];
  if (a.retired || b.retired) return "worker_retired";
  // Import first: a refused import changes nothing, and the source still holds the book.
  const book::BookImage image = a.engine->export_book(instrument);
  if (const auto e = b.engine->import_book(image); e != book::ImportError::ok) return std::string(book::to_string(e));
  a.engine->remove_book(instrument);
  for (const auto& o : image.orders) moved.push_back(o.key);
  for (std::size_t l = 0; l < a.lanes.size(); ++l) {
    std::deque<book::OrderKey> stay;
    for (const auto key : a.lanes[l]) {
      const auto it = queued_.find(key);
      if (it == queued_.end()) continue;  // cancelled while queued: its entry is dropped here
      if (it->second.instrument == instrument) {
        b.lanes[l].push_back(key);
        moved.push_back(key);
      } else {
        stay.push_back(key);
      }
    }
    a.lanes[l].swap(stay);
  }
  return {};
}

book::ImportError InProcessVenue::import_book(std::uint32_t worker, const book::BookImage& image) {
  Worker& w = workers_.at(worker);
  if (w.retired) return book::ImportError::book_not_empty;
  return w.engine->import_book(image);
}

std::size_t InProcessVenue::drop_book(std::uint32_t worker, core::InstrumentId instrument) {
  return workers_.at(worker).engine->remove_book(instrument);
}

bool InProcessVenue::pump(Now now) {
  const std::size_t n = workers_.size();
  for (std::size_t k = 0; k < n && !queued_.empty(); ++k) {
    const auto wi = static_cast<std::uint32_t>((pump_cursor_ + k) % n);
    Worker& w = workers_[wi];
    for (std::uint32_t b = 0; b < batch_size_; ++b) {
      auto* lane = !w.lanes[2].empty() ? &w.lanes[2] : !w.lanes[1].empty() ? &w.lanes[1] : &w.lanes[0];
      if (lane->empty()) break;
      const auto key = lane->front();
      lane->pop_front();
      const auto it = queued_.find(key);
      if (it == queued_.end()) continue;  // cancelled while queued
      const book::NewOrder order = it->second;
      queued_.erase(it);
      const Scratch s(*this);
      (void)workers_[wi].engine->submit(order, s.events);  // a reject arrives as an event
      deliver(wi, s.events, now);
    }
  }
  pump_cursor_ = n ? (pump_cursor_ + 1) % n : 0;
  return !queued_.empty();
}

std::string_view InProcessVenue::depth(std::uint32_t worker, core::InstrumentId instrument, std::size_t levels,
                                       std::vector<DepthLevel>& bids, std::vector<DepthLevel>& asks) const {
  bids.clear();
  asks.clear();
  const Worker& w = workers_.at(worker);
  if (w.retired) return w.name;
  const auto d = w.engine->depth(instrument, levels);
  to_levels(d.bids, bids);
  to_levels(d.asks, asks);
  return w.name;
}

std::vector<WorkerBook> InProcessVenue::books() const {
  std::vector<WorkerBook> out;
  for (const auto& w : workers_) {
    const auto e = w.engine->stats();
    out.push_back({w.name, e.orders_received, e.trades, e.volume_lots, e.resting_orders, w.queued()});
  }
  return out;
}

}  // namespace tradeshard::app

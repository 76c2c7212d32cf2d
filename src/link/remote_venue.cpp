// The gateway's end of the links (include/tradeshard/link/remote_venue.hpp).
#include "tradeshard/link/remote_venue.hpp"

#include <stdexcept>
#include <utility>

namespace tradeshard::link {

RemoteVenue::RemoteVenue(RemoteVenueOptions options) : options_(std::move(options)) {}

RemoteVenue::~RemoteVenue() = default;

RemoteVenue::LinkId RemoteVenue::add_link(std::string name) {
  Link& l = links_.emplace_back();
  l.id = static_cast<LinkId>(links_.size() - 1);
  l.name = std::move(name);
  // A gateway that starts knows nothing of what a worker holds from an earlier run of it (same
  // static epoch): the first HELLO resets the worker, as a restart of the embedded daemon loses
  // its books. (With epochs from etcd, a new leader's epoch does this on its own.)
  l.needs_reset = true;
  l.reader = FrameReader(options_.max_payload);
  return static_cast<LinkId>(links_.size() - 1);
}

void RemoteVenue::assign(std::uint32_t slot, LinkId link) {
  if (link >= links_.size()) throw std::logic_error("RemoteVenue: no such link");
  if (slot >= slots_.size()) slots_.resize(slot + 1);
  slots_[slot].link = link;
  slots_[slot].assigned = true;
}

std::optional<RemoteVenue::LinkId> RemoteVenue::host_of(std::uint32_t slot) const {
  if (slot >= slots_.size() || !slots_[slot].assigned) return std::nullopt;
  return slots_[slot].link;
}

std::string RemoteVenue::hello(LinkId id, bool reset) {
  Link& l = links_.at(id);
  l.connected = true;
  l.up = false;
  l.error.clear();
  l.reader = FrameReader(options_.max_payload);
  l.output.clear();
  if (reset) {
    l.needs_reset = false;
    l.next_seq = 1;  // the worker starts a new sequence after a reset
  }
  std::string out;
  const std::uint64_t resend_from = reset || l.outstanding.empty() ? 0 : l.outstanding.begin()->first;
  append(out, 0,
         Hello{options_.epoch, options_.instruments_digest, options_.heartbeat_ms, reset, resend_from, options_.gateway_id});
  return out;
}

void RemoteVenue::on_link_down(LinkId id) {
  Link& l = links_.at(id);
  l.connected = false;
  l.up = false;
  l.output.clear();
}

bool RemoteVenue::fail(Link& l, std::string why) {
  l.error = std::move(why);
  l.up = false;
  return false;
}

std::string RemoteVenue::ping(LinkId id, std::uint64_t now_ns) {
  Link& l = links_.at(id);
  std::string out;
  if (!l.up) return out;
  append_ping(out, l.next_ping++, Ping{now_ns});
  ++l.counters.pings;
  return out;
}

std::string RemoteVenue::take_output(LinkId id) {
  Link& l = links_.at(id);
  if (!l.up) return {};
  return std::exchange(l.output, {});
}

void RemoteVenue::write(Link& l, std::uint64_t seq, const Message& m) {
  if (!l.up) return;
  const bool was_empty = l.output.empty();
  append(l.output, seq, m);
  if (was_empty && on_output_) on_output_(l.id);
}

bool RemoteVenue::on_bytes(LinkId id, std::string_view bytes, app::Now now) {
  Link& l = links_.at(id);
  if (!l.connected) return true;  // bytes of a connection already given up: dropped
  l.reader.feed(bytes);
  while (auto f = l.reader.next()) {
    std::string why;
    auto m = decode(*f, why);
    if (!m) return fail(l, why);
    switch (f->type) {
      case FrameType::welcome: {
        const auto& w = std::get<Welcome>(*m);
        if (w.epoch != options_.epoch) {
          return fail(l, "worker welcomed epoch " + std::to_string(w.epoch) + ", not " + std::to_string(options_.epoch));
        }
        l.up = true;
        const std::uint64_t first_unanswered = l.outstanding.empty() ? l.next_seq : l.outstanding.begin()->first;
        if (w.applied_seq >= l.next_seq) {
          return fail(l, "worker says it received command " + std::to_string(w.applied_seq) + ", only " +
                             std::to_string(l.next_seq - 1) + " were sent");
        }
        if (w.applied_seq + 1 < first_unanswered) {
          // The worker lost what it held (a restart we could not fail over from): it starts a
          // new sequence. Its books come back from the shadow, then what it never answered.
          rebuild(l, w.applied_seq);
          break;
        }
        // Every command without a RESULT goes again, in order: the worker applies each once.
        for (const auto& [seq, o] : l.outstanding) {
          append(l.output, seq, o.message);
          ++l.counters.resent;
        }
        break;
      }
      case FrameType::refuse: {
        return fail(l, "worker refused the link: " + std::get<Refuse>(*m).reason);
      }
      case FrameType::pong: {
        const auto sent = std::get<Ping>(*m).sent_ns;
        ++l.counters.pongs;
        const auto mono = static_cast<std::uint64_t>(now.mono_ns);
        if (mono >= sent) {
          l.rtt_ns = mono - sent;
          l.last_pong_ns = mono;
        }
        break;
      }
      case FrameType::ping: {
        append_pong(l.output, f->seq, std::get<Ping>(*m));
        break;
      }
      case FrameType::result: {
        if (!l.up) return fail(l, "RESULT before WELCOME");
        on_result(l, f->seq, std::get<Result>(*m), now);
        break;
      }
      default: return fail(l, std::string(to_string(f->type)) + " is not sent to a gateway");
    }
  }
  if (!l.reader.error().empty()) return fail(l, l.reader.error());
  flush(l);  // results made room
  return true;
}

void RemoteVenue::deliver(std::uint32_t slot, std::span<const book::Event> events, app::Now now) {
  if (events.empty()) return;
  shadow_.apply(slot, events);
  Slot& s = slots_[slot];
  for (const auto& e : events) {
    if (e.type == book::EventType::fill && e.liquidity == book::Liquidity::taker) {
      ++s.trades;
      s.volume += static_cast<std::uint64_t>(e.qty);
    }
  }
  sink_->on_events(slot, events, now);
}

namespace {
// The one event that ends an order no engine took: a done (the caller may make it a rejected)
// with the order's own fields and nothing filled.
book::Event unmatched_end(const book::NewOrder& o) {
  book::Event e;
  e.type = book::EventType::done;
  e.side = o.side;
  e.account = o.account;
  e.instrument = o.instrument;
  e.key = o.key;
  e.price = o.price;
  e.qty = o.qty;
  e.remaining = o.qty;
  return e;
}
}  // namespace

void RemoteVenue::on_result(Link& l, std::uint64_t seq, const Result& r, app::Now now) {
  const auto it = l.outstanding.find(seq);
  if (it == l.outstanding.end()) {
    ++l.counters.unexpected;
    return;
  }
  const Outstanding o = std::move(it->second);
  l.outstanding.erase(it);
  ++l.counters.results;
  Slot& s = slots_[o.slot];
  switch (o.kind) {
    case Kind::order: {
      --s.queued;
      --queued_;
      ++s.orders;
      if (r.outcome == Outcome::refused || r.outcome == Outcome::queue_full) {
        // Refused by the worker itself (a key it already holds): it ends rejected. Its lane was
        // full although ours had room (its capacity is smaller than the gateway's): it ends
        // unmatched, as an expired one does. Either way, one event that ends it.
        book::Event end = unmatched_end(o.order);
        if (r.outcome == Outcome::refused) {
          end.type = book::EventType::rejected;
          end.reject_reason = r.reason <= static_cast<std::uint8_t>(book::RejectReason::no_liquidity)
                                  ? static_cast<book::RejectReason>(r.reason)
                                  : book::RejectReason::duplicate_key;
        } else {
          ++l.counters.remote_full;
          end.done_reason = book::DoneReason::expired;
        }
        const book::Event one[] = {end};
        deliver(o.slot, one, now);
        return;
      }
      deliver(o.slot, r.events, now);
      return;
    }
    case Kind::cancel:
    case Kind::replace:
      if (r.outcome == Outcome::refused) {
        sink_->on_refused(o.ref, o.kind == Kind::cancel ? app::VenueOp::cancel : app::VenueOp::replace,
                          static_cast<book::RejectReason>(r.reason), o.reply_to);
        return;
      }
      deliver(o.slot, r.events, now);
      return;
    case Kind::cancel_all: deliver(o.slot, r.events, now); return;
    case Kind::load_book:
      if (r.outcome != Outcome::applied) ++l.counters.import_failed;
      return;
    case Kind::drop_book: return;
  }
}

bool RemoteVenue::send(std::uint32_t slot, Outstanding o, bool capped) {
  Link& l = links_.at(slots_.at(slot).link);
  if (capped && l.outstanding.size() + l.backlog.size() >= options_.max_in_flight) return false;
  o.slot = slot;
  ++l.counters.commands;
  l.backlog.push_back(std::move(o));
  flush(l);
  return true;
}

void RemoteVenue::flush(Link& l) {
  while (!l.backlog.empty() && l.outstanding.size() < options_.max_in_flight) {
    const std::uint64_t seq = l.next_seq++;
    write(l, seq, l.backlog.front().message);
    l.outstanding.emplace(seq, std::move(l.backlog.front()));
    l.backlog.pop_front();
  }
}

void RemoteVenue::add_worker(std::uint32_t worker, std::string_view name, std::uint32_t queue_capacity,
                             std::uint32_t reserved) {
  if (worker >= slots_.size() || !slots_[worker].assigned) {
    throw std::logic_error("RemoteVenue: worker slot " + std::to_string(worker) + " has no link assigned");
  }
  Slot& s = slots_[worker];
  s.name.assign(name);
  s.capacity = queue_capacity;
  s.normal_limit = reserved < queue_capacity ? queue_capacity - reserved : 0;
}

void RemoteVenue::retire_worker(std::uint32_t worker) { slots_.at(worker).retired = true; }

bool RemoteVenue::submit(std::uint32_t worker, const book::NewOrder& order, core::Priority lane) {
  Slot& s = slots_.at(worker);
  const std::uint32_t limit = lane == core::Priority::normal ? s.normal_limit : s.capacity;
  if (s.retired || s.queued >= limit) return false;
  Outstanding o;
  o.kind = Kind::order;
  o.lane = lane;
  o.order = order;
  o.message = OrderCommand{worker, lane, order};
  if (!send(worker, std::move(o), true)) return false;
  ++s.queued;
  if (++queued_ > queued_peak_) queued_peak_ = queued_;
  return true;
}

void RemoteVenue::cancel(const app::OrderRef& ref, std::uint64_t reply_to) {
  Outstanding o;
  o.kind = Kind::cancel;
  o.ref = ref;
  o.reply_to = reply_to;
  o.message = CancelCommand{ref.worker, ref.account, ref.key};
  // Not capped: cancels and replaces are bounded by the live orders, and must not be refused
  // for a busy link.
  (void)send(ref.worker, std::move(o), false);
}

void RemoteVenue::replace(const app::OrderRef& ref, core::Ticks price, core::Lots qty, std::uint64_t reply_to) {
  Outstanding o;
  o.kind = Kind::replace;
  o.ref = ref;
  o.reply_to = reply_to;
  o.message = ReplaceCommand{ref.worker, ref.account, ref.key, price, qty};
  (void)send(ref.worker, std::move(o), false);
}

void RemoteVenue::cancel_all(std::span<const app::OrderRef> orders) {
  // One CANCEL_ALL per run of orders on the same slot, in the given order. The in-flight cap
  // does not apply: a cancel-on-disconnect must not be lost to a full link.
  for (std::size_t i = 0; i < orders.size();) {
    CancelAllCommand c;
    c.worker = orders[i].worker;
    std::size_t j = i;
    for (; j < orders.size() && orders[j].worker == c.worker; ++j) c.orders.push_back({orders[j].account, orders[j].key});
    Outstanding o;
    o.kind = Kind::cancel_all;
    const std::uint32_t slot = c.worker;
    o.message = std::move(c);
    (void)send(slot, std::move(o), false);
    i = j;
  }
}

bool RemoteVenue::busy(std::uint32_t slot) const {
  for (const auto& l : links_) {
    for (const auto& [seq, o] : l.outstanding) {
      if (o.slot == slot) return true;
    }
    for (const auto& o : l.backlog) {
      if (o.slot == slot) return true;
    }
  }
  return false;
}

std::string RemoteVenue::move_book(core::InstrumentId instrument, std::uint32_t from, std::uint32_t to,
                                   std::vector<book::OrderKey>& moved) {
  moved.clear();
  if (from >= slots_.size() || to >= slots_.size() || from == to) return "bad_worker";
  Slot& a = slots_[from];
  Slot& b = slots_[to];
  if (a.retired || b.retired) return "worker_retired";
  // Any command still unanswered on either slot (an order queued on `from`, a cancel of an order
  // of this book) would act on the book as it was: refuse until they are answered.
  if (a.queued != 0 || busy(from) || busy(to)) return "orders_in_flight";
  if (shadow_.export_book(to, instrument).orders.size() != 0) return "book_not_empty";
  const book::BookImage image = shadow_.export_book(from, instrument);
  // LOAD_BOOK on the new home first, then DROP_BOOK on the old: each link keeps its order, so
  // what follows on `to` meets the book, and nothing can reach the book left on `from`.
  Outstanding load;
  load.kind = Kind::load_book;
  load.message = LoadBookCommand{to, image};
  (void)send(to, std::move(load), false);
  Outstanding drop;
  drop.kind = Kind::drop_book;
  drop.message = DropBookCommand{from, instrument};
  (void)send(from, std::move(drop), false);
  shadow_.move_book(from, to, instrument);
  for (const auto& o : image.orders) moved.push_back(o.key);
  return {};
}

void RemoteVenue::rebuild(Link& l, std::uint64_t applied_seq) {
  ++l.counters.rebuilds;
  std::vector<Outstanding> unanswered;
  for (auto& [seq, o] : l.outstanding) unanswered.push_back(std::move(o));
  for (auto& o : l.backlog) unanswered.push_back(std::move(o));
  l.outstanding.clear();
  l.backlog.clear();
  l.next_seq = applied_seq + 1;
  for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (!slots_[slot].assigned || slots_[slot].link != l.id) continue;
    for (const core::InstrumentId ins : shadow_.instruments_on(slot)) {
      Outstanding load;
      load.kind = Kind::load_book;
      load.message = LoadBookCommand{slot, shadow_.export_book(slot, ins)};
      (void)send(slot, std::move(load), false);
    }
  }
  for (auto& o : unanswered) {
    if (o.kind == Kind::load_book || o.kind == Kind::drop_book) continue;
    ++l.counters.resent;
    --l.counters.commands;
    const std::uint32_t slot = o.slot;
    (void)send(slot, std::move(o), false);
  }
}

void RemoteVenue::rehome(LinkId dead_id, LinkId to_id) {
  Link& dead = links_.at(dead_id);
  // What the dead process never answered, then what it never got, in their order.
  std::vector<Outstanding> unanswered;
  for (auto& [seq, o] : dead.outstanding) unanswered.push_back(std::move(o));
  for (auto& o : dead.backlog) unanswered.push_back(std::move(o));
  dead.outstanding.clear();
  dead.backlog.clear();
  dead.output.clear();
  dead.connected = false;
  dead.up = false;
  dead.needs_reset = true;
  // The slots first, each with its books rebuilt from the shadow in priority order...
  for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
    Slot& s = slots_[slot];
    if (!s.assigned || s.link != dead_id) continue;
    s.link = to_id;
    for (const core::InstrumentId ins : shadow_.instruments_on(slot)) {
      Outstanding load;
      load.kind = Kind::load_book;
      load.message = LoadBookCommand{slot, shadow_.export_book(slot, ins)};
      (void)send(slot, std::move(load), false);
    }
  }
  // ...then the commands (a LOAD_BOOK or DROP_BOOK in flight there is replaced by the above).
  Link& to = links_.at(to_id);
  for (auto& o : unanswered) {
    if (o.kind == Kind::load_book || o.kind == Kind::drop_book) continue;
    ++to.counters.resent;
    --to.counters.commands;  // send() counts it; it is not a new command
    const std::uint32_t slot = o.slot;
    (void)send(slot, std::move(o), false);
  }
}

RemoteVenue::LinkView RemoteVenue::link(LinkId id) const {
  const Link& l = links_.at(id);
  LinkView v{l.name, l.up, l.needs_reset, l.rtt_ns, l.last_pong_ns, l.outstanding.size() + l.backlog.size(), {}, l.error, l.counters};
  for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
    if (slots_[slot].assigned && slots_[slot].link == id) v.slots.push_back(slot);
  }
  return v;
}

std::string_view RemoteVenue::depth(std::uint32_t worker, core::InstrumentId instrument, std::size_t levels,
                                    std::vector<app::DepthLevel>& bids, std::vector<app::DepthLevel>& asks) const {
  bids.clear();
  asks.clear();
  const Slot& s = slots_.at(worker);
  for (const auto& o : shadow_.export_book(worker, instrument).orders) {
    auto& side = o.side == core::Side::buy ? bids : asks;
    if (!side.empty() && side.back().price == o.price) {
      side.back().qty += o.leaves;
      ++side.back().orders;
    } else if (side.size() < levels) {
      side.push_back(app::DepthLevel{o.price, o.leaves, 1});
    }
  }
  return s.name;
}

std::vector<app::WorkerBook> RemoteVenue::books() const {
  std::vector<app::WorkerBook> out;
  for (std::uint32_t slot = 0; slot < slots_.size(); ++slot) {
    const Slot& s = slots_[slot];
    out.push_back({s.name, s.orders, s.trades, s.volume, shadow_.resting_on(slot), s.queued});
  }
  return out;
}

}  // namespace tradeshard::link

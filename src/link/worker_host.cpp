// A worker process's end of the link (include/tradeshard/link/worker_host.hpp).
#include "tradeshard/link/worker_host.hpp"

#include <type_traits>

namespace tradeshard::link {

namespace {
template <class... F>
struct Overload : F... {
  using F::operator()...;
};
template <class... F>
Overload(F...) -> Overload<F...>;
}  // namespace

WorkerHost::WorkerHost(const core::InstrumentTable& instruments, book::EngineOptions engine, WorkerHostOptions options)
    : instruments_(instruments),
      options_(std::move(options)),
      venue_(instruments, engine, options_.batch_size),
      reader_(options_.max_payload) {
  venue_.attach(*this);
}

WorkerHost::~WorkerHost() = default;

std::optional<std::uint32_t> WorkerHost::local_slot(std::uint32_t gateway_slot) const {
  const auto it = by_gateway_.find(gateway_slot);
  if (it == by_gateway_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::uint32_t> WorkerHost::slot_for(std::uint32_t gateway_slot) {
  if (auto s = local_slot(gateway_slot)) return s;
  if (slots_.size() >= options_.max_slots) return std::nullopt;
  const auto local = static_cast<std::uint32_t>(slots_.size());
  venue_.add_worker(local, options_.id + "/" + std::to_string(gateway_slot), options_.queue_capacity,
                    options_.reserved);
  slots_.push_back(Slot{gateway_slot});
  by_gateway_.emplace(gateway_slot, local);
  return local;
}

bool WorkerHost::refuse(std::string& out, RefuseCode code, std::string reason) {
  append(out, 0, Refuse{code, epoch_, reason});
  error_ = std::move(reason);
  ++stats_.refused;
  linked_ = false;
  return false;
}

void WorkerHost::drop_queued() {
  if (pending_.empty()) return;
  std::vector<app::OrderRef> refs;
  refs.reserve(pending_.size());
  for (const auto& [key, p] : pending_) refs.push_back(app::OrderRef{p.local_slot, p.account, key});
  silent_ = true;
  venue_.cancel_all(refs);
  silent_ = false;
  stats_.dropped_queued += pending_.size();
  pending_.clear();
  pending_seqs_.clear();
}

std::optional<Refuse> WorkerHost::check_hello(const Hello& h) const {
  if (h.instruments_digest != options_.instruments_digest) {
    return Refuse{RefuseCode::config_mismatch, epoch_,
                  "instrument table digest " + std::to_string(h.instruments_digest) + " differs from this worker's " +
                      std::to_string(options_.instruments_digest) + " (run both with the same instruments)"};
  }
  if (h.epoch < epoch_) {
    return Refuse{RefuseCode::stale_epoch, epoch_,
                  "gateway epoch " + std::to_string(h.epoch) + " is older than " + std::to_string(epoch_)};
  }
  return std::nullopt;
}

bool WorkerHost::hello(const Hello& h, std::string& out) {
  if (linked_) return refuse(out, RefuseCode::bad_frame, "HELLO twice on one link");
  if (auto r = check_hello(h)) return refuse(out, r->code, std::move(r->reason));
  if (h.reset) {
    drop_queued();
    for (std::uint32_t local = 0; local < slots_.size(); ++local) {
      for (core::InstrumentId ins = 0; ins < instruments_.size(); ++ins) venue_.drop_book(local, ins);
    }
  }
  const bool fresh = h.reset || h.epoch > epoch_;
  if (fresh) {
    drop_queued();  // orders of the old gateway never matched: nobody is waiting for them
    cache_.clear();
    cache_order_.clear();
    received_ = 0;
    epoch_ = h.epoch;
  }
  linked_ = true;
  ++stats_.links;
  append(out, 0, Welcome{epoch_, received_, options_.id});
  // The same gateway again: the RESULTs it may lack go first, in the order they were made (one
  // can depend on another: a vip order that rested before the normal one that traded with it).
  // Its re-sent commands then find them replayed and are not answered twice.
  replayed_from_ = fresh || h.resend_from == 0 ? received_ + 1 : h.resend_from;
  if (!fresh && h.resend_from != 0) {
    for (const auto seq : cache_order_) {
      if (seq >= h.resend_from) out += cache_.at(seq);
    }
  }
  return true;
}

void WorkerHost::on_link_closed() {
  linked_ = false;
  reader_ = FrameReader(options_.max_payload);
}

bool WorkerHost::on_bytes(std::string_view bytes, std::string& out) {
  reader_.feed(bytes);
  while (auto f = reader_.next()) {
    std::string why;
    const auto m = decode(*f, why);
    if (!m) return refuse(out, RefuseCode::bad_frame, why);
    if (f->type == FrameType::hello) {
      if (!hello(std::get<Hello>(*m), out)) return false;
      continue;
    }
    if (!linked_) return refuse(out, RefuseCode::bad_frame, std::string("expected HELLO, got ") + to_string(f->type));
    switch (f->type) {
      case FrameType::ping: append_pong(out, f->seq, std::get<Ping>(*m)); continue;
      case FrameType::pong: continue;
      case FrameType::welcome:
      case FrameType::refuse:
      case FrameType::result:
      case FrameType::ticks:
      case FrameType::node_output:
        return refuse(out, RefuseCode::bad_frame, std::string(to_string(f->type)) + " is not sent to a worker");
      default: break;
    }
    if (f->seq <= received_) {  // re-sent after a reconnect: answered from the cache, or later
      ++stats_.duplicates;
      if (const auto it = cache_.find(f->seq); it != cache_.end()) {
        if (f->seq < replayed_from_) out += it->second;  // not replayed at HELLO: answer it now
      } else if (pending_seqs_.count(f->seq) == 0) {
        return refuse(out, RefuseCode::bad_frame,
                      "command " + std::to_string(f->seq) + "'s result is no longer cached (more than " +
                          std::to_string(options_.result_cache) + " commands in flight)");
      }
      continue;
    }
    if (f->seq != received_ + 1) {
      return refuse(out, RefuseCode::bad_frame,
                    "command seq " + std::to_string(f->seq) + " after " + std::to_string(received_));
    }
    received_ = f->seq;
    command(f->seq, *m, out);
  }
  if (!reader_.error().empty()) return refuse(out, RefuseCode::bad_frame, reader_.error());
  return true;
}

void WorkerHost::begin(std::uint64_t seq, std::uint32_t gateway_slot) {
  current_seq_ = seq;
  current_ = Result{gateway_slot, Outcome::applied, 0, {}};
}

void WorkerHost::finish(std::string& out) {
  const std::uint64_t seq = current_seq_;
  current_seq_ = 0;
  emit(seq, std::move(current_), out);
  current_ = Result{};
}

void WorkerHost::command(std::uint64_t seq, const Message& m, std::string& out) {
  ++stats_.commands;
  out_ = &out;
  const auto refused = [&](std::uint32_t slot, Outcome o, std::uint8_t reason) {
    emit(seq, Result{slot, o, reason, {}}, out);
  };
  std::visit(
      Overload{
          [&](const OrderCommand& c) {
            const auto slot = slot_for(c.worker);
            if (!slot) return refused(c.worker, Outcome::queue_full, 0);
            if (pending_.count(c.order.key) != 0) {
              return refused(c.worker, Outcome::refused, static_cast<std::uint8_t>(book::RejectReason::duplicate_key));
            }
            if (!venue_.submit(*slot, c.order, c.lane)) return refused(c.worker, Outcome::queue_full, 0);
            pending_.emplace(c.order.key, Pending{seq, c.worker, *slot, c.order.account});
            pending_seqs_.insert(seq);
          },
          [&](const CancelCommand& c) {
            const auto slot = local_slot(c.worker);
            if (!slot) {
              return refused(c.worker, Outcome::refused, static_cast<std::uint8_t>(book::RejectReason::unknown_order));
            }
            begin(seq, c.worker);
            venue_.cancel(app::OrderRef{*slot, c.account, c.key}, seq);
            finish(out);
          },
          [&](const ReplaceCommand& c) {
            const auto slot = local_slot(c.worker);
            if (!slot) {
              return refused(c.worker, Outcome::refused, static_cast<std::uint8_t>(book::RejectReason::unknown_order));
            }
            begin(seq, c.worker);
            venue_.replace(app::OrderRef{*slot, c.account, c.key}, c.price, c.qty, seq);
            finish(out);
          },
          [&](const CancelAllCommand& c) {
            begin(seq, c.worker);
            if (const auto slot = local_slot(c.worker)) {
              std::vector<app::OrderRef> refs;
              refs.reserve(c.orders.size());
              for (const auto& t : c.orders) refs.push_back(app::OrderRef{*slot, t.account, t.key});
              venue_.cancel_all(refs);
            }
            finish(out);
          },
          [&](const LoadBookCommand& c) {
            const auto slot = slot_for(c.worker);
            if (!slot) {
              return refused(c.worker, Outcome::import_failed, static_cast<std::uint8_t>(book::ImportError::book_not_empty));
            }
            const auto rc = venue_.import_book(*slot, c.image);
            refused(c.worker, rc == book::ImportError::ok ? Outcome::applied : Outcome::import_failed,
                    static_cast<std::uint8_t>(rc));
          },
          [&](const DropBookCommand& c) {
            if (const auto slot = local_slot(c.worker)) venue_.drop_book(*slot, c.instrument);
            refused(c.worker, Outcome::applied, 0);
          },
          [&](const auto&) {},  // control frames never get here
      },
      m);
  out_ = nullptr;
}

void WorkerHost::on_events(std::uint32_t, std::span<const book::Event> events, app::Now) {
  if (silent_ || events.empty()) return;
  if (current_seq_ != 0) {
    // Inside a cancel/replace/cancel_all: every event is that command's. An order that ends
    // while still queued gets its own (empty) RESULT first.
    for (const auto& e : events) {
      if (e.type != book::EventType::done) continue;
      const auto it = pending_.find(e.key);
      if (it == pending_.end()) continue;
      const Pending p = it->second;
      pending_.erase(it);
      emit(p.seq, Result{p.gateway_slot, Outcome::applied, 0, {}}, *out_);
    }
    current_.events.insert(current_.events.end(), events.begin(), events.end());
    return;
  }
  // From pump(): the events of one queued order, now matched.
  const auto it = pending_.find(events.front().key);
  if (it == pending_.end()) return;  // not ours (cannot happen: every queued order is pending)
  const Pending p = it->second;
  pending_.erase(it);
  emit(p.seq, Result{p.gateway_slot, Outcome::applied, 0, {events.begin(), events.end()}}, *out_);
}

void WorkerHost::on_refused(const app::OrderRef&, app::VenueOp, book::RejectReason reason, std::uint64_t) {
  if (silent_ || current_seq_ == 0) return;
  current_.outcome = Outcome::refused;
  current_.reason = static_cast<std::uint8_t>(reason);
}

void WorkerHost::emit(std::uint64_t seq, Result r, std::string& out) {
  std::string frame;
  append(frame, seq, r);
  ++stats_.results;
  pending_seqs_.erase(seq);
  if (linked_) out += frame;
  cache_[seq] = std::move(frame);
  cache_order_.push_back(seq);
  // The oldest made goes first (not the lowest seq: an order matched late has a low seq).
  while (cache_.size() > options_.result_cache && !cache_order_.empty()) {
    cache_.erase(cache_order_.front());
    cache_order_.pop_front();
  }
}

bool WorkerHost::pump(app::Now now, std::string& out) {
  out_ = &out;
  const bool more = venue_.pump(now);
  out_ = nullptr;
  return more;
}

}  // namespace tradeshard::link

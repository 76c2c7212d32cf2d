// The gateway's end of its node links (remote_nodes.hpp).
#include "tradeshard/link/remote_nodes.hpp"

#include <utility>

namespace tradeshard::link {

RemoteNodes::RemoteNodes(RemoteNodesOptions options) : options_(std::move(options)) {}

RemoteNodes::LinkId RemoteNodes::add_link(std::string name) {
  Link& l = links_.emplace_back();
  l.id = static_cast<LinkId>(links_.size() - 1);
  l.name = std::move(name);
  l.reader = FrameReader(options_.max_payload);
  return l.id;
}

void RemoteNodes::assign(std::uint32_t slot, LinkId link) {
  if (slots_.size() <= slot) slots_.resize(std::size_t{slot} + 1);
  slots_[slot] = Slot{link, true};
}

std::string RemoteNodes::hello(LinkId id, bool reset) {
  Link& l = links_.at(id);
  l.connected = true;
  l.up = false;
  l.error.clear();
  l.reader = FrameReader(options_.max_payload);
  l.output.clear();
  if (reset) l.needs_reset = false;
  std::string out;
  append(out, 0, Hello{options_.epoch, options_.config_digest, options_.heartbeat_ms, reset, 0, options_.gateway_id});
  return out;
}

void RemoteNodes::on_link_down(LinkId id) {
  Link& l = links_.at(id);
  l.connected = false;
  l.up = false;
  l.output.clear();
  l.counters.lost += l.in_flight.size();
  l.counters.dropped += l.batch.ticks.size();
  l.in_flight.clear();
  l.batch.ticks.clear();
}

bool RemoteNodes::fail(Link& l, std::string why) {
  l.error = std::move(why);
  l.up = false;
  return false;
}

void RemoteNodes::send(std::uint32_t slot, market::SymbolId symbol, const market::Quote& q, std::int64_t arrival_ms) {
  Link& l = links_.at(slots_.at(slot).link);
  if (!l.up || l.needs_reset || l.in_flight.size() >= options_.max_batches_in_flight) {
    ++l.counters.dropped;
    return;
  }
  const bool was_empty = l.batch.ticks.empty() && l.output.empty();
  l.batch.ticks.push_back(TickItem{slot, symbol, q, arrival_ms});
  if (l.batch.ticks.size() >= options_.max_batch_ticks) seal(l);
  if (was_empty && on_output_) on_output_(l.id);
}

void RemoteNodes::seal(Link& l) {
  if (l.batch.ticks.empty()) return;
  const auto seq = l.next_seq++;
  append(l.output, seq, l.batch);
  l.in_flight.insert(seq);
  ++l.counters.commands;
  l.counters.ticks += l.batch.ticks.size();
  l.batch.ticks.clear();
}

std::string RemoteNodes::take_output(LinkId id) {
  Link& l = links_.at(id);
  if (!l.up) return {};
  seal(l);
  return std::exchange(l.output, {});
}

std::string RemoteNodes::ping(LinkId id, std::uint64_t now_ns) {
  Link& l = links_.at(id);
  if (!l.connected) return {};
  std::string out;
  append_ping(out, l.next_ping++, Ping{now_ns});
  ++l.counters.pings;
  return out;
}

void RemoteNodes::rehome(LinkId dead, LinkId to) {
  Link& d = links_.at(dead);
  for (auto& s : slots_) {
    if (s.assigned && s.link == dead) s.link = to;
  }
  d.needs_reset = true;
  d.counters.lost += d.in_flight.size();
  d.counters.dropped += d.batch.ticks.size();
  d.in_flight.clear();
  d.batch.ticks.clear();
}

bool RemoteNodes::on_bytes(LinkId id, std::string_view bytes, app::Now now) {
  Link& l = links_.at(id);
  if (!l.connected) return true;
  l.reader.feed(bytes);
  while (auto f = l.reader.next()) {
    std::string why;
    auto m = decode(*f, why);
    if (!m) return fail(l, why);
    switch (f->type) {
      case FrameType::welcome: {
        const auto& w = std::get<Welcome>(*m);
        if (w.epoch != options_.epoch) {
          return fail(l, "node welcomed epoch " + std::to_string(w.epoch) + ", not " + std::to_string(options_.epoch));
        }
        l.up = true;
        break;
      }
      case FrameType::refuse: return fail(l, "node refused the link: " + std::get<Refuse>(*m).reason);
      case FrameType::pong: {
        ++l.counters.pongs;
        const auto sent = std::get<Ping>(*m).sent_ns;
        const auto mono = static_cast<std::uint64_t>(now.mono_ns);
        if (mono >= sent) {
          l.rtt_ns = mono - sent;
          l.last_pong_ns = mono;
        }
        break;
      }
      case FrameType::ping: append_pong(l.output, f->seq, std::get<Ping>(*m)); break;
      case FrameType::node_output: {
        if (!l.up) return fail(l, "NODE_OUTPUT before WELCOME");
        if (l.in_flight.erase(f->seq) == 0) return fail(l, "NODE_OUTPUT for batch " + std::to_string(f->seq) + ", not in flight");
        const auto& o = std::get<NodeOutput>(*m);
        ++l.counters.results;
        scratch_.clear();
        for (const auto& s : o.signals) {
          // Slots that moved away since: their output is stale (their state restarted elsewhere).
          if (!hosts(s.node) || slots_[s.node].link != l.id) continue;
          scratch_.signals.push_back(market::Signal{s.symbol, s.side, s.price, s.size, market::to_string(s.strategy),
                                                    static_cast<market::NodeIndex>(s.node), s.ts_ms});
        }
        for (const auto& b : o.bars) {
          if (!hosts(b.node) || slots_[b.node].link != l.id) continue;
          scratch_.bars.push_back(market::BarEvent{b.symbol, b.interval, b.bar});
        }
        if (deliver_ && (!scratch_.signals.empty() || !scratch_.bars.empty())) deliver_(scratch_);
        break;
      }
      default: return fail(l, std::string(to_string(f->type)) + " is not sent to a gateway");
    }
  }
  if (!l.reader.error().empty()) return fail(l, l.reader.error());
  return true;
}

LinkView RemoteNodes::link(LinkId id) const {
  const Link& l = links_.at(id);
  LinkView v{l.name, l.up, l.needs_reset, l.rtt_ns, l.last_pong_ns, l.in_flight.size(), {}, l.error, l.counters};
  for (std::uint32_t s = 0; s < slots_.size(); ++s) {
    if (slots_[s].assigned && slots_[s].link == id) v.slots.push_back(s);
  }
  return v;
}

}  // namespace tradeshard::link

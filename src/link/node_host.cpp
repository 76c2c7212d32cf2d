// A node process's end of the link (include/tradeshard/link/node_host.hpp).
#include "tradeshard/link/node_host.hpp"

#include "tradeshard/core/hash.hpp"

namespace tradeshard::link {

namespace {
void put_node_config(std::string& bytes, const market::NodeConfig& c) {
  const auto put = [&](std::int64_t v) { bytes.append(std::to_string(v)).push_back('|'); };
  for (const auto& s : c.strategies) {
    put(static_cast<std::int64_t>(s.kind));
    put(s.max_spread_bps);
    put(s.ratio_num);
    put(s.ratio_den);
    put(s.size);
    put(static_cast<std::int64_t>(s.trigger));
    put(s.cooldown_ms);
    bytes.push_back(';');
  }
  bytes.append(std::to_string(c.imbalance_alpha)).push_back('|');
  put(static_cast<std::int64_t>(c.bar_history));
  bytes.push_back('\n');
}
}  // namespace

std::uint64_t node_config_digest(const NodeSlotConfigs& c) {
  std::string bytes;
  for (std::size_t i = 0; i < c.slots.size(); ++i) {
    bytes.append(i < c.ids.size() ? c.ids[i] : std::string()).push_back('=');
    put_node_config(bytes, c.slots[i]);
  }
  bytes.append("*=");
  put_node_config(bytes, c.fallback);
  return core::stable_hash(bytes);
}

NodeHost::NodeHost(NodeSlotConfigs configs, NodeHostOptions options)
    : configs_(std::move(configs)),
      options_(std::move(options)),
      digest_(node_config_digest(configs_)),
      reader_(options_.max_payload) {}

const market::ProcessorNode* NodeHost::node(std::uint32_t s) const {
  const auto it = nodes_.find(s);
  return it == nodes_.end() ? nullptr : it->second.get();
}

market::ProcessorNode* NodeHost::slot(std::uint32_t s) {
  if (auto it = nodes_.find(s); it != nodes_.end()) return it->second.get();
  if (nodes_.size() >= options_.max_slots) return nullptr;
  const bool configured = s < configs_.slots.size();
  const std::string id = configured && s < configs_.ids.size() ? configs_.ids[s] : "slot-" + std::to_string(s);
  auto n = std::make_unique<market::ProcessorNode>(static_cast<market::NodeIndex>(s), id,
                                                   configured ? configs_.slots[s] : configs_.fallback);
  return nodes_.emplace(s, std::move(n)).first->second.get();
}

bool NodeHost::refuse(std::string& out, RefuseCode code, std::string reason) {
  append(out, 0, Refuse{code, epoch_, reason});
  error_ = std::move(reason);
  ++stats_.refused;
  linked_ = false;
  return false;
}

std::optional<Refuse> NodeHost::check_hello(const Hello& h) const {
  if (h.instruments_digest != digest_) {
    return Refuse{RefuseCode::config_mismatch, epoch_,
                  "node config digest " + std::to_string(h.instruments_digest) + " differs from this node's " +
                      std::to_string(digest_) + " (run both with the same partitioning strategies)"};
  }
  if (h.epoch < epoch_) {
    return Refuse{RefuseCode::stale_epoch, epoch_,
                  "gateway epoch " + std::to_string(h.epoch) + " is older than " + std::to_string(epoch_)};
  }
  return std::nullopt;
}

bool NodeHost::hello(const Hello& h, std::string& out) {
  if (linked_) return refuse(out, RefuseCode::bad_frame, "HELLO twice on one link");
  if (auto r = check_hello(h)) return refuse(out, r->code, std::move(r->reason));
  if (h.reset || h.epoch > epoch_) {
    if (!nodes_.empty()) ++stats_.resets;
    nodes_.clear();  // a slot that moved here, or a new gateway: state starts from the next tick
    last_seq_ = 0;
    epoch_ = h.epoch;
  }
  linked_ = true;
  ++stats_.links;
  append(out, 0, Welcome{epoch_, last_seq_, options_.id});
  return true;
}

void NodeHost::on_link_closed() {
  linked_ = false;
  reader_ = FrameReader(options_.max_payload);
}

void NodeHost::batch(std::uint64_t seq, const TickBatch& b, std::string& out) {
  ++stats_.batches;
  reply_.signals.clear();
  reply_.bars.clear();
  for (const auto& t : b.ticks) {
    market::ProcessorNode* n = slot(t.node);
    if (n == nullptr) {
      ++stats_.rejected;
      continue;
    }
    out_.clear();
    if (n->process(t.symbol, t.quote, t.arrival_ms, out_) != market::QuoteError::ok) {
      ++stats_.rejected;
      continue;
    }
    ++stats_.ticks;
    for (const auto& s : out_.signals) {
      const auto kind = market::parse_strategy_kind(s.strategy).value_or(market::StrategyKind::spread);
      reply_.signals.push_back(NodeSignal{t.node, s.symbol, s.side, kind, s.price, s.size, s.ts_ms});
    }
    for (const auto& e : out_.bars) reply_.bars.push_back(NodeBar{t.node, e.symbol, e.interval, e.bar});
  }
  stats_.signals += reply_.signals.size();
  stats_.bars += reply_.bars.size();
  last_seq_ = seq;
  append(out, seq, reply_);
}

bool NodeHost::on_bytes(std::string_view bytes, std::string& out) {
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
      case FrameType::ping: append_pong(out, f->seq, std::get<Ping>(*m)); break;
      case FrameType::pong: break;
      case FrameType::ticks: batch(f->seq, std::get<TickBatch>(*m), out); break;
      default:
        return refuse(out, RefuseCode::bad_frame, std::string(to_string(f->type)) + " is not sent to a node");
    }
  }
  if (!reader_.error().empty()) return refuse(out, RefuseCode::bad_frame, reader_.error());
  return true;
}

}  // namespace tradeshard::link

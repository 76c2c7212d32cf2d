// The link's processing-node frames, TICKS and NODE_OUTPUT (include/tradeshard/link/codec.hpp,
// docs/cluster.md "The link"); the worker frames and the reader are in codec.cpp.
#include "tradeshard/link/codec.hpp"

#include "wire.hpp"

namespace tradeshard::link {

using namespace wire;

void append(std::string& out, std::uint64_t seq, const TickBatch& m) {
  frame(out, FrameType::ticks, seq, [&] {
    put_u32(out, static_cast<std::uint32_t>(m.ticks.size()));
    for (const auto& t : m.ticks) {
      put_u32(out, t.node);
      put_u32(out, t.symbol);
      put_i64(out, t.quote.bid);
      put_i64(out, t.quote.ask);
      put_i64(out, t.quote.bid_size);
      put_i64(out, t.quote.ask_size);
      put_i64(out, t.quote.ts_ms);
      put_i64(out, t.arrival_ms);
    }
  });
}

void append(std::string& out, std::uint64_t seq, const NodeOutput& m) {
  frame(out, FrameType::node_output, seq, [&] {
    put_u32(out, static_cast<std::uint32_t>(m.signals.size()));
    for (const auto& s : m.signals) {
      put_u32(out, s.node);
      put_u32(out, s.symbol);
      put_enum(out, s.side);
      put_enum(out, s.strategy);
      put_i64(out, s.price);
      put_i64(out, s.size);
      put_i64(out, s.ts_ms);
    }
    put_u32(out, static_cast<std::uint32_t>(m.bars.size()));
    for (const auto& b : m.bars) {
      put_u32(out, b.node);
      put_u32(out, b.symbol);
      put_enum(out, b.interval);
      put_i64(out, b.bar.start_ms);
      put_i64(out, b.bar.open);
      put_i64(out, b.bar.high);
      put_i64(out, b.bar.low);
      put_i64(out, b.bar.close);
      put_u64(out, b.bar.ticks);
    }
  });
}

namespace wire {

Message decode_ticks(Reader& r) {
  TickBatch m;
  const auto n = r.count(tick_bytes, "tick count");
  m.ticks.reserve(n);
  for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
    TickItem t;
    t.node = r.u32("node");
    t.symbol = r.u32("symbol");
    t.quote.bid = r.i64("bid");
    t.quote.ask = r.i64("ask");
    t.quote.bid_size = r.i64("bid size");
    t.quote.ask_size = r.i64("ask size");
    t.quote.ts_ms = r.i64("ts");
    t.arrival_ms = r.i64("arrival");
    m.ticks.push_back(t);
  }
  return m;
}

Message decode_node_output(Reader& r) {
  NodeOutput m;
  const auto ns = r.count_within(signal_bytes, "signal count");
  m.signals.reserve(ns);
  for (std::uint32_t i = 0; i < ns && r.ok(); ++i) {
    NodeSignal s;
    s.node = r.u32("node");
    s.symbol = r.u32("symbol");
    s.side = r.enumerated("side", core::Side::buy, core::Side::sell);
    s.strategy = r.enumerated("strategy", market::StrategyKind::spread, market::StrategyKind::imbalance);
    s.price = r.i64("price");
    s.size = r.i64("size");
    s.ts_ms = r.i64("ts");
    m.signals.push_back(s);
  }
  const auto nb = r.count(bar_bytes, "bar count");
  m.bars.reserve(nb);
  for (std::uint32_t i = 0; i < nb && r.ok(); ++i) {
    NodeBar b;
    b.node = r.u32("node");
    b.symbol = r.u32("symbol");
    b.interval = r.enumerated("interval", market::Interval::s1, market::Interval::m1);
    b.bar.start_ms = r.i64("bar start");
    b.bar.open = r.i64("bar open");
    b.bar.high = r.i64("bar high");
    b.bar.low = r.i64("bar low");
    b.bar.close = r.i64("bar close");
    b.bar.ticks = r.u64("bar ticks");
    m.bars.push_back(b);
  }
  return m;
}

}  // namespace wire

}  // namespace tradeshard::link

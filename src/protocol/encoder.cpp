#include <charconv>

#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::protocol {
namespace {

template <typename Int>
void append_int(std::string& out, Int v) {
  char buf[24];
  const auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

// ,"k":   (std::string::push_back is an out-of-line call per byte here: appends are fewer calls)
void key(std::string& out, std::string_view k) {
  out.append(",\"", 2);
  out.append(k);
  out.append("\":", 2);
}

// ,"k":"  for a value that is a string of known-safe characters
void key_open_string(std::string& out, std::string_view k) {
  out.append(",\"", 2);
  out.append(k);
  out.append("\":\"", 3);
}

void str_field(std::string& out, std::string_view k, std::string_view v) {
  key(out, k);
  append_json_string(out, v);
}

void steps_field(std::string& out, std::string_view k, std::int64_t steps, core::Decimal step) {
  key_open_string(out, k);
  core::append_steps(out, steps, step);
  out.append("\"", 1);
}

void md_field(std::string& out, std::string_view k, std::int64_t v) {
  key_open_string(out, k);
  append_md(out, v);
  out.append("\"", 1);
}

void channels_field(std::string& out, const std::vector<std::string_view>* chans) {
  key(out, "channels");
  out.push_back('[');
  if (chans) {
    for (std::size_t i = 0; i < chans->size(); ++i) {
      if (i) out.push_back(',');
      append_json_string(out, (*chans)[i]);
    }
  }
  out.push_back(']');
}

void levels_field(std::string& out, std::string_view k, const std::vector<app::DepthLevel>* levels,
                  const core::Instrument& in) {
  key(out, k);
  out.push_back('[');
  if (levels) {
    for (std::size_t i = 0; i < levels->size(); ++i) {
      const auto& l = (*levels)[i];
      if (i) out.push_back(',');
      out.append("[\"");
      core::append_steps(out, l.price, in.tick_size);
      out.append("\",\"");
      core::append_steps(out, l.qty, in.lot_size);
      out.append("\",");
      append_int(out, l.orders);
      out.push_back(']');
    }
  }
  out.push_back(']');
}

struct Encode {
  std::string& out;

  void operator()(const app::AckOut& m) {
    str_field(out, "id", m.id);
    str_field(out, "worker", m.worker);
  }
  void operator()(const app::RejectOut& m) {
    str_field(out, "id", m.id);
    str_field(out, "reason", m.reason);
    str_field(out, "message", m.message);
  }
  void operator()(const app::FillOut& m) {
    str_field(out, "id", m.id);
    key(out, "trade_id");
    out.append("\"t-", 3);
    append_int(out, m.trade_id);
    out.append("\"", 1);
    str_field(out, "symbol", m.instrument->symbol);
    str_field(out, "side", core::to_string(m.side));
    steps_field(out, "price", m.price, m.instrument->tick_size);
    steps_field(out, "qty", m.qty, m.instrument->lot_size);
    str_field(out, "liquidity", m.maker ? "maker" : "taker");
    steps_field(out, "remaining", m.remaining, m.instrument->lot_size);
  }
  void operator()(const app::DoneOut& m) {
    str_field(out, "id", m.id);
    str_field(out, "reason", m.reason);
  }
  void operator()(const app::ReplacedOut& m) {
    str_field(out, "id", m.id);
    steps_field(out, "price", m.price, m.instrument->tick_size);
    steps_field(out, "qty", m.qty, m.instrument->lot_size);
  }
  void operator()(const app::ErrorOut& m) {
    str_field(out, "error", m.error);
    str_field(out, "message", m.message);
  }
  void operator()(const app::PongOut&) {}
  void operator()(const app::SubscribedOut& m) { channels_field(out, m.channels); }
  void operator()(const app::LoginOut& m) { str_field(out, "account", m.account); }
  void operator()(const app::SignalOut& m) {
    str_field(out, "symbol", m.symbol);
    str_field(out, "side", core::to_string(m.side));
    md_field(out, "price", m.price);
    md_field(out, "size", m.size);
    str_field(out, "strategy", m.strategy);
    str_field(out, "node", m.node);
    key(out, "ts");
    append_int(out, m.ts_ms);
  }
  void operator()(const app::QuoteOut& m) {
    str_field(out, "symbol", m.symbol);
    md_field(out, "bid", m.bid);
    md_field(out, "ask", m.ask);
    md_field(out, "bid_size", m.bid_size);
    md_field(out, "ask_size", m.ask_size);
    key(out, "ts");
    append_int(out, m.ts_ms);
  }
  void operator()(const app::BarOut& m) {
    str_field(out, "symbol", m.symbol);
    str_field(out, "interval", m.interval);
    key(out, "start");
    append_int(out, m.start_ms);
    md_field(out, "open", m.open);
    md_field(out, "high", m.high);
    md_field(out, "low", m.low);
    md_field(out, "close", m.close);
    key(out, "ticks");
    append_int(out, m.ticks);
  }
  void operator()(const app::TradeOut& m) {
    str_field(out, "symbol", m.instrument->symbol);
    key(out, "trade_id");
    out.append("\"t-", 3);
    append_int(out, m.trade_id);
    out.append("\"", 1);
    steps_field(out, "price", m.price, m.instrument->tick_size);
    steps_field(out, "qty", m.qty, m.instrument->lot_size);
    str_field(out, "aggressor", core::to_string(m.aggressor));
    str_field(out, "worker", m.worker);
  }
  void operator()(const app::DepthOut& m) {
    str_field(out, "symbol", m.instrument->symbol);
    str_field(out, "worker", m.worker);
    levels_field(out, "bids", m.bids, *m.instrument);
    levels_field(out, "asks", m.asks, *m.instrument);
  }
  void operator()(const app::StatsOut& m) {
    key(out, "data");
    out.append(m.json);
  }
};

constexpr std::string_view kTypeNames[] = {"ack",  "reject",     "fill",   "done",   "replaced", "error",
                                           "pong", "subscribed", "login",  "signal", "quote",    "bar",
                                           "trade", "depth", "stats"};
static_assert(std::size(kTypeNames) == std::variant_size_v<app::Outbound>);

}  // namespace

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out.append("\"", 1);
  // Runs of characters that need no escape (all of them, in ids and names) go in one append.
  std::size_t run = 0;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out.append("\\\""); break;
      case '\\': out.append("\\\\"); break;
      case '\n': out.append("\\n"); break;
      case '\r': out.append("\\r"); break;
      case '\t': out.append("\\t"); break;
      default:
        out.append("\\u00");
        out.push_back(hex[c >> 4]);
        out.push_back(hex[c & 15]);
    }
  }
  out.append(s.data() + run, s.size() - run);
  out.append("\"", 1);
}

void append_md(std::string& out, std::int64_t value) {
  const std::size_t start = out.size();
  core::append_steps(out, value, core::market_data_step);
  // Trim trailing fractional zeros, and the point itself when nothing is left after it.
  std::size_t end = out.size();
  while (end > start && out[end - 1] == '0') --end;
  if (end > start && out[end - 1] == '.') --end;
  out.resize(end);
}

void encode(std::string& out, const app::Outbound& message, std::uint64_t seq) {
  out.append("{\"type\":\"");
  out.append(kTypeNames[message.index()]);
  out.append("\",\"seq\":");
  append_int(out, seq);
  std::visit(Encode{out}, message);
  out.push_back('}');
}

}  // namespace tradeshard::protocol

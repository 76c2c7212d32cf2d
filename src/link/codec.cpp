// The gateway <-> worker link's frames (include/tradeshard/link/codec.hpp, docs/cluster.md).
#include "tradeshard/link/codec.hpp"

#include <cstring>
#include <type_traits>

namespace tradeshard::link {

namespace {

// ---- little-endian writing ----

void put_u8(std::string& out, std::uint8_t v) { out.push_back(static_cast<char>(v)); }
void put_u16(std::string& out, std::uint16_t v) {
  for (int i = 0; i < 2; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_i64(std::string& out, std::int64_t v) { put_u64(out, static_cast<std::uint64_t>(v)); }
template <class E>
void put_enum(std::string& out, E e) {
  put_u8(out, static_cast<std::uint8_t>(e));
}
void put_name(std::string& out, std::string_view s) {
  const std::size_t n = std::min(s.size(), max_name_bytes);
  put_u16(out, static_cast<std::uint16_t>(n));
  out.append(s.data(), n);
}

// Writes the header with a placeholder length, runs `body`, then patches the length.
template <class Body>
void frame(std::string& out, FrameType type, std::uint64_t seq, Body&& body) {
  const std::size_t at = out.size();
  put_u16(out, magic);
  put_u8(out, version);
  put_enum(out, type);
  put_u32(out, 0);
  put_u64(out, seq);
  body();
  const auto length = static_cast<std::uint32_t>(out.size() - at - header_bytes);
  for (int i = 0; i < 4; ++i) out[at + 4 + i] = static_cast<char>((length >> (8 * i)) & 0xff);
}

void put_event(std::string& out, const book::Event& e) {
  put_enum(out, e.type);
  put_enum(out, e.side);
  put_enum(out, e.liquidity);
  put_enum(out, e.reject_reason);
  put_enum(out, e.done_reason);
  put_u8(out, e.priority_kept ? 1 : 0);
  put_u16(out, 0);
  put_u32(out, e.account);
  put_u32(out, e.instrument);
  put_u64(out, e.key);
  put_u64(out, e.counterparty);
  put_u64(out, e.trade_id);
  put_i64(out, e.price);
  put_i64(out, e.qty);
  put_i64(out, e.remaining);
}

// ---- bounds-checked reading ----

class Reader {
 public:
  explicit Reader(std::string_view p) : p_(p) {}
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  void fail(std::string why) {
    if (error_.empty()) error_ = std::move(why);
  }
  std::size_t left() const { return p_.size() - at_; }

  std::uint64_t uint(int bytes, const char* what) {
    if (!ok()) return 0;
    if (left() < static_cast<std::size_t>(bytes)) {
      fail(std::string("payload ends inside ") + what);
      return 0;
    }
    std::uint64_t v = 0;
    for (int i = 0; i < bytes; ++i) v |= static_cast<std::uint64_t>(static_cast<unsigned char>(p_[at_ + i])) << (8 * i);
    at_ += static_cast<std::size_t>(bytes);
    return v;
  }
  std::uint8_t u8(const char* what) { return static_cast<std::uint8_t>(uint(1, what)); }
  std::uint16_t u16(const char* what) { return static_cast<std::uint16_t>(uint(2, what)); }
  std::uint32_t u32(const char* what) { return static_cast<std::uint32_t>(uint(4, what)); }
  std::uint64_t u64(const char* what) { return uint(8, what); }
  std::int64_t i64(const char* what) { return static_cast<std::int64_t>(uint(8, what)); }
  bool flag(const char* what) {
    const auto v = u8(what);
    if (v > 1) fail(std::string(what) + " is not 0 or 1");
    return v == 1;
  }
  // An enum whose values run from `first` to `last`.
  template <class E>
  E enumerated(const char* what, E first, E last) {
    const auto v = u8(what);
    if (v < static_cast<std::uint8_t>(first) || v > static_cast<std::uint8_t>(last)) {
      fail(std::string(what) + " out of range: " + std::to_string(v));
      return first;
    }
    return static_cast<E>(v);
  }
  std::string name(const char* what) {
    const auto n = u16(what);
    if (!ok()) return {};
    if (n > max_name_bytes || n > left()) {
      fail(std::string(what) + " longer than " + (n > max_name_bytes ? "256 bytes" : "the payload"));
      return {};
    }
    std::string s(p_.substr(at_, n));
    at_ += n;
    return s;
  }
  // A count of items of `each` bytes that must fit in the rest of the payload (more may follow).
  std::uint32_t count_within(std::size_t each, const char* what) {
    const auto n = u32(what);
    if (ok() && static_cast<std::uint64_t>(n) * each > left()) {
      fail(std::string(what) + " " + std::to_string(n) + " does not fit the payload's " + std::to_string(left()) +
           " bytes");
    }
    return ok() ? n : 0;
  }
  // A count of items of `each` bytes that must fill exactly the rest of the payload.
  std::uint32_t count(std::size_t each, const char* what) {
    const auto n = u32(what);
    if (ok() && static_cast<std::uint64_t>(n) * each != left()) {
      fail(std::string(what) + " " + std::to_string(n) + " does not match the payload's " +
           std::to_string(left()) + " bytes");
    }
    return ok() ? n : 0;
  }
  void end() {
    if (ok() && left() != 0) fail(std::to_string(left()) + " bytes after the message");
  }

 private:
  std::string_view p_;
  std::size_t at_ = 0;
  std::string error_;
};

book::Event read_event(Reader& r) {
  book::Event e;
  e.type = r.enumerated("event type", book::EventType::accepted, book::EventType::done);
  e.side = r.enumerated("event side", core::Side::buy, core::Side::sell);
  e.liquidity = r.enumerated("event liquidity", book::Liquidity::maker, book::Liquidity::taker);
  e.reject_reason = r.enumerated("event reject reason", book::RejectReason::ok, book::RejectReason::no_liquidity);
  e.done_reason = r.enumerated("event done reason", book::DoneReason::filled, book::DoneReason::self_trade);
  e.priority_kept = r.flag("event priority_kept");
  if (r.u16("event padding") != 0) r.fail("event padding is not zero");
  e.account = r.u32("event account");
  e.instrument = r.u32("event instrument");
  e.key = r.u64("event key");
  e.counterparty = r.u64("event counterparty");
  e.trade_id = r.u64("event trade_id");
  e.price = r.i64("event price");
  e.qty = r.i64("event qty");
  e.remaining = r.i64("event remaining");
  return e;
}

constexpr std::size_t book_order_bytes = 8 + 4 + 1 + 8 + 8 + 8;
constexpr std::size_t cancel_target_bytes = 4 + 8;

bool same_event(const book::Event& a, const book::Event& b) {
  return a.type == b.type && a.side == b.side && a.liquidity == b.liquidity && a.reject_reason == b.reject_reason &&
         a.done_reason == b.done_reason && a.priority_kept == b.priority_kept && a.account == b.account &&
         a.instrument == b.instrument && a.key == b.key && a.counterparty == b.counterparty &&
         a.trade_id == b.trade_id && a.price == b.price && a.qty == b.qty && a.remaining == b.remaining;
}

}  // namespace

bool operator==(const Result& a, const Result& b) {
  if (a.worker != b.worker || a.outcome != b.outcome || a.reason != b.reason || a.events.size() != b.events.size())
    return false;
  for (std::size_t i = 0; i < a.events.size(); ++i) {
    if (!same_event(a.events[i], b.events[i])) return false;
  }
  return true;
}

const char* to_string(FrameType t) noexcept {
  switch (t) {
    case FrameType::hello: return "HELLO";
    case FrameType::welcome: return "WELCOME";
    case FrameType::refuse: return "REFUSE";
    case FrameType::ping: return "PING";
    case FrameType::pong: return "PONG";
    case FrameType::order: return "ORDER";
    case FrameType::cancel: return "CANCEL";
    case FrameType::replace: return "REPLACE";
    case FrameType::cancel_all: return "CANCEL_ALL";
    case FrameType::load_book: return "LOAD_BOOK";
    case FrameType::drop_book: return "DROP_BOOK";
    case FrameType::result: return "RESULT";
    case FrameType::ticks: return "TICKS";
    case FrameType::node_output: return "NODE_OUTPUT";
  }
  return "?";
}

void append(std::string& out, std::uint64_t seq, const Hello& m) {
  frame(out, FrameType::hello, seq, [&] {
    put_u64(out, m.epoch);
    put_u64(out, m.instruments_digest);
    put_u32(out, m.heartbeat_ms);
    put_u8(out, m.reset ? 1 : 0);
    put_u64(out, m.resend_from);
    put_name(out, m.gateway);
  });
}

void append(std::string& out, std::uint64_t seq, const Welcome& m) {
  frame(out, FrameType::welcome, seq, [&] {
    put_u64(out, m.epoch);
    put_u64(out, m.applied_seq);
    put_name(out, m.peer);
  });
}

void append(std::string& out, std::uint64_t seq, const Refuse& m) {
  frame(out, FrameType::refuse, seq, [&] {
    put_enum(out, m.code);
    put_u64(out, m.current_epoch);
    put_name(out, m.reason);
  });
}

void append_ping(std::string& out, std::uint64_t seq, const Ping& m) {
  frame(out, FrameType::ping, seq, [&] { put_u64(out, m.sent_ns); });
}

void append_pong(std::string& out, std::uint64_t seq, const Ping& m) {
  frame(out, FrameType::pong, seq, [&] { put_u64(out, m.sent_ns); });
}

void append(std::string& out, std::uint64_t seq, const OrderCommand& m) {
  frame(out, FrameType::order, seq, [&] {
    put_u32(out, m.worker);
    put_enum(out, m.lane);
    put_u64(out, m.order.key);
    put_u32(out, m.order.account);
    put_u32(out, m.order.instrument);
    put_enum(out, m.order.side);
    put_enum(out, m.order.type);
    put_enum(out, m.order.tif);
    put_i64(out, m.order.price);
    put_i64(out, m.order.qty);
  });
}

void append(std::string& out, std::uint64_t seq, const CancelCommand& m) {
  frame(out, FrameType::cancel, seq, [&] {
    put_u32(out, m.worker);
    put_u32(out, m.account);
    put_u64(out, m.key);
  });
}

void append(std::string& out, std::uint64_t seq, const ReplaceCommand& m) {
  frame(out, FrameType::replace, seq, [&] {
    put_u32(out, m.worker);
    put_u32(out, m.account);
    put_u64(out, m.key);
    put_i64(out, m.price);
    put_i64(out, m.qty);
  });
}

void append(std::string& out, std::uint64_t seq, const CancelAllCommand& m) {
  frame(out, FrameType::cancel_all, seq, [&] {
    put_u32(out, m.worker);
    put_u32(out, static_cast<std::uint32_t>(m.orders.size()));
    for (const auto& t : m.orders) {
      put_u32(out, t.account);
      put_u64(out, t.key);
    }
  });
}

void append(std::string& out, std::uint64_t seq, const LoadBookCommand& m) {
  frame(out, FrameType::load_book, seq, [&] {
    put_u32(out, m.worker);
    put_u32(out, m.image.instrument);
    put_i64(out, m.image.last_trade);
    put_u32(out, static_cast<std::uint32_t>(m.image.orders.size()));
    for (const auto& o : m.image.orders) {
      put_u64(out, o.key);
      put_u32(out, o.account);
      put_enum(out, o.side);
      put_i64(out, o.price);
      put_i64(out, o.leaves);
      put_i64(out, o.filled);
    }
  });
}

void append(std::string& out, std::uint64_t seq, const DropBookCommand& m) {
  frame(out, FrameType::drop_book, seq, [&] {
    put_u32(out, m.worker);
    put_u32(out, m.instrument);
  });
}

void append(std::string& out, std::uint64_t seq, const Result& m) {
  frame(out, FrameType::result, seq, [&] {
    put_u32(out, m.worker);
    put_enum(out, m.outcome);
    put_u8(out, m.reason);
    put_u32(out, static_cast<std::uint32_t>(m.events.size()));
    for (const auto& e : m.events) put_event(out, e);
  });
}

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

void append(std::string& out, std::uint64_t seq, const Message& m) {
  std::visit(
      [&](const auto& v) {
        if constexpr (std::is_same_v<std::decay_t<decltype(v)>, Ping>) {
          append_ping(out, seq, v);
        } else {
          append(out, seq, v);
        }
      },
      m);
}

void FrameReader::feed(std::string_view bytes) {
  if (!error_.empty()) return;
  // Drop what was consumed before appending, so the buffer holds at most one partial frame plus
  // what this read brought.
  if (start_ > 0) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  buffer_.append(bytes.data(), bytes.size());
}

std::optional<Frame> FrameReader::next() {
  if (!error_.empty() || buffer_.size() - start_ < header_bytes) return std::nullopt;
  Reader h(std::string_view(buffer_).substr(start_, header_bytes));
  const auto m = h.u16("magic");
  const auto v = h.u8("version");
  const auto t = h.u8("type");
  const auto length = h.u32("length");
  const auto seq = h.u64("seq");
  if (m != magic) {
    error_ = "bad magic " + std::to_string(m) + " (not a tradeshard link)";
    return std::nullopt;
  }
  if (v != version) {
    error_ = "link version " + std::to_string(v) + ", this side speaks " + std::to_string(version);
    return std::nullopt;
  }
  const bool known = (t >= 1 && t <= 5) || (t >= 16 && t <= 21) || t == 32 || t == 40 || t == 41;
  if (!known) {
    error_ = "unknown frame type " + std::to_string(t);
    return std::nullopt;
  }
  if (length > max_payload_) {
    error_ = "frame of " + std::to_string(length) + " bytes over the cap of " + std::to_string(max_payload_);
    return std::nullopt;
  }
  if (buffer_.size() - start_ < header_bytes + length) return std::nullopt;
  Frame f{static_cast<FrameType>(t), seq, std::string_view(buffer_).substr(start_ + header_bytes, length)};
  start_ += header_bytes + length;
  return f;
}

std::optional<Message> decode(const Frame& frame, std::string& error) {
  Reader r(frame.payload);
  std::optional<Message> out;
  switch (frame.type) {
    case FrameType::hello: {
      Hello m;
      m.epoch = r.u64("epoch");
      m.instruments_digest = r.u64("instruments digest");
      m.heartbeat_ms = r.u32("heartbeat");
      m.reset = r.flag("reset");
      m.resend_from = r.u64("resend from");
      m.gateway = r.name("gateway id");
      out = std::move(m);
      break;
    }
    case FrameType::welcome: {
      Welcome m;
      m.epoch = r.u64("epoch");
      m.applied_seq = r.u64("applied seq");
      m.peer = r.name("peer id");
      out = std::move(m);
      break;
    }
    case FrameType::refuse: {
      Refuse m;
      m.code = r.enumerated("refuse code", RefuseCode::stale_epoch, RefuseCode::bad_frame);
      m.current_epoch = r.u64("current epoch");
      m.reason = r.name("reason");
      out = std::move(m);
      break;
    }
    case FrameType::ping:
    case FrameType::pong: out = Ping{r.u64("sent_ns")}; break;
    case FrameType::order: {
      OrderCommand m;
      m.worker = r.u32("worker");
      m.lane = r.enumerated("lane", core::Priority::normal, core::Priority::emergency);
      m.order.key = r.u64("key");
      m.order.account = r.u32("account");
      m.order.instrument = r.u32("instrument");
      m.order.side = r.enumerated("side", core::Side::buy, core::Side::sell);
      m.order.type = r.enumerated("order type", book::OrderType::limit, book::OrderType::market);
      m.order.tif = r.enumerated("time in force", book::TimeInForce::gtc, book::TimeInForce::fok);
      m.order.price = r.i64("price");
      m.order.qty = r.i64("qty");
      out = m;
      break;
    }
    case FrameType::cancel: {
      CancelCommand m;
      m.worker = r.u32("worker");
      m.account = r.u32("account");
      m.key = r.u64("key");
      out = m;
      break;
    }
    case FrameType::replace: {
      ReplaceCommand m;
      m.worker = r.u32("worker");
      m.account = r.u32("account");
      m.key = r.u64("key");
      m.price = r.i64("price");
      m.qty = r.i64("qty");
      out = m;
      break;
    }
    case FrameType::cancel_all: {
      CancelAllCommand m;
      m.worker = r.u32("worker");
      const auto n = r.count(cancel_target_bytes, "order count");
      m.orders.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        CancelAllCommand::Target t;
        t.account = r.u32("account");
        t.key = r.u64("key");
        m.orders.push_back(t);
      }
      out = std::move(m);
      break;
    }
    case FrameType::load_book: {
      LoadBookCommand m;
      m.worker = r.u32("worker");
      m.image.instrument = r.u32("instrument");
      m.image.last_trade = r.i64("last trade");
      const auto n = r.count(book_order_bytes, "order count");
      m.image.orders.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) {
        book::BookImage::Order o;
        o.key = r.u64("key");
        o.account = r.u32("account");
        o.side = r.enumerated("side", core::Side::buy, core::Side::sell);
        o.price = r.i64("price");
        o.leaves = r.i64("leaves");
        o.filled = r.i64("filled");
        m.image.orders.push_back(o);
      }
      out = std::move(m);
      break;
    }
    case FrameType::drop_book: {
      DropBookCommand m;
      m.worker = r.u32("worker");
      m.instrument = r.u32("instrument");
      out = m;
      break;
    }
    case FrameType::result: {
      Result m;
      m.worker = r.u32("worker");
      m.outcome = r.enumerated("outcome", Outcome::applied, Outcome::import_failed);
      m.reason = r.u8("reason");
      const auto n = r.count(event_bytes, "event count");
      m.events.reserve(n);
      for (std::uint32_t i = 0; i < n && r.ok(); ++i) m.events.push_back(read_event(r));
      out = std::move(m);
      break;
    }
    case FrameType::ticks: {
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
      out = std::move(m);
      break;
    }
    case FrameType::node_output: {
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
      out = std::move(m);
      break;
    }
  }
  r.end();
  if (!r.ok()) {
    error = std::string(to_string(frame.type)) + ": " + r.error();
    return std::nullopt;
  }
  return out;
}

}  // namespace tradeshard::link

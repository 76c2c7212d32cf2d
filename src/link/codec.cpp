// The link's frames (include/tradeshard/link/codec.hpp, docs/cluster.md): the control and worker
// frames and the frame reader; the node frames are in codec_node.cpp, the byte helpers in wire.hpp.
#include "tradeshard/link/codec.hpp"

#include <cstring>
#include <type_traits>

#include "wire.hpp"

namespace tradeshard::link {

using namespace wire;

namespace {

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
    case FrameType::ticks: out = decode_ticks(r); break;
    case FrameType::node_output: out = decode_node_output(r); break;
  }
  r.end();
  if (!r.ok()) {
    error = std::string(to_string(frame.type)) + ": " + r.error();
    return std::nullopt;
  }
  return out;
}

}  // namespace tradeshard::link

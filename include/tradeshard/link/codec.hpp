#pragma once
// The binary link between a gateway and a worker process (cluster mode, docs/cluster.md "The
// link"): length-prefixed frames with a magic and a version, as plain C++ values. No networking:
// the codec is unit-tested and fuzzed on its own (tests/fuzz/link_fuzz.cpp); the sessions that
// carry it sit at the edge. Standard library and domain types only.
//
// Every frame: a 16-byte header, then `length` bytes of payload, all integers little-endian.
//   u16 magic 0x5354 (the bytes "TS") | u8 version (1) | u8 type | u32 length | u64 seq
// `seq` is the link's command sequence number: a command carries its own (1, 2, 3… per link and
// gateway epoch), its RESULT carries the same one, PING/PONG a ping id.
//
// Each encoding is canonical (one byte string per value): a decoded frame re-encodes to the
// bytes it came from. Decoding refuses, with a reason: a wrong magic or version, a length over the
// reader's cap, an unknown type, an enum out of range, a count that does not match the payload,
// and trailing bytes.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "tradeshard/book/event.hpp"
#include "tradeshard/book/matching_engine.hpp"
#include "tradeshard/core/types.hpp"
#include "tradeshard/market/bar_series.hpp"
#include "tradeshard/market/quote.hpp"
#include "tradeshard/market/strategy.hpp"

namespace tradeshard::link {

inline constexpr std::uint16_t magic = 0x5354;  // on the wire: 54 53, "TS"
inline constexpr std::uint8_t version = 1;
inline constexpr std::size_t header_bytes = 16;
inline constexpr std::size_t event_bytes = 64;
inline constexpr std::size_t max_name_bytes = 256;
// A LOAD_BOOK of a large book is the biggest frame (37 bytes per order: 16 MiB is ~450k orders).
inline constexpr std::size_t default_max_payload = 16u << 20;

enum class FrameType : std::uint8_t {
  hello = 1,      // gateway -> peer, first frame: epoch, instruments digest, heartbeat
  welcome = 2,    // peer -> gateway: the epoch accepted, the last command applied under it
  refuse = 3,     // peer -> gateway, then close: why the HELLO was refused
  ping = 4,       // either way; answered by pong with the same seq and payload
  pong = 5,
  order = 16,     // gateway -> worker: commands, each answered by exactly one RESULT
  cancel = 17,
  replace = 18,
  cancel_all = 19,
  load_book = 20,  // rest an exported book (failover, migration)
  drop_book = 21,  // forget one instrument's book without events (it moved away)
  result = 32,    // worker -> gateway: every event of one command, applied whole or not at all
  ticks = 40,        // gateway -> node: a batch of quotes, each for one node slot
  node_output = 41,  // node -> gateway: the signals and closed bars of one TICKS batch (same seq)
};
[[nodiscard]] const char* to_string(FrameType t) noexcept;

struct Hello {
  std::uint64_t epoch = 0;               // the gateway's (its leader key's creation revision)
  std::uint64_t instruments_digest = 0;  // both sides must run the same instrument table
  std::uint32_t heartbeat_ms = 0;        // the gateway pings this often
  bool reset = false;                    // drop every book and queued order first (a worker that
                                         // was declared dead comes back empty)
  std::uint64_t resend_from = 0;         // the lowest command seq the gateway has no RESULT for
                                         // (0: none): the worker replays the RESULTs it made for
                                         // seqs from there, in the order it made them
  std::string gateway;                   // its id, for logs
  friend bool operator==(const Hello&, const Hello&) = default;
};

struct Welcome {
  std::uint64_t epoch = 0;        // echoes the HELLO's
  std::uint64_t applied_seq = 0;  // the last command seq applied under this epoch (0: none)
  std::string peer;               // the worker's id
  friend bool operator==(const Welcome&, const Welcome&) = default;
};

enum class RefuseCode : std::uint8_t { stale_epoch = 1, config_mismatch = 2, busy = 3, bad_frame = 4 };
struct Refuse {
  RefuseCode code = RefuseCode::bad_frame;
  std::uint64_t current_epoch = 0;  // for stale_epoch: the epoch the peer holds
  std::string reason;
  friend bool operator==(const Refuse&, const Refuse&) = default;
};

struct Ping {
  std::uint64_t sent_ns = 0;  // the sender's monotonic clock, echoed in the PONG
  friend bool operator==(const Ping&, const Ping&) = default;
};

struct OrderCommand {
  std::uint32_t worker = 0;  // the slot inside the worker process
  core::Priority lane = core::Priority::normal;
  book::NewOrder order;
  friend bool operator==(const OrderCommand& a, const OrderCommand& b) {
    return a.worker == b.worker && a.lane == b.lane && a.order.key == b.order.key &&
           a.order.account == b.order.account && a.order.instrument == b.order.instrument &&
           a.order.side == b.order.side && a.order.type == b.order.type && a.order.tif == b.order.tif &&
           a.order.price == b.order.price && a.order.qty == b.order.qty;
  }
};

struct CancelCommand {
  std::uint32_t worker = 0;
  book::AccountId account = 0;
  book::OrderKey key = 0;
  friend bool operator==(const CancelCommand&, const CancelCommand&) = default;
};

struct ReplaceCommand {
  std::uint32_t worker = 0;
  book::AccountId account = 0;
  book::OrderKey key = 0;
  core::Ticks price = 0;
  core::Lots qty = 0;  // new total quantity
  friend bool operator==(const ReplaceCommand&, const ReplaceCommand&) = default;
};

struct CancelAllCommand {
  std::uint32_t worker = 0;
  struct Target {
    book::AccountId account = 0;
    book::OrderKey key = 0;
    friend bool operator==(const Target&, const Target&) = default;
  };
  std::vector<Target> orders;  // cancelled in this order
  friend bool operator==(const CancelAllCommand&, const CancelAllCommand&) = default;
};

struct LoadBookCommand {
  std::uint32_t worker = 0;
  book::BookImage image;
  friend bool operator==(const LoadBookCommand& a, const LoadBookCommand& b) {
    return a.worker == b.worker && a.image.instrument == b.image.instrument &&
           a.image.last_trade == b.image.last_trade && a.image.orders == b.image.orders;
  }
};

struct DropBookCommand {
  std::uint32_t worker = 0;
  core::InstrumentId instrument = 0;
  friend bool operator==(const DropBookCommand&, const DropBookCommand&) = default;
};

enum class Outcome : std::uint8_t {
  applied = 0,     // events are the command's (may be a rejection: the engine's own answer)
  refused = 1,     // cancel/replace refused (reason); nothing changed
  queue_full = 2,  // the worker's lane had no room; nothing changed
  import_failed = 3,  // load_book refused (reason holds the ImportError)
};

struct Result {
  std::uint32_t worker = 0;
  Outcome outcome = Outcome::applied;
  std::uint8_t reason = 0;  // RejectReason for refused, ImportError for import_failed
  std::vector<book::Event> events;
  friend bool operator==(const Result& a, const Result& b);
};

// ---- processing nodes (a `node` process runs market::ProcessorNode per node slot) ----

inline constexpr std::size_t tick_bytes = 4 + 4 + 6 * 8;
inline constexpr std::size_t signal_bytes = 4 + 4 + 1 + 1 + 3 * 8;
inline constexpr std::size_t bar_bytes = 4 + 4 + 1 + 6 * 8;

struct TickItem {
  std::uint32_t node = 0;    // the gateway's node slot
  std::uint32_t symbol = 0;  // the gateway's symbol id (opaque to the node)
  market::Quote quote;
  std::int64_t arrival_ms = 0;  // the gateway's wall clock when the tick came in
  friend bool operator==(const TickItem& a, const TickItem& b) {
    return a.node == b.node && a.symbol == b.symbol && a.quote.bid == b.quote.bid && a.quote.ask == b.quote.ask &&
           a.quote.bid_size == b.quote.bid_size && a.quote.ask_size == b.quote.ask_size &&
           a.quote.ts_ms == b.quote.ts_ms && a.arrival_ms == b.arrival_ms;
  }
};
struct TickBatch {
  std::vector<TickItem> ticks;
  friend bool operator==(const TickBatch&, const TickBatch&) = default;
};

struct NodeSignal {
  std::uint32_t node = 0;
  std::uint32_t symbol = 0;
  core::Side side = core::Side::buy;
  market::StrategyKind strategy = market::StrategyKind::spread;
  market::Scaled price = 0;
  market::Scaled size = 0;
  std::int64_t ts_ms = 0;
  friend bool operator==(const NodeSignal&, const NodeSignal&) = default;
};
struct NodeBar {
  std::uint32_t node = 0;
  std::uint32_t symbol = 0;
  market::Interval interval = market::Interval::s1;
  market::Bar bar;
  friend bool operator==(const NodeBar&, const NodeBar&) = default;
};
struct NodeOutput {
  std::vector<NodeSignal> signals;
  std::vector<NodeBar> bars;
  friend bool operator==(const NodeOutput&, const NodeOutput&) = default;
};

using Message = std::variant<Hello, Welcome, Refuse, Ping, OrderCommand, CancelCommand, ReplaceCommand,
                             CancelAllCommand, LoadBookCommand, DropBookCommand, Result, TickBatch, NodeOutput>;

// ---- writing ----

// Appends one whole frame to `out`. A PING or a PONG is a Ping with type ping or pong.
void append(std::string& out, std::uint64_t seq, const Hello& m);
void append(std::string& out, std::uint64_t seq, const Welcome& m);
void append(std::string& out, std::uint64_t seq, const Refuse& m);
void append_ping(std::string& out, std::uint64_t seq, const Ping& m);
void append_pong(std::string& out, std::uint64_t seq, const Ping& m);
void append(std::string& out, std::uint64_t seq, const OrderCommand& m);
void append(std::string& out, std::uint64_t seq, const CancelCommand& m);
void append(std::string& out, std::uint64_t seq, const ReplaceCommand& m);
void append(std::string& out, std::uint64_t seq, const CancelAllCommand& m);
void append(std::string& out, std::uint64_t seq, const LoadBookCommand& m);
void append(std::string& out, std::uint64_t seq, const DropBookCommand& m);
void append(std::string& out, std::uint64_t seq, const Result& m);
void append(std::string& out, std::uint64_t seq, const TickBatch& m);
void append(std::string& out, std::uint64_t seq, const NodeOutput& m);
// Any message; pings go out as PING.
void append(std::string& out, std::uint64_t seq, const Message& m);

// ---- reading ----

struct Frame {
  FrameType type = FrameType::ping;
  std::uint64_t seq = 0;
  std::string_view payload;  // valid until the reader is fed again
};

// Splits a byte stream into frames. Feed what the socket read; next() returns each whole frame
// once. After an error the stream is unusable (close the link): error() says why.
class FrameReader {
 public:
  explicit FrameReader(std::size_t max_payload = default_max_payload) : max_payload_(max_payload) {}
  void feed(std::string_view bytes);
  // A whole frame, or nullopt: more bytes needed, or an error (then error() is set).
  std::optional<Frame> next();
  [[nodiscard]] const std::string& error() const noexcept { return error_; }
  [[nodiscard]] std::size_t buffered() const noexcept { return buffer_.size() - start_; }

 private:
  std::string buffer_;
  std::size_t start_ = 0;
  std::size_t max_payload_;
  std::string error_;
};

// The frame's message; on failure, nullopt and `error` says what was wrong.
[[nodiscard]] std::optional<Message> decode(const Frame& frame, std::string& error);

}  // namespace tradeshard::link

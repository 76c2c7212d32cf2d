#pragma once
// Request generation and reply matching for one connection: a seeded order flow (limit / market /
// cancel, priced around a shared mid so different connections' orders cross) or a ping flow.
// Pure logic: the caller passes the times in; no I/O, no clock reads.
#include <cstdint>
#include <deque>
#include <map>
#include <random>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/app/histogram.hpp"

namespace tradeshard::bench {

struct RoundTripStats {
  app::LatencyHistogram ack;     // submit -> first reply for the order (ack, reject, or the echo)
  app::LatencyHistogram fill;    // submit -> first fill where this order was the taker
  app::LatencyHistogram cancel;  // cancel -> its done / reject
  app::LatencyHistogram send_lag;  // open loop: actual send - intended send (the client's own lateness)
  std::uint64_t orders_sent = 0, cancels_sent = 0, pings_sent = 0;
  std::uint64_t acks = 0, rejects = 0, fills = 0, done = 0, pongs = 0, echoes = 0;
  std::uint64_t errors = 0, timeouts = 0, unmatched = 0;
  std::map<std::string, std::uint64_t> reject_reasons, error_codes;
  double seconds = 0;  // measured sending time (phases add up)
};

// The value of "key":"..." in a flat JSON line we generated or the daemon encoded (no escapes
// in the values we look at); empty when absent.
[[nodiscard]] std::string_view json_string_field(std::string_view line, std::string_view key);

// Decimal text of a fixed-point value: format_fixed(5000010, 2) == "50000.10".
[[nodiscard]] std::string format_fixed(std::int64_t value, int decimals);

class RequestFlow {
 public:
  // pings: {"type":"ping"} round trips matched in order; else the order flow.
  RequestFlow(bool pings, int connection, std::uint64_t seed);

  // Appends the next request (one JSON object, no newline) to line and remembers its intended
  // send time (ns on the caller's clock) for the latency.
  void next(std::string& line, std::int64_t intended_ns, RoundTripStats& stats);
  // Matches one reply line received at now_ns.
  void on_reply(std::string_view line, std::int64_t now_ns, RoundTripStats& stats);
  // Requests still waiting for their first reply.
  [[nodiscard]] std::size_t in_flight() const noexcept { return in_flight_; }
  // Counts everything still unanswered as timed out and forgets it.
  void expire(RoundTripStats& stats);

 private:
  struct Pending {
    std::int64_t intended_ns = 0;
    bool answered = false;  // first reply seen (submit -> ack recorded)
    bool filled = false;    // first taker fill recorded
    std::int64_t cancel_ns = -1;  // a cancel for it is in flight since then
    unsigned account = 0;         // which of this connection's accounts placed it
  };
  void next_order(std::string& line, std::int64_t intended_ns, RoundTripStats& stats);
  void next_cancel(std::string& line, std::int64_t intended_ns, RoundTripStats& stats);
  void on_order_reply(std::string_view type, std::string_view line, std::string_view id, std::int64_t now_ns,
                      RoundTripStats& stats);
  void forget(std::string_view id);

  bool pings_;
  std::string account_, prefix_;
  std::mt19937_64 rng_;
  std::uint64_t next_id_ = 0;
  std::size_t in_flight_ = 0;
  std::deque<std::int64_t> ping_times_;
  std::unordered_map<std::string, Pending> orders_;  // by id: sent and not terminal
  std::vector<std::string> live_;                    // acked resting orders (cancel candidates)
};

}  // namespace tradeshard::bench

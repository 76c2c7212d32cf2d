#include "flow.hpp"

#include <algorithm>

namespace tradeshard::bench {
namespace {

struct Symbol {
  const char* name;
  std::int64_t mid_ticks;  // at tick size 0.01
};
// Two of the default config's instruments; both have tick 0.01 and lot 0.00001.
constexpr Symbol kSymbols[] = {{"BTCUSDT", 5'000'000}, {"ETHUSDT", 300'000}};
constexpr std::size_t kMaxLive = 256;  // above this a connection cancels before adding more
// Each connection trades for a few accounts, so its own orders cross without self-trade prevention
// cancelling them: fills happen even on a single connection.
constexpr unsigned kAccounts = 4;

void count(std::map<std::string, std::uint64_t>& m, std::string_view key) {
  ++m[std::string(key.empty() ? std::string_view("?") : key)];
}

}  // namespace

std::string_view json_string_field(std::string_view line, std::string_view key) {
  std::size_t pos = 0;
  for (;;) {
    pos = line.find(key, pos);
    if (pos == std::string_view::npos) return {};
    const std::size_t after = pos + key.size();
    // Match "key":" exactly, so "id" does not match inside "trade_id".
    if (pos > 0 && line[pos - 1] == '"' && line.substr(after, 3) == "\":\"") {
      const std::size_t start = after + 3;
      const std::size_t end = line.find('"', start);
      return end == std::string_view::npos ? std::string_view{} : line.substr(start, end - start);
    }
    pos = after;
  }
}

std::string format_fixed(std::int64_t value, int decimals) {
  const bool neg = value < 0;
  std::string digits = std::to_string(neg ? -value : value);
  if (decimals > 0) {
    if (digits.size() <= static_cast<std::size_t>(decimals)) digits.insert(0, static_cast<std::size_t>(decimals) + 1 - digits.size(), '0');
    digits.insert(digits.size() - static_cast<std::size_t>(decimals), 1, '.');
  }
  if (neg) digits.insert(digits.begin(), '-');
  return digits;
}

RequestFlow::RequestFlow(bool pings, int connection, std::uint64_t seed)
    : pings_(pings),
      account_(std::string("bench-").append(std::to_string(connection))),
      prefix_(std::string("b").append(std::to_string(connection)).append("-")),
      rng_(seed * 1000003 + static_cast<std::uint64_t>(connection)) {}

void RequestFlow::next(std::string& line, std::int64_t intended_ns, RoundTripStats& stats) {
  ++in_flight_;
  if (pings_) {
    line.append(R"({"type":"ping"})");
    ping_times_.push_back(intended_ns);
    ++stats.pings_sent;
    return;
  }
  const auto roll = rng_() % 100;
  // 60% limit, 15% market, 25% cancel of one of this connection's resting orders (when it has one).
  if ((roll >= 75 && !live_.empty()) || live_.size() >= kMaxLive) next_cancel(line, intended_ns, stats);
  else next_order(line, intended_ns, stats);
}

void RequestFlow::next_order(std::string& line, std::int64_t intended_ns, RoundTripStats& stats) {
  const Symbol& sym = kSymbols[rng_() % std::size(kSymbols)];
  const bool buy = (rng_() & 1) != 0;
  const bool market = rng_() % 100 < 20;
  // Limit prices spread +-10 ticks around a mid shared by every connection, so buys of one
  // client often cross sells of another.
  const auto offset = static_cast<std::int64_t>(rng_() % 21) - 10;
  const auto lots = static_cast<std::int64_t>(100 + rng_() % 1901);
  const auto account = static_cast<unsigned>(rng_() % kAccounts);
  std::string id = prefix_ + std::to_string(++next_id_);
  line.append(R"({"type":"order","id":")").append(id);
  line.append(R"(","account":")").append(account_).append("-").append(std::to_string(account));
  line.append(R"(","symbol":")").append(sym.name);
  line.append(buy ? R"(","side":"buy")" : R"(","side":"sell")");
  if (market) {
    line.append(R"(,"kind":"market","qty":")").append(format_fixed(lots, 5)).append(R"(","tif":"ioc"})");
  } else {
    line.append(R"(,"kind":"limit","price":")").append(format_fixed(sym.mid_ticks + offset, 2));
    line.append(R"(","qty":")").append(format_fixed(lots, 5)).append(R"(","tif":"gtc"})");
  }
  orders_.emplace(std::move(id), Pending{intended_ns, false, false, -1, account});
  ++stats.orders_sent;
}

void RequestFlow::next_cancel(std::string& line, std::int64_t intended_ns, RoundTripStats& stats) {
  const std::size_t pick = static_cast<std::size_t>(rng_() % live_.size());
  std::swap(live_[pick], live_.back());
  const std::string id = std::move(live_.back());
  live_.pop_back();
  Pending& p = orders_[id];
  line.append(R"({"type":"cancel","id":")").append(id);
  line.append(R"(","account":")").append(account_).append("-").append(std::to_string(p.account)).append(R"("})");
  p.cancel_ns = intended_ns;
  ++stats.cancels_sent;
}

void RequestFlow::forget(std::string_view id) {
  orders_.erase(std::string(id));
  const auto it = std::find(live_.begin(), live_.end(), id);
  if (it != live_.end()) {
    std::swap(*it, live_.back());
    live_.pop_back();
  }
}

void RequestFlow::on_reply(std::string_view line, std::int64_t now_ns, RoundTripStats& stats) {
  const auto type = json_string_field(line, "type");
  if (type == "pong" || (pings_ && type == "ping")) {
    if (ping_times_.empty()) {
      ++stats.unmatched;
      return;
    }
    stats.ack.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - ping_times_.front())));
    ping_times_.pop_front();
    --in_flight_;
    ++(type == "pong" ? stats.pongs : stats.echoes);
    return;
  }
  if (type == "error") {
    ++stats.errors;
    count(stats.error_codes, json_string_field(line, "error"));
    return;
  }
  const auto id = json_string_field(line, "id");
  if (pings_ || id.empty() || orders_.find(std::string(id)) == orders_.end()) {
    ++stats.unmatched;
    return;
  }
  on_order_reply(type, line, id, now_ns, stats);
}

void RequestFlow::on_order_reply(std::string_view type, std::string_view line, std::string_view id,
                                 std::int64_t now_ns, RoundTripStats& stats) {
  Pending& p = orders_.find(std::string(id))->second;
  auto since = [now_ns](std::int64_t t) { return static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - t)); };
  if (p.cancel_ns >= 0 && (type == "done" || type == "reject" || type == "cancel")) {
    // The answer to the cancel (a cancelled order's done, unknown_order, or the echo).
    stats.cancel.record(since(p.cancel_ns));
    --in_flight_;
    if (type == "reject") {
      ++stats.rejects;
      count(stats.reject_reasons, json_string_field(line, "reason"));
    } else {
      ++(type == "done" ? stats.done : stats.echoes);
    }
    forget(id);
    return;
  }
  if (!p.answered) {
    p.answered = true;
    --in_flight_;
    stats.ack.record(since(p.intended_ns));
  }
  if (type == "ack") {
    ++stats.acks;
    live_.emplace_back(id);
  } else if (type == "order") {
    ++stats.echoes;  // the echo baseline: the round trip is complete and nothing rests
    forget(id);
  } else if (type == "reject") {
    ++stats.rejects;
    count(stats.reject_reasons, json_string_field(line, "reason"));
    forget(id);
  } else if (type == "fill") {
    ++stats.fills;
    if (!p.filled && json_string_field(line, "liquidity") == "taker") {
      p.filled = true;
      stats.fill.record(since(p.intended_ns));
    }
  } else if (type == "done") {
    ++stats.done;
    forget(id);
  }
}

void RequestFlow::expire(RoundTripStats& stats) {
  stats.timeouts += in_flight_;
  in_flight_ = 0;
  ping_times_.clear();
  orders_.clear();
  live_.clear();
}

}  // namespace tradeshard::bench

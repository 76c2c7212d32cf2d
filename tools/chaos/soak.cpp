// --soak: N chaos connections cycling through hostile behaviours while orders and ticks stream,
// a canary measures ping -> pong, and the daemon's resting orders, fds and RSS are checked after.
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "chaos.hpp"

namespace tradeshard::chaos {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

enum class B { subscribe_read, stall_limit, stall_resume, reconnect, half_close, garbage, invalid_json, oversize, abrupt };
constexpr std::array kAll = {B::subscribe_read, B::stall_limit, B::stall_resume, B::reconnect, B::half_close,
                             B::garbage,        B::invalid_json, B::oversize,    B::abrupt};
constexpr std::array<int, 9> kWeights = {3, 1, 2, 2, 2, 1, 1, 1, 2};

const char* name(B b) {
  switch (b) {
    case B::subscribe_read: return "subscribe_read";
    case B::stall_limit: return "stall_to_limit";
    case B::stall_resume: return "stall_resume";
    case B::reconnect: return "reconnect";
    case B::half_close: return "half_close";
    case B::garbage: return "garbage";
    case B::invalid_json: return "invalid_json";
    case B::oversize: return "oversize";
    case B::abrupt: return "abrupt_rst";
  }
  return "?";
}

struct BStats {
  std::uint64_t episodes = 0, tcp = 0, ws = 0, connect_failed = 0, closed_by_daemon = 0, checks_passed = 0;
};

const std::array<const char*, 4> kSymbols = {"BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT"};
const std::array<double, 4> kMids = {50000, 3000, 600, 150};
constexpr const char* kBurstSymbol = "CHAOSBURST";  // not an instrument: market data only

class Soak;

// One chaos slot: runs episodes back to back, one connection at a time, until the soak ends.
class Slot {
 public:
  Slot(Soak& s, int idx, std::uint64_t seed);
  void start(milliseconds delay);
  void stop();
  [[nodiscard]] bool has_live_conn() const { return c_ && !c_->closed(); }

 private:
  void begin();
  void opened();
  void on_msg(std::string_view m);
  void on_closed();
  void end_episode();
  void after(milliseconds d, void (Slot::*fn)());
  void expect_pong_within(milliseconds d);
  void check_failed(const std::string& what);
  void check_passed();
  void resume();
  void drain_then_close();
  void close_now();
  void uncount_stall();
  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  std::string random_channels();

  Soak& s_;
  int idx_;
  std::mt19937_64 rng_;
  asio::steady_timer timer_;
  std::shared_ptr<Conn> c_;
  std::uint64_t gen_ = 0;
  B b_ = B::subscribe_read;
  bool ws_ = false;
  bool stall_counted_ = false, burst_counted_ = false;
  int pings_ = 0, pongs_ = 0, reconnects_left_ = 0;
  std::size_t unsent_at_timeout_ = 0;
  bool awaiting_pong_ = false, saw_too_large_ = false, resolved_ = false;
};

class OrderStream {
 public:
  OrderStream(Soak& s, std::string account, bool ws, std::uint64_t seed);
  bool open(std::string& error);
  void start();
  void stop_sending() { sending_ = false; }
  void close() { if (c_) c_->close(); }
  [[nodiscard]] std::uint64_t unanswered() const { return pending_.size(); }
  [[nodiscard]] std::string some_unanswered() const {
    std::string out;
    for (const auto& id : pending_) {
      if (out.size() > 200) break;
      out += (out.empty() ? "" : " ") + id;
    }
    return out;
  }
  [[nodiscard]] bool closed() const { return !c_ || c_->closed(); }
  [[nodiscard]] json to_json() const {
    return {{"account", account_}, {"transport", ws_ ? "ws" : "tcp"}, {"sent", sent_}, {"acks", acks_},
            {"rejects", rejects_}, {"fills", fills_}, {"dones", dones_}, {"errors", errors_},
            {"first_reply_not_ack", out_of_order_}};
  }
  std::uint64_t fills_ = 0;

 private:
  void tick();
  Soak& s_;
  std::string account_;
  bool ws_;
  std::mt19937_64 rng_;
  std::shared_ptr<Conn> c_;
  asio::steady_timer timer_;
  bool sending_ = false, cancel_all_due_ = false;
  double carry_ = 0;
  std::uint64_t sent_ = 0, acks_ = 0, rejects_ = 0, dones_ = 0, errors_ = 0;
  std::set<std::string> pending_;  // ids sent and not yet acked or rejected
 public:
  std::uint64_t out_of_order_ = 0;  // orders whose first reply was a fill or done, not ack / reject
  std::string out_of_order_sample_;
};

class TickStream {
 public:
  TickStream(Soak& s, std::uint64_t seed);
  bool open(std::string& error);
  void start();
  void stop_sending() { sending_ = false; }
  void close() { if (c_) c_->close(); }
  [[nodiscard]] bool closed() const { return !c_ || c_->closed(); }
  std::uint64_t sent_ = 0, errors_ = 0, burst_sent_ = 0;

 private:
  void tick();
  Soak& s_;
  double burst_carry_ = 0;
  std::mt19937_64 rng_;
  std::shared_ptr<Conn> c_;
  asio::steady_timer timer_;
  bool sending_ = false;
  double carry_ = 0;
  std::array<double, 4> mid_ = kMids;
};

class Soak {
 public:
  explicit Soak(const Options& o) : o_(o), canary_(o), monitor_(io_), rng_(o.seed) {}
  int run();

  asio::io_context io_;
  const Options& o_;
  bool ending_ = false, died_ = false;
  std::uint64_t live_chaos_ = 0, stalled_now_ = 0, conn_seq_ = 0, burst_subscribers_ = 0;
  std::array<BStats, 9> stats_{};
  std::map<std::string, std::uint64_t> errors_seen_;  // daemon "error" codes received by chaos connections
  std::uint64_t check_failures_ = 0;
  std::vector<std::string> failure_samples_;
  std::string flood_;  // one large unsubscribe of channels nobody has: its `subscribed` reply is as large
  std::size_t max_stalled_ = 1;
  std::array<int, 9> weights_ = kWeights;
  std::uint64_t peak_rss_kib_ = 0;

  void fail(const std::string& what) {
    ++check_failures_;
    if (failure_samples_.size() < 20) failure_samples_.push_back(what);
  }
  void note_error(std::string_view m) {
    const auto k = m.find("\"error\":\"");
    if (k == std::string_view::npos) return;
    const auto e = m.find('"', k + 9);
    ++errors_seen_[std::string(m.substr(k + 9, e == std::string_view::npos ? 0 : e - k - 9))];
  }

 private:
  json snapshot(std::string& error);
  void monitor();
  Canary canary_;
  asio::steady_timer monitor_;
  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------------
Slot::Slot(Soak& s, int idx, std::uint64_t seed) : s_(s), idx_(idx), rng_(seed), timer_(s.io_) {}

void Slot::uncount_stall() {
  if (stall_counted_) --s_.stalled_now_;
  stall_counted_ = false;
  if (burst_counted_) --s_.burst_subscribers_;
  burst_counted_ = false;
}

void Slot::start(milliseconds delay) { after(delay, &Slot::begin); }

void Slot::after(milliseconds d, void (Slot::*fn)()) {
  timer_.expires_after(d);
  timer_.async_wait([this, fn, gen = gen_](const boost::system::error_code& ec) {
    if (!ec && gen == gen_) (this->*fn)();
  });
}

std::string Slot::random_channels() {
  std::string list = "[";
  const int n = uniform(1, 4);
  for (int i = 0; i < n; ++i) {
    const char* sym = kSymbols[static_cast<std::size_t>(uniform(0, 3))];
    std::string ch;
    switch (uniform(0, 3)) {
      case 0: ch = std::string("quotes:") + sym; break;
      case 1: ch = std::string("trades:") + sym; break;
      case 2: ch = "signals"; break;
      default: ch = std::string("bars:") + sym + ":1s"; break;
    }
    list += (i ? ",\"" : "\"") + ch + "\"";
  }
  return R"({"type":"subscribe","channels":)" + list + "]}";
}

void Slot::begin() {
  if (s_.ending_) return;
  if (reconnects_left_ <= 0) {
    std::discrete_distribution<int> pick(s_.weights_.begin(), s_.weights_.end());
    b_ = kAll[static_cast<std::size_t>(pick(rng_))];
    if (b_ == B::stall_limit && s_.stalled_now_ >= s_.max_stalled_) b_ = B::subscribe_read;
    if (b_ == B::reconnect) reconnects_left_ = 3;
    ws_ = uniform(0, 1) == 1;
  }
  ++gen_;
  pings_ = pongs_ = 0;
  awaiting_pong_ = saw_too_large_ = resolved_ = stall_counted_ = false;
  auto& st = s_.stats_[static_cast<std::size_t>(b_)];
  ++st.episodes;
  ++(ws_ ? st.ws : st.tcp);
  ConnOptions co;
  co.websocket = ws_;
  co.source = source_address(s_.o_, ++s_.conn_seq_);
  if (b_ == B::stall_limit || b_ == B::stall_resume) co.rcvbuf = 4096;
  c_ = std::make_shared<Conn>(s_.io_, co);
  ++s_.live_chaos_;
  if (b_ == B::stall_limit || b_ == B::stall_resume) c_->set_reading(false);
  if (b_ == B::stall_limit) {
    ++s_.stalled_now_;
    stall_counted_ = true;
  }
  Conn* raw = c_.get();
  const auto gen = gen_;
  c_->on_message = [this, raw](std::string_view m) {
    if (raw == c_.get()) on_msg(m);
  };
  c_->on_close = [this, raw, gen](const std::string&) {
    --s_.live_chaos_;
    if (raw == c_.get() && gen == gen_) on_closed();
  };
  c_->connect(s_.o_.target, [this, raw, gen](bool ok, const std::string&) {
    if (raw != c_.get() || gen != gen_) return;
    if (!ok) {
      ++s_.stats_[static_cast<std::size_t>(b_)].connect_failed;
      reconnects_left_ = 0;
      return end_episode();
    }
    opened();
  });
}

void Slot::opened() {
  Conn& c = *c_;
  switch (b_) {
    case B::subscribe_read:
      c.send(random_channels());
      c.send(R"({"type":"ping"})");
      after(milliseconds(uniform(300, 3000)), &Slot::close_now);
      break;
    case B::stall_limit: {
      std::string all = R"({"type":"subscribe","channels":["signals")";
      for (const char* sym : kSymbols) all += std::string(",\"quotes:") + sym + "\",\"trades:" + sym + "\"";
      // Three ways past limits.outbound_queue_bytes: large replies left unread (the reply path:
      // more than the limit plus any socket buffer), a burst of quotes (the publication path: the
      // tick stream sends --burst-rate ticks/s of a symbol only these connections subscribe to while
      // one of them is stalled), or only the steady quotes (slow; it may end before the limit).
      const int variant = uniform(0, 2);
      if (variant == 1 && s_.o_.burst_rate > 0) {
        all += ",\"quotes:" + std::string(kBurstSymbol) + "\"";
        ++s_.burst_subscribers_;
        burst_counted_ = true;
      }
      c.send(all + "]}");
      if (variant == 0) {
        const std::size_t target = s_.o_.outbound_queue_bytes + (8u << 20);
        for (std::size_t sent = 0; sent < target; sent += s_.flood_.size()) c.send(s_.flood_);
      }
      // Then read: a connection the daemon dropped shows its end only once the bytes before it are read.
      after(milliseconds(uniform(3000, 8000)), &Slot::drain_then_close);
      break;
    }
    case B::stall_resume:
      c.send(random_channels());
      c.send(R"({"type":"subscribe","channels":["quotes:BTCUSDT","quotes:ETHUSDT","trades:BTCUSDT"]})");
      after(milliseconds(uniform(500, 3000)), &Slot::resume);
      break;
    case B::reconnect:
      --reconnects_left_;
      c.send(random_channels());
      c.send(R"({"type":"ping"})");
      awaiting_pong_ = true;
      after(milliseconds(10000), &Slot::close_now);
      break;
    case B::half_close: {
      c.send(random_channels());
      pings_ = uniform(5, 30);
      for (int i = 0; i < pings_; ++i) {
        c.send(R"({"type":"ping"})");
        if (i == 2) c.send(R"({"type":"order","id":"hc-1","symbol":"NOPE","side":"buy","price":"1","qty":"1"})");
      }
      c.half_close();
      after(milliseconds(10000), &Slot::close_now);  // the daemon must close it before this
      break;
    }
    case B::garbage: {
      std::string junk(static_cast<std::size_t>(uniform(1, 4096)), '\0');
      for (auto& ch : junk) {
        ch = static_cast<char>(uniform(0, 255));
        if (ch == '\n') ch = '\x01';
      }
      if (ws_) {
        c.send_raw(junk);  // under the framing: the daemon must drop the connection, not hang
        after(milliseconds(5000), &Slot::close_now);
      } else {
        c.send_raw(junk + "\n");
        c.send(R"({"type":"ping"})");
        expect_pong_within(milliseconds(10000));
      }
      break;
    }
    case B::invalid_json: {
      static const std::array<const char*, 9> bad = {
          R"({"type":"order",)",  "[1,2,3]", R"({"type":"ping"}})", "NaN", R"({"type":"tick","symbol":"BTCUSDT","bid":Infinity})",
          R"({"type":"nope"})", R"({"type":"order","id":"x"})", R"({"type":"subscribe","channels":["book:BTCUSDT"]})",
          R"({"type":"cancel","id":""})"};
      for (const char* m : bad) c.send(m);
      if (ws_) c.send_binary(R"({"type":"ping"})");  // a binary frame is bad_json
      else c.send_raw("\xff\xfe{\"type\":\"ping\"}\n");  // invalid UTF-8
      c.send(R"({"type":"ping"})");
      expect_pong_within(milliseconds(10000));
      break;
    }
    case B::oversize: {
      std::string big = R"({"type":"ping","pad":")" + std::string(s_.o_.max_line_bytes + 1024, 'x') + "\"}";
      c.send(big);
      if (ws_) {
        after(milliseconds(10000), &Slot::close_now);  // the daemon closes with 1009
      } else {
        c.send(R"({"type":"ping"})");
        expect_pong_within(milliseconds(10000));
      }
      break;
    }
    case B::abrupt: {
      c.send(random_channels());
      const std::string id = "ab-" + std::to_string(idx_) + "-" + std::to_string(gen_);
      c.send(R"({"type":"order","id":")" + id + R"(","account":"chaos-rst","symbol":"BTCUSDT","side":"buy","price":"100.00","qty":"0.001"})");
      for (int i = uniform(0, 20); i > 0; --i) c.send(R"({"type":"ping"})");
      if (uniform(0, 1)) c.send(s_.flood_);
      timer_.expires_after(milliseconds(uniform(0, 300)));
      timer_.async_wait([this, gen = gen_](const boost::system::error_code& ec) {
        if (ec || gen != gen_ || !c_) return;
        c_->reset();
      });
      break;
    }
  }
}

void Slot::expect_pong_within(milliseconds d) {
  awaiting_pong_ = true;
  timer_.expires_after(d);
  timer_.async_wait([this, gen = gen_](const boost::system::error_code& ec) {
    if (ec || gen != gen_ || resolved_ || s_.ending_) return;
    check_failed("no pong within 10 s after the bad input");
    close_now();
  });
}

void Slot::check_failed(const std::string& what) {
  resolved_ = true;
  s_.fail(std::string(name(b_)) + (ws_ ? " (ws): " : " (tcp): ") + what);
}

void Slot::check_passed() {
  resolved_ = true;
  ++s_.stats_[static_cast<std::size_t>(b_)].checks_passed;
}

void Slot::drain_then_close() {
  if (burst_counted_) --s_.burst_subscribers_;
  burst_counted_ = false;
  if (c_) c_->set_reading(true);
  after(milliseconds(3000), &Slot::close_now);
}

void Slot::resume() {
  if (c_) c_->set_reading(true);
  after(milliseconds(uniform(500, 2000)), &Slot::close_now);
}

void Slot::close_now() {
  if (!c_ || c_->closed()) return end_episode();
  unsent_at_timeout_ = c_->queued_bytes();
  // Most go gracefully (TCP close / WebSocket close frame); a fifth with an RST.
  if (uniform(0, 4) == 0) c_->reset();
  else c_->close();
}

void Slot::on_msg(std::string_view m) {
  const std::string type = type_of(m);
  if (type == "error") {
    s_.note_error(m);
    if (m.find("too_large") != std::string_view::npos) saw_too_large_ = true;
    return;
  }
  if (type != "pong") return;
  ++pongs_;
  if (!awaiting_pong_ || resolved_) return;
  if (b_ == B::reconnect) {
    resolved_ = true;
    close_now();
    return;
  }
  if (b_ == B::oversize && !saw_too_large_) {
    check_failed("pong without a too_large error first");
  } else {
    check_passed();
  }
  after(milliseconds(uniform(0, 500)), &Slot::close_now);
}

void Slot::on_closed() {
  auto& st = s_.stats_[static_cast<std::size_t>(b_)];
  const bool peer = c_->closed_by_peer();
  if (peer) ++st.closed_by_daemon;
  if (!s_.ending_ && !s_.died_) {
    switch (b_) {
      case B::half_close:
        if (ws_) break;
        if (!peer) check_failed("the daemon did not close the half-closed connection within 10 s");
        else if (pongs_ < pings_) check_failed("got " + std::to_string(pongs_) + " of " + std::to_string(pings_) + " pongs after half-close");
        else check_passed();
        break;
      case B::garbage:
      case B::oversize:
        if (ws_) {
          if (peer) check_passed();
          else check_failed("the daemon kept the connection 10 s after " + std::string(b_ == B::garbage ? "garbage bytes" : "an oversize frame") +
                            " (client: " + std::to_string(c_->messages_in()) + " messages in, " + std::to_string(unsent_at_timeout_) +
                            " bytes still unsent at the timeout; closed: " + c_->close_reason() + ")");
        } else if (!resolved_ && peer && !(b_ == B::oversize && saw_too_large_)) {
          check_failed("closed by the daemon (" + c_->close_reason() + ") before the pong");
        } else if (!resolved_ && peer) {
          check_passed();  // limits.oversize = "close": too_large, then close
        }
        break;
      case B::invalid_json:
        if (!resolved_ && peer) check_failed("closed by the daemon (" + c_->close_reason() + ") before the pong");
        break;
      case B::stall_limit:
        if (peer) check_passed();  // disconnected as a slow consumer, as documented
        break;
      default:
        break;
    }
  }
  end_episode();
}

void Slot::end_episode() {
  ++gen_;
  uncount_stall();
  timer_.cancel();
  if (c_ && !c_->closed()) c_->close();
  if (s_.ending_) return;
  after(milliseconds(reconnects_left_ > 0 ? 0 : uniform(10, 200)), &Slot::begin);
}

void Slot::stop() {
  ++gen_;
  uncount_stall();
  timer_.cancel();
  reconnects_left_ = 0;
  if (!c_ || c_->closed()) return;
  if (uniform(0, 1)) c_->reset();
  else c_->close();
}

// ---------------------------------------------------------------------------------------------
OrderStream::OrderStream(Soak& s, std::string account, bool ws, std::uint64_t seed)
    : s_(s), account_(std::move(account)), ws_(ws), rng_(seed), timer_(s.io_) {}

bool OrderStream::open(std::string& error) {
  ConnOptions co;
  co.websocket = ws_;
  c_ = std::make_shared<Conn>(s_.io_, co);
  c_->on_message = [this](std::string_view m) {
    const std::string t = type_of(m);
    if (t == "ack" || t == "reject" || t == "fill" || t == "done") {
      const auto k = m.find("\"id\":\"");
      const std::string id = k == std::string_view::npos ? "" : std::string(m.substr(k + 6, m.find('"', k + 6) - k - 6));
      const bool first = pending_.erase(id) > 0;
      if (t == "ack" || t == "reject") ++(t == "ack" ? acks_ : rejects_);
      else ++(t == "fill" ? fills_ : dones_);
      if (t != "ack" && t != "reject" && first) {
        // docs/protocol.md: ack (or reject), then fills, then done. A fill or done first breaks it.
        ++out_of_order_;
        if (out_of_order_sample_.empty()) out_of_order_sample_ = std::string(m);
      }
    } else if (t == "error") {
      ++errors_;
    }
  };
  return connect_blocking(s_.io_, *c_, s_.o_.target, error);
}

void OrderStream::start() {
  sending_ = true;
  timer_.expires_after(milliseconds(10));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void OrderStream::tick() {
  if (!sending_ || c_->closed()) return;
  // Every 500 orders a cancel_all keeps the books small; sent only once every order has its ack: a
  // cancel_all reaching an order still queued at its worker ends it with a `done` and no `ack`
  // (seen on 2026-12-06; docs/protocol.md promises ack, fills, done), which the stream would
  // report as a protocol violation.
  if (cancel_all_due_ && pending_.empty()) {
    c_->send(R"({"type":"cancel_all"})");
    cancel_all_due_ = false;
  }
  carry_ += s_.o_.order_rate / 2 / 100;  // two streams, 100 turns a second
  while (carry_ >= 1) {
    carry_ -= 1;
    const std::size_t sym = std::uniform_int_distribution<std::size_t>(0, 1)(rng_);
    const bool buy = std::uniform_int_distribution<int>(0, 1)(rng_) == 1;
    const double price = kMids[sym] + 0.01 * std::uniform_int_distribution<int>(-5, 5)(rng_);
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  R"({"type":"order","id":"%s-%llu","account":"%s","symbol":"%s","side":"%s","price":"%.2f","qty":"0.001"})",
                  account_.c_str(), static_cast<unsigned long long>(sent_), account_.c_str(), kSymbols[sym],
                  buy ? "buy" : "sell", price);
    c_->send(buf);
    pending_.insert(account_ + "-" + std::to_string(sent_));
    ++sent_;
    if (sent_ % 500 == 0) cancel_all_due_ = true;
  }
  timer_.expires_at(timer_.expiry() + milliseconds(10));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

TickStream::TickStream(Soak& s, std::uint64_t seed) : s_(s), rng_(seed), timer_(s.io_) {}

bool TickStream::open(std::string& error) {
  c_ = std::make_shared<Conn>(s_.io_, ConnOptions{});
  c_->on_message = [this](std::string_view m) {
    if (type_of(m) == "error") ++errors_;
  };
  return connect_blocking(s_.io_, *c_, s_.o_.target, error);
}

void TickStream::start() {
  sending_ = true;
  timer_.expires_after(milliseconds(10));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

void TickStream::tick() {
  if (!sending_ || c_->closed()) return;
  carry_ += s_.o_.tick_rate / 100;
  std::string batch;
  while (carry_ >= 1) {
    carry_ -= 1;
    const std::size_t i = static_cast<std::size_t>(sent_ % kSymbols.size());
    mid_[i] += 0.01 * std::uniform_int_distribution<int>(-3, 3)(rng_);
    if (mid_[i] < kMids[i] * 0.9 || mid_[i] > kMids[i] * 1.1) mid_[i] = kMids[i];
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  R"({"type":"tick","symbol":"%s","bid":"%.2f","ask":"%.2f","bid_size":"%d","ask_size":"%d"})",
                  kSymbols[i], mid_[i] - 0.01, mid_[i] + 0.01, std::uniform_int_distribution<int>(1, 9)(rng_),
                  std::uniform_int_distribution<int>(1, 9)(rng_));
    batch += buf;
    batch += '\n';
    ++sent_;
  }
  if (s_.burst_subscribers_ > 0 && c_->queued_bytes() < (1u << 20)) {
    burst_carry_ += s_.o_.burst_rate / 100;
    while (burst_carry_ >= 1) {
      burst_carry_ -= 1;
      char buf[160];
      std::snprintf(buf, sizeof buf,
                    R"({"type":"tick","symbol":"%s","bid":"%llu.01","ask":"%llu.02","bid_size":"1","ask_size":"1"})",
                    kBurstSymbol, static_cast<unsigned long long>(100 + burst_sent_ % 50),
                    static_cast<unsigned long long>(100 + burst_sent_ % 50));
      batch += buf;
      batch += '\n';
      ++burst_sent_;
    }
  }
  // The daemon reads ticks inside its read handler: when it falls behind, TCP pushes back and this
  // client's queue would grow without bound; past 1 MiB queued, this turn's ticks are dropped.
  if (!batch.empty() && c_->queued_bytes() < (1u << 20)) c_->send_raw(std::move(batch));
  timer_.expires_at(timer_.expiry() + milliseconds(10));
  timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) tick();
  });
}

// ---------------------------------------------------------------------------------------------
json Soak::snapshot(std::string& error) {
  json s = json::object();
  std::vector<std::string> paths = {"/orders/chaos-keeper", "/accounts/chaos-keeper"};
  for (const char* sym : {"BTCUSDT", "ETHUSDT", "SOLUSDT"}) paths.push_back(std::string("/book/") + sym + "?levels=50");
  for (const auto& p : paths) {
    const auto r = http_get(o_.target.host, o_.target.http_port, p);
    // A 404 is a state too (an account with no committed change yet): compared like the rest.
    if (r.status != 200 && r.status != 404) {
      error = "GET " + p + ": " + (r.status ? "HTTP " + std::to_string(r.status) + " " + r.body : r.error);
      return {};
    }
    s[p] = {{"status", r.status}, {"body", json::parse(r.body, nullptr, false)}};
  }
  return s;
}

void Soak::monitor() {
  if (!process_alive(o_.pid)) {
    died_ = true;
    io_.stop();
    return;
  }
  peak_rss_kib_ = std::max(peak_rss_kib_, rss_kib(o_.pid));
  monitor_.expires_after(milliseconds(200));
  monitor_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec) monitor();
  });
}

json stats_connections(const Options& o) {
  const auto r = http_get(o.target.host, o.target.http_port, "/stats");
  const auto j = json::parse(r.body, nullptr, false);
  if (r.status != 200 || j.is_discarded() || !j.contains("connections")) return json::object();
  return j["connections"];
}

int stats_connections_open(const Options& o) {
  const json c = stats_connections(o);
  return c.contains("open") ? c["open"].get<int>() : -1;
}

int Soak::run() {
  const pid_t pid = o_.pid;
  std::printf("tradeshard-chaos soak: %.0f s, %d chaos connections, target 127 tcp %u http %u, daemon pid %d\n",
              o_.soak_s, o_.connections, o_.target.tcp_port, o_.target.http_port, static_cast<int>(pid));
  std::printf("  nproc %ld, CPU %s; client and daemon share the machine\n", ::sysconf(_SC_NPROCESSORS_ONLN),
              cpu_model().c_str());
  const auto dn = nofile_limit(pid);
  std::printf("  daemon RLIMIT_NOFILE soft %lld hard %lld; client raised its soft limit to %lld\n", dn.soft, dn.hard,
              raise_own_nofile());
  if (!process_alive(pid)) throw std::runtime_error("daemon pid " + std::to_string(pid) + " is not running");
  // Baseline before any connection of ours (the /stats request's own connection included in both).
  const int fd0 = stable_fd_count(pid);
  const std::uint64_t rss0 = rss_kib(pid);
  const json conn0 = stats_connections(o_);
  const int open0 = conn0.value("open", -1);
  const std::uint64_t slow0 = conn0.value("slow_consumer_disconnects", std::uint64_t{0});
  std::printf("  baseline: RSS %s, open fds %d, connections.open %d\n", mib(rss0).c_str(), fd0, open0);
  if (fd0 < 0 || rss0 == 0) throw std::runtime_error("cannot read /proc/" + std::to_string(pid) + " (same user?)");

  // Resting orders with known ids on a connection that stays open (orders die with their connection).
  auto keeper = std::make_shared<Conn>(io_, ConnOptions{});
  std::map<std::string, std::string> keeper_replies;
  std::vector<std::string> keeper_unexpected;
  bool keeper_ready = false;
  keeper->on_message = [&](std::string_view m) {
    const std::string t = type_of(m);
    const auto k = m.find("\"id\":\"");
    std::string id = k == std::string_view::npos ? "" : std::string(m.substr(k + 6, m.find('"', k + 6) - k - 6));
    if (!keeper_ready) keeper_replies[id] = t;
    else if (keeper_unexpected.size() < 10) keeper_unexpected.emplace_back(m);
  };
  int kstate = 0;
  std::string error;
  keeper->connect(o_.target, [&](bool ok, const std::string& e) {
    kstate = ok ? 1 : 2;
    error = e;
  });
  run_until(io_, [&] { return kstate != 0; }, milliseconds(5000));
  if (kstate != 1) throw std::runtime_error("keeper connection: " + error);
  const std::vector<std::string> resting = {
      R"({"type":"order","id":"k-1","account":"chaos-keeper","symbol":"BTCUSDT","side":"buy","price":"1000.00","qty":"0.5"})",
      R"({"type":"order","id":"k-2","account":"chaos-keeper","symbol":"BTCUSDT","side":"sell","price":"900000.00","qty":"0.25"})",
      R"({"type":"order","id":"k-3","account":"chaos-keeper","symbol":"ETHUSDT","side":"buy","price":"100.00","qty":"2"})",
      R"({"type":"order","id":"k-4","account":"chaos-keeper","symbol":"ETHUSDT","side":"sell","price":"90000.00","qty":"1.5"})",
      R"({"type":"order","id":"k-5","account":"chaos-keeper","symbol":"SOLUSDT","side":"buy","price":"1.00","qty":"10"})"};
  for (const auto& m : resting) keeper->send(m);
  run_until(io_, [&] { return keeper_replies.size() >= resting.size(); }, milliseconds(5000));
  for (int i = 1; i <= 5; ++i) {
    const std::string id = "k-" + std::to_string(i);
    if (keeper_replies[id] != "ack") throw std::runtime_error("resting order " + id + " not acked (got \"" + keeper_replies[id] + "\")");
  }
  keeper_ready = true;
  const json before = snapshot(error);
  if (before.empty()) throw std::runtime_error(error);
  std::printf("  5 resting orders acked for chaos-keeper; books, orders and account read over HTTP\n");

  // Streams, canary, then the chaos slots (starts spread over the first second).
  OrderStream buyer(*this, "chaos-a", false, o_.seed + 1), seller(*this, "chaos-b", true, o_.seed + 2);
  TickStream ticks(*this, o_.seed + 3);
  if (!buyer.open(error) || !seller.open(error) || !ticks.open(error) || !canary_.open(error)) {
    throw std::runtime_error("stream connection: " + error);
  }
  {
    std::string f = R"({"type":"unsubscribe","channels":[)";
    // The daemon takes at most 64 channels per message; names of 32 characters make the reply ~2.7 KB.
    const std::size_t want = std::min<std::size_t>(3000, o_.max_line_bytes / 2);
    for (int i = 0; i < 64 && f.size() + 45 < want; ++i) {
      char ch[64];
      std::snprintf(ch, sizeof ch, "%s\"quotes:ZZ%030d\"", i ? "," : "", i);
      f += ch;
    }
    flood_ = f + "]}";
  }
  max_stalled_ = std::max<std::size_t>(1, static_cast<std::size_t>(o_.connections) / 25);
  for (const auto& skip : o_.skip) {
    bool known = false;
    for (std::size_t i = 0; i < kAll.size(); ++i) {
      if (skip == name(kAll[i])) {
        weights_[i] = 0;
        known = true;
      }
    }
    if (!known) throw std::runtime_error("--skip: unknown behaviour \"" + skip + "\"");
  }
  if (weights_[static_cast<std::size_t>(B::stall_limit)] == 0) max_stalled_ = 0;
  if (std::all_of(weights_.begin(), weights_.end(), [](int w) { return w == 0; })) throw std::runtime_error("--skip leaves no behaviour");
  std::vector<std::unique_ptr<Slot>> slots;
  for (int i = 0; i < o_.connections; ++i) slots.push_back(std::make_unique<Slot>(*this, i, o_.seed * 1000003 + static_cast<std::uint64_t>(i)));
  // The canary alone first (same run, same machine load): the floor its soak figures compare with.
  canary_.start();
  run_until(io_, [] { return false; }, milliseconds(2000));
  const std::size_t canary_idle_n = canary_.pongs();
  const std::string load_before = load_average();
  buyer.start();
  seller.start();
  ticks.start();
  monitor();
  const auto t0 = Clock::now();
  std::uint64_t peak_live = 0;
  // One chaos phase: every slot runs episodes for `secs`, then all close and the phase waits for them.
  const auto phase = [&](double secs, const char* label) {
    const auto start = Clock::now();
    ending_ = false;
    for (int i = 0; i < o_.connections; ++i) slots[static_cast<std::size_t>(i)]->start(milliseconds(i * 1000 / o_.connections));
    const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(secs));
    auto next_report = start + std::chrono::seconds(10);
    run_until(io_, [&] {
      peak_live = std::max(peak_live, live_chaos_);
      if (Clock::now() >= next_report) {
        next_report += std::chrono::seconds(10);
        std::printf("  %s t=%3.0f s: %llu chaos connections open, %llu stalled to the limit, canary %zu pongs, RSS %s\n",
                    label, std::chrono::duration<double>(Clock::now() - start).count(),
                    static_cast<unsigned long long>(live_chaos_), static_cast<unsigned long long>(stalled_now_),
                    canary_.pongs(), mib(rss_kib(pid)).c_str());
        std::fflush(stdout);
      }
      return Clock::now() >= end || died_;
    }, std::chrono::duration_cast<milliseconds>(end - start) + milliseconds(1000));
    ending_ = true;
    for (auto& s : slots) s->stop();
    run_until(io_, [&] { return died_ || live_chaos_ == 0; }, milliseconds(10000));
  };
  // Warm-up: the same chaos, shorter, before the RSS reference is taken. The first connections
  // grow the allocator's pools and caches, which glibc keeps (measured: a fresh daemon's 8 MiB
  // becomes 40-80 MiB after its first seconds of chaos and stays there through further runs);
  // what must not happen is growth beyond that from one soak to the next.
  std::uint64_t rss_warm = rss0;
  if (o_.warmup_s > 0) {
    phase(o_.warmup_s, "warm-up");
    run_until(io_, [] { return false; }, milliseconds(1000));
    rss_warm = rss_kib(pid);
    if (!died_) std::printf("  warm-up %.0f s done: RSS %s\n", o_.warmup_s, mib(rss_warm).c_str());
    stats_ = {};
    errors_seen_.clear();
    peak_live = 0;
  }
  const std::size_t canary_soak_from = canary_.pongs();
  // Rounds: the same soak again on the same daemon. Its RSS after each round (chaos connections all
  // closed, 1 s settle) must not keep growing: a leak grows every round, a high-water mark does not.
  std::vector<std::uint64_t> rss_rounds;
  for (int round = 1; round <= o_.rounds && !died_; ++round) {
    const std::string label = "soak " + std::to_string(round) + "/" + std::to_string(o_.rounds);
    phase(o_.soak_s, label.c_str());
    run_until(io_, [] { return false; }, milliseconds(1000));
    rss_rounds.push_back(rss_kib(pid));
    if (o_.rounds > 1) std::printf("  round %d done: RSS %s\n", round, mib(rss_rounds.back()).c_str());
  }

  // Wind down: order replies drain, streams and canary close.
  buyer.stop_sending();
  seller.stop_sending();
  ticks.stop_sending();
  run_until(io_, [&] { return died_ || (live_chaos_ == 0 && buyer.unanswered() == 0 && seller.unanswered() == 0); },
            milliseconds(10000));
  canary_.finish();
  const double canary_stuck_us = canary_.stuck_us();
  const std::uint64_t unanswered = buyer.unanswered() + seller.unanswered();
  const std::uint64_t live_left = live_chaos_;
  buyer.close();
  seller.close();
  ticks.close();
  run_until(io_, [&] { return died_ || (buyer.closed() && seller.closed() && ticks.closed()); }, milliseconds(3000));
  const double ran_s = std::chrono::duration<double>(Clock::now() - t0).count();

  std::vector<std::string> violations;
  if (died_ || !process_alive(pid)) {
    std::fprintf(stderr, "tradeshard-chaos: FAIL: the daemon (pid %d) died during the soak, %.1f s in\n",
                 static_cast<int>(pid), ran_s);
    if (!o_.json_path.empty()) {
      std::ofstream(o_.json_path) << json{{"mode", "soak"}, {"died", true}, {"after_s", ran_s}}.dump(2) << "\n";
    }
    if (!o_.daemon_log.empty()) {
      std::fprintf(stderr, "---- last lines of %s ----\n%s", o_.daemon_log.c_str(), tail_of_file(o_.daemon_log, 40).c_str());
    }
    return 1;
  }
  // Settle, then the acknowledged state must be exactly what it was.
  std::this_thread::sleep_for(milliseconds(500));
  const json after = snapshot(error);
  if (after.empty()) violations.push_back("after the soak: " + error);
  else if (after != before) {
    violations.push_back("resting orders / books / account of chaos-keeper changed:\n    before " + before.dump() +
                         "\n    after  " + after.dump());
  }
  run_until(io_, [] { return false; }, milliseconds(50));
  if (!keeper_unexpected.empty()) violations.push_back("chaos-keeper received messages during the soak, first: " + keeper_unexpected[0]);
  if (keeper->closed()) violations.push_back("chaos-keeper's connection was closed: " + keeper->close_reason());
  keeper->close();
  run_until(io_, [&] { return keeper->closed(); }, milliseconds(2000));

  // fds and connections back to the baseline (polled: the daemon closes its side asynchronously).
  int fd1 = -1, open1 = -1;
  const auto settle_end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o_.settle_s));
  for (;;) {
    fd1 = fd_count(pid);
    open1 = stats_connections_open(o_);
    if ((fd1 <= fd0 && open1 == open0) || Clock::now() >= settle_end) break;
    std::this_thread::sleep_for(milliseconds(200));
  }
  std::this_thread::sleep_for(milliseconds(300));
  const std::uint64_t rss1 = rss_kib(pid);
  const std::uint64_t slow_disconnects = stats_connections(o_).value("slow_consumer_disconnects", std::uint64_t{0}) - slow0;
  // Reference: the first round's RSS when there are several, else the one after the warm-up.
  const std::uint64_t rss_ref = rss_rounds.size() >= 2 ? rss_rounds.front() : rss_warm;
  const char* ref_name = rss_rounds.size() >= 2 ? "after round 1" : (o_.warmup_s > 0 ? "after the warm-up" : "at the start");
  const double slack_kib = std::max(o_.rss_slack_mib * 1024, o_.rss_slack_pct / 100 * static_cast<double>(rss_ref));

  Samples cs, idle;
  {
    const auto& all = canary_.samples().us;
    const auto cut = all.begin() + static_cast<std::ptrdiff_t>(std::min(canary_idle_n, all.size()));
    idle.us.assign(all.begin(), cut);
    cs.us.assign(all.begin() + static_cast<std::ptrdiff_t>(std::min(canary_soak_from, all.size())), all.end());
  }
  const std::string load_after = load_average();
  const double p50 = cs.percentile(0.5) / 1000, p99 = cs.percentile(0.99) / 1000, p999 = cs.percentile(0.999) / 1000;
  const double cmax = std::max(cs.max(), canary_stuck_us) / 1000;
  if (cs.us.empty()) violations.push_back("the canary got no pong at all");
  if (p99 > o_.canary_p99_ms) violations.push_back("canary ping -> pong p99 " + std::to_string(p99) + " ms over the bound " + std::to_string(o_.canary_p99_ms) + " ms");
  if (cmax > o_.canary_max_ms) violations.push_back("canary ping -> pong max " + std::to_string(cmax) + " ms over the bound " + std::to_string(o_.canary_max_ms) + " ms");
  if (canary_.closed_early()) violations.push_back("canary connection closed: " + canary_.close_reason());
  // More fds than before is a leak; fewer means the baseline caught a transient one (noted, not failed).
  if (fd1 > fd0) violations.push_back("open fds " + std::to_string(fd1) + " > baseline " + std::to_string(fd0) + " after " + std::to_string(o_.settle_s) + " s");
  if (fd1 < fd0) std::printf("note: open fds %d < baseline %d (a transient fd at the baseline)\n", fd1, fd0);
  if (open1 != open0) violations.push_back("/stats connections.open " + std::to_string(open1) + " != baseline " + std::to_string(open0));
  if (static_cast<double>(rss1) > static_cast<double>(rss_ref) + slack_kib) {
    violations.push_back("RSS " + mib(rss1) + " not back near " + mib(rss_ref) + " (" + ref_name + "), bound +" +
                         mib(static_cast<std::uint64_t>(slack_kib)));
  }
  if (buyer.out_of_order_ + seller.out_of_order_ > 0) {
    violations.push_back(std::to_string(buyer.out_of_order_ + seller.out_of_order_) +
                         " streamed orders got a fill or done before (without) their ack, first: " +
                         (buyer.out_of_order_sample_.empty() ? seller.out_of_order_sample_ : buyer.out_of_order_sample_));
  }
  if (unanswered > 0) {
    violations.push_back(std::to_string(unanswered) + " streamed orders got neither ack nor reject within 10 s: " +
                         buyer.some_unanswered() + " " + seller.some_unanswered());
  }
  if (live_left > 0) violations.push_back(std::to_string(live_left) + " chaos connections did not close within 10 s of the end");
  if (check_failures_ > 0) {
    std::string s = std::to_string(check_failures_) + " behaviour checks failed, first:";
    for (const auto& f : failure_samples_) s += "\n    " + f;
    violations.push_back(s);
  }
  if (buyer.fills_ + seller.fills_ == 0) violations.push_back("the order streams got no fill (nothing crossed?)");

  // Report.
  std::uint64_t episodes = 0;
  json per = json::object();
  std::printf("\nbehaviour          episodes   tcp    ws  connect_failed  closed_by_daemon  checks_passed\n");
  for (const B b : kAll) {
    const auto& st = stats_[static_cast<std::size_t>(b)];
    episodes += st.episodes;
    std::printf("%-16s %10llu %5llu %5llu %15llu %17llu %14llu\n", name(b), static_cast<unsigned long long>(st.episodes),
                static_cast<unsigned long long>(st.tcp), static_cast<unsigned long long>(st.ws),
                static_cast<unsigned long long>(st.connect_failed), static_cast<unsigned long long>(st.closed_by_daemon),
                static_cast<unsigned long long>(st.checks_passed));
    per[name(b)] = {{"episodes", st.episodes}, {"tcp", st.tcp}, {"ws", st.ws}, {"connect_failed", st.connect_failed},
                    {"closed_by_daemon", st.closed_by_daemon}, {"checks_passed", st.checks_passed}};
  }
  std::string errs;
  for (const auto& [k, v] : errors_seen_) errs += " " + k + "=" + std::to_string(v);
  std::printf("daemon errors seen by chaos connections:%s\n", errs.c_str());
  std::printf("streams: orders %llu+%llu sent, fills %llu, ticks %llu sent (+%llu burst ticks)\n",
              static_cast<unsigned long long>(buyer.to_json()["sent"].get<std::uint64_t>()),
              static_cast<unsigned long long>(seller.to_json()["sent"].get<std::uint64_t>()),
              static_cast<unsigned long long>(buyer.fills_ + seller.fills_), static_cast<unsigned long long>(ticks.sent_),
              static_cast<unsigned long long>(ticks.burst_sent_));
  std::printf("\n| soak figure | value |\n|---|---|\n");
  std::printf("| duration (after a %.0f s warm-up), chaos connections (peak open) | %d × %.0f s, %d (%llu) |\n", o_.warmup_s, o_.rounds, o_.soak_s, o_.connections,
              static_cast<unsigned long long>(peak_live));
  std::printf("| chaos episodes (connections opened) | %llu |\n", static_cast<unsigned long long>(episodes));
  std::printf("| canary ping → pong p50 / p99 / p99.9 / max | %.2f / %.2f / %.2f / %.2f ms (%zu pings; bound p99 ≤ %.0f ms, max ≤ %.0f ms) |\n",
              p50, p99, p999, cmax, cs.us.size(), o_.canary_p99_ms, o_.canary_max_ms);
  std::printf("| canary alone before the soak (same run): p50 / p99 / max | %.2f / %.2f / %.2f ms (%zu pings) |\n",
              idle.percentile(0.5) / 1000, idle.percentile(0.99) / 1000, idle.max() / 1000, idle.us.size());
  std::printf("| machine load average (1 min) before / after | %s / %s |\n", load_before.c_str(), load_after.c_str());
  std::string rounds_text;
  for (const auto r : rss_rounds) rounds_text += (rounds_text.empty() ? "" : " / ") + mib(r);
  std::printf("| daemon RSS start / after %.0f s warm-up / after each round / peak / at the end | %s / %s / %s / %s / %s (bound: %s + max(%.0f MiB, %.0f%%)) |\n",
              o_.warmup_s, mib(rss0).c_str(), mib(rss_warm).c_str(), rounds_text.c_str(), mib(peak_rss_kib_).c_str(),
              mib(rss1).c_str(), ref_name, o_.rss_slack_mib, o_.rss_slack_pct);
  std::printf("| daemon open fds start / after | %d / %d |\n", fd0, fd1);
  std::printf("| slow-consumer disconnects (daemon's /stats, warm-up included) / stall_to_limit episodes closed by it | %llu / %llu of %llu |\n",
              static_cast<unsigned long long>(slow_disconnects), static_cast<unsigned long long>(stats_[1].closed_by_daemon),
              static_cast<unsigned long long>(stats_[1].episodes));
  json report = {{"mode", "soak"}, {"seconds", o_.soak_s}, {"ran_s", ran_s}, {"connections", o_.connections},
                 {"peak_open", peak_live}, {"episodes", episodes}, {"behaviours", per}, {"errors_seen", errors_seen_},
                 {"canary", cs.to_json()}, {"canary_idle", idle.to_json()},
                 {"loadavg", {{"before", load_before}, {"after", load_after}}}, {"rss_kib", {{"start", rss0}, {"after_warmup", rss_warm}, {"after_rounds", rss_rounds}, {"peak", peak_rss_kib_}, {"after", rss1}}}, {"rounds", o_.rounds},
                 {"fds", {{"start", fd0}, {"after", fd1}}}, {"connections_open", {{"start", open0}, {"after", open1}}},
                 {"orders", {buyer.to_json(), seller.to_json()}}, {"ticks_sent", ticks.sent_}, {"burst_ticks_sent", ticks.burst_sent_},
                 {"slow_consumer_disconnects", slow_disconnects},
                 {"nproc", ::sysconf(_SC_NPROCESSORS_ONLN)}, {"cpu", cpu_model()}, {"skipped", o_.skip},
                 {"violations", violations}};
  if (!o_.json_path.empty()) std::ofstream(o_.json_path) << report.dump(2) << "\n";
  for (const auto& v : violations) std::fprintf(stderr, "tradeshard-chaos: FAIL: %s\n", v.c_str());
  if (!violations.empty()) return 1;
  std::printf("ok: daemon alive, canary within bounds, resting orders intact, fds and RSS back\n");
  return 0;
}

}  // namespace

int run_soak(const Options& o) {
  Soak s(o);
  return s.run();
}

}  // namespace tradeshard::chaos

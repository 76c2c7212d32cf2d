#pragma once
// The composition of the domain behind the wire: connections, sessions' accounts, channels,
// and (as they are wired) order routing, matching, tick processing and the ledger.
// Standard library only; owned and called by the loop thread alone.
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/app/channels.hpp"
#include "tradeshard/app/clock.hpp"
#include "tradeshard/app/config.hpp"
#include "tradeshard/app/histogram.hpp"
#include "tradeshard/app/ledger_service.hpp"
#include "tradeshard/app/messages.hpp"
#include "tradeshard/app/order_flow.hpp"
#include "tradeshard/app/outbox.hpp"
#include "tradeshard/app/tick_flow.hpp"
#include "tradeshard/app/trade_emitter.hpp"
#include "tradeshard/app/venue.hpp"
#include "tradeshard/core/instrument.hpp"

namespace tradeshard::app {

struct GatewayCounters {
  std::uint64_t commands_in[std::variant_size_v<Command>] = {};
  std::map<std::string, std::uint64_t, std::less<>> rejects;  // by reason
  std::map<std::string, std::uint64_t, std::less<>> errors;   // wire errors by code
};

class Gateway final : public Outbox, private VenueSink {
 public:
  // Orders execute in `venue`; without one, in an InProcessVenue built from the config.
  explicit Gateway(const Config& config, std::unique_ptr<Venue> venue = nullptr);
  ~Gateway() override;
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // A new client connection; the port must outlive the matching close().
  [[nodiscard]] std::uint64_t open(ClientPort& port);
  // Forgets the connection (subscriptions, cancel-on-disconnect). Called while the Gateway is
  // delivering to ports (from inside a ClientPort call), the port is detached at once and the
  // rest waits until that delivery returns: a publish never sees its subscriber list change.
  void close(std::uint64_t conn, Now now);
  void handle(std::uint64_t conn, const Command& command, Now now);
  void handle_error(std::uint64_t conn, const DecodeError& error);

  // Runs the venue's queued work; true while work remains (call again soon).
  bool pump(Now now);
  [[nodiscard]] bool has_pending_work() const { return venue_->has_queued(); }
  // Periodic load sample (partitioning.load_sample_ms): per-symbol order load and, when due, a
  // rebalance of books between workers.
  std::optional<RebalanceReport> sample_orders(std::int64_t now_ms, std::int64_t elapsed_ms) {
    const Delivering guard(*this);
    return orders_.sample_load(now_ms, elapsed_ms);
  }
  // Housekeeping after replica changes and on the periodic timer: held trades.
  void retry_held() {
    const Delivering guard(*this);
    emitter_.retry_held();
  }
  // Admin deposit or withdrawal, as one delivery: its change set is written at the release point
  // before this returns. Error text ("ledger_write_failed" when that write failed), or empty
  // and the new version.
  std::string transfer(std::string_view account, std::string_view currency, core::Decimal amount, bool deposit,
                       std::uint64_t& version);
  // Runs an admin action on the order path (add/drain/remove a worker, ...) as one delivery:
  // what it tells clients is released like any command's replies.
  template <class F>
  decltype(auto) manage_orders(F&& action) {
    const Delivering guard(*this);
    return action(orders_);
  }

  // Outbox.
  void send(std::uint64_t conn, const Outbound& message) override;
  void publish(std::string_view channel, const Outbound& message) override;
  [[nodiscard]] bool has_subscribers(std::string_view channel) const override;
  [[nodiscard]] std::uint64_t subscriptions_version() const override { return channels_.version(); }
  void count_reject(std::string_view reason) override;

  [[nodiscard]] LedgerService& ledger() noexcept { return ledger_; }
  [[nodiscard]] const LedgerService& ledger() const noexcept { return ledger_; }
  [[nodiscard]] TickFlow& ticks() noexcept { return ticks_; }
  [[nodiscard]] const TickFlow& ticks() const noexcept { return ticks_; }
  [[nodiscard]] const OrderFlow& orders() const noexcept { return orders_; }
  [[nodiscard]] const Venue& venue() const noexcept { return *venue_; }
  [[nodiscard]] const TradeEmitter& emitter() const noexcept { return emitter_; }
  [[nodiscard]] const core::InstrumentTable& instruments() const noexcept { return instruments_; }
  [[nodiscard]] const GatewayCounters& counters() const noexcept { return counters_; }
  [[nodiscard]] std::size_t connection_count() const noexcept { return conns_.size(); }
  [[nodiscard]] const Channels& channels() const noexcept { return channels_; }
  // The `stats` channel (the dashboard): its content is rendered at the edge; a new subscriber is
  // sent it whole at once, then the edge publishes it periodically (publish_stats).
  // source(true): the whole picture with history, for a new subscriber; source(false): the update.
  void set_stats_source(std::function<std::string(bool full)> source) { stats_source_ = std::move(source); }
  void publish_stats() {
    if (!stats_source_ || !has_subscribers("stats")) return;
    const std::string json = stats_source_(false);
    const Delivering guard(*this);
    publish("stats", StatsOut{json});
  }
  // Market-data history (docs/history.md): quotes, bars and trades are handed to it; null = off.
  void set_history(HistorySink* sink) noexcept {
    ticks_.set_history(sink);
    emitter_.set_history(sink);
  }
  // Health: empty when healthy, else the reasons ("no ledger quorum", ...).
  [[nodiscard]] std::vector<std::string> degraded_reasons() const;

 private:
  struct Conn {
    std::uint64_t id = 0;
    ClientPort* port = nullptr;
    std::string account;  // set by login (auth on) — the only account it may trade
    bool logged_in = false;
    PriorityGrant grant;  // auth on: the lanes its API key may claim
  };

  // Counts nested deliveries to ports. When the outermost ends, the one release point: the
  // ledger's log write of what this call committed (fills, their change sets), then the closes
  // requested meanwhile. Ports write only after the loop handler returns (ClientPort::send), so
  // no client hears of a fill before its change set is in the log file. If that write fails,
  // every connection with output queued in this call is abandoned: nothing it was about to be
  // told may reach it.
  struct Delivering {
    explicit Delivering(Gateway& g) : g_(g) { ++g_.delivering_; }
    ~Delivering();
    Delivering(const Delivering&) = delete;
    Delivering& operator=(const Delivering&) = delete;
    Gateway& g_;
  };
  void close_now(std::uint64_t conn);
  // VenueSink: what a venue reports is one delivery (so it is released like a command's replies).
  void on_events(std::uint32_t worker, std::span<const book::Event> events, Now now) override;
  void on_refused(const OrderRef& order, VenueOp op, book::RejectReason reason, std::uint64_t reply_to) override;

  void reply_reject(Conn& c, std::string_view id, std::string_view reason, std::string_view message);
  void reply_error(Conn& c, std::string_view code, std::string_view message);
  void on_login(Conn& c, const LoginCmd& cmd);
  void on_subscribe(std::uint64_t id, Conn& c, const SubscribeCmd& cmd);
  // Returns the account the command may act for, or empty after sending the reject.
  [[nodiscard]] bool authorize(Conn& c, std::string_view id, std::string_view& account);

  const Config& config_;
  core::InstrumentTable instruments_;
  std::unordered_map<std::uint64_t, Conn> conns_;
  std::uint64_t last_conn_ = 0;
  int delivering_ = 0;
  std::vector<std::uint64_t> deferred_closes_;
  std::vector<std::uint64_t> delivered_;  // connections sent to in the current outermost call
  void release();
  void deliver(Conn& c, const Outbound& message);  // every send to a port goes through here
  Channels channels_;
  GatewayCounters counters_;
  LedgerService ledger_;
  std::unique_ptr<Venue> venue_;
  TradeEmitter emitter_;
  OrderFlow orders_;
  TickFlow ticks_;
  std::function<std::string(bool full)> stats_source_;
};

}  // namespace tradeshard::app

#include "tradeshard/app/gateway.hpp"

#include "tradeshard/app/inprocess_venue.hpp"

namespace tradeshard::app {
namespace {
std::unique_ptr<Venue> embedded_venue(const Config& config, const core::InstrumentTable& instruments) {
  book::EngineOptions opts;
  opts.stp = config.matching.self_trade_prevention;
  opts.market_band_bps = config.matching.market_protection_bps;
  return std::make_unique<InProcessVenue>(instruments, opts, config.balancer.batch_size);
}
}  // namespace

Gateway::Gateway(const Config& config, std::unique_ptr<Venue> venue)
    : config_(config),
      instruments_(config.instruments),
      ledger_(config, instruments_),
      venue_(venue ? std::move(venue) : embedded_venue(config, instruments_)),
      emitter_(instruments_, *this, &ledger_, *venue_),
      orders_(config, instruments_, *this, *venue_, emitter_, &ledger_),
      ticks_(config, *this) {
  venue_->attach(*this);
}
Gateway::~Gateway() = default;

bool Gateway::pump(Now now) {
  const Delivering guard(*this);
  const bool more = venue_->pump(now);
  if (emitter_.stats().held_events > 0) emitter_.retry_held();
  return more;
}

std::string Gateway::transfer(std::string_view account, std::string_view currency, core::Decimal amount,
                              bool deposit, std::uint64_t& version) {
  const bool failed_before = ledger_.stats().storage_failed;
  std::string err;
  {
    const Delivering guard(*this);
    err = ledger_.transfer(account, currency, amount, deposit, version);
  }
  if (!failed_before && ledger_.stats().storage_failed) return "ledger_write_failed";
  return err;
}

void Gateway::on_events(std::uint32_t worker, std::span<const book::Event> events, Now now) {
  const Delivering guard(*this);
  orders_.on_events(worker, events, now);
}

void Gateway::on_refused(const OrderRef& order, VenueOp op, book::RejectReason reason, std::uint64_t reply_to) {
  const Delivering guard(*this);
  orders_.on_refused(order, op, reason, reply_to);
}

std::uint64_t Gateway::open(ClientPort& port) {
  const std::uint64_t id = ++last_conn_;
  Conn& c = conns_[id];
  c.id = id;
  c.port = &port;
  return id;
}

namespace {
// Where a connection closed during a delivery points until its close completes.
class DetachedPort final : public ClientPort {
 public:
  void send(const Outbound&) override {}
};
DetachedPort detached_port;
}  // namespace

Gateway::Delivering::~Delivering() {
  if (g_.delivering_ == 1) g_.release();  // still counted: a close from in there is deferred
  if (--g_.delivering_ > 0) return;
  // Completing a close may deliver again (cancel-on-disconnect tells other owners), and a port
  // may close from there too: drain until none is left.
  while (!g_.deferred_closes_.empty()) {
    auto closes = std::move(g_.deferred_closes_);
    g_.deferred_closes_.clear();
    ++g_.delivering_;
    for (const auto conn : closes) g_.close_now(conn);
    --g_.delivering_;
  }
}

void Gateway::release() {
  emitter_.release();  // depth of the books this call touched
  if (!ledger_.flush()) {
    // The fills of this call are in the books but not in the log: nobody may hear of them.
    for (const auto conn : delivered_) {
      const auto it = conns_.find(conn);
      if (it != conns_.end()) it->second.port->abandon("the ledger's log write failed");
    }
  }
  delivered_.clear();
}

void Gateway::close(std::uint64_t conn, Now /*now*/) {
  if (delivering_ > 0) {
    const auto it = conns_.find(conn);
    if (it == conns_.end() || it->second.port == &detached_port) return;
    it->second.port = &detached_port;
    deferred_closes_.push_back(conn);
    return;
  }
  close_now(conn);
}

void Gateway::close_now(std::uint64_t conn) {
  channels_.drop(conn);
  conns_.erase(conn);
  orders_.on_disconnect(conn);
}

void Gateway::send(std::uint64_t conn, const Outbound& message) {
  const auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  const Delivering guard(*this);
  deliver(it->second, message);
}

void Gateway::deliver(Conn& c, const Outbound& message) {
  c.port->send(message);
  if (delivered_.empty() || delivered_.back() != c.id) delivered_.push_back(c.id);
}

void Gateway::publish(std::string_view channel, const Outbound& message) {
  const Delivering guard(*this);
  const auto* subs = channels_.subscribers(channel);
  if (!subs) return;
  for (const auto conn : *subs) send(conn, message);
}

bool Gateway::has_subscribers(std::string_view channel) const { return channels_.subscribers(channel) != nullptr; }

void Gateway::count_reject(std::string_view reason) {
  auto it = counters_.rejects.find(reason);
  if (it == counters_.rejects.end()) it = counters_.rejects.emplace(std::string(reason), 0).first;
  ++it->second;
}

void Gateway::reply_reject(Conn& c, std::string_view id, std::string_view reason, std::string_view message) {
  count_reject(reason);
  deliver(c, RejectOut{id, reason, message});
}

void Gateway::reply_error(Conn& c, std::string_view code, std::string_view message) {
  auto it = counters_.errors.find(code);
  if (it == counters_.errors.end()) it = counters_.errors.emplace(std::string(code), 0).first;
  ++it->second;
  deliver(c, ErrorOut{code, message});
}

void Gateway::handle_error(std::uint64_t conn, const DecodeError& e) {
  const Delivering guard(*this);
  const auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  // A decodable message with an id is answered as a reject of that id; the rest as errors.
  if (!e.id.empty()) {
    reply_reject(it->second, e.id, to_string(e.code), e.message);
  } else {
    reply_error(it->second, to_string(e.code), e.message);
  }
}

bool Gateway::authorize(Conn& c, std::string_view id, std::string_view& account) {
  if (config_.auth_enabled) {
    if (!c.logged_in) {
      reply_reject(c, id, "not_logged_in", "send {\"type\":\"login\",\"api_key\":...} first");
      return false;
    }
    if (!account.empty() && account != c.account) {
      reply_reject(c, id, "not_owner", "this connection may trade only its own account");
      return false;
    }
    account = c.account;
    return true;
  }
  if (account.empty()) account = c.account.empty() ? std::string_view("default") : std::string_view(c.account);
  return true;
}

void Gateway::on_login(Conn& c, const LoginCmd& cmd) {
  for (const auto& k : config_.api_keys) {
    if (k.key.size() == cmd.api_key.size() && k.key == cmd.api_key) {
      c.account = k.account;
      c.logged_in = true;
      c.grant = PriorityGrant{k.vip, k.emergency};
      deliver(c, LoginOut{c.account});
      return;
    }
  }
  reply_error(c, "bad_login", "unknown api_key");
}

void Gateway::on_subscribe(std::uint64_t id, Conn& c, const SubscribeCmd& cmd) {
  for (const auto ch : *cmd.channels) {
    if (!Channels::valid_name(ch)) {
      reply_error(c, "bad_field",
                  "unknown channel (expected signals, stats, quotes:SYM, bars:SYM:1s|1m, trades:SYM, depth:SYM)");
      return;
    }
  }
  for (const auto ch : *cmd.channels) {
    if (cmd.subscribe) channels_.subscribe(id, ch);
    else channels_.unsubscribe(id, ch);
  }
  deliver(c, SubscribedOut{cmd.subscribe, cmd.channels});
  // A dashboard renders at once: the stats channel's first message is the whole picture.
  if (cmd.subscribe && stats_source_) {
    for (const auto ch : *cmd.channels) {
      if (ch == "stats") {
        const std::string json = stats_source_(true);
        deliver(c, StatsOut{json});
        break;
      }
    }
  }
}

void Gateway::handle(std::uint64_t conn, const Command& command, Now now) {
  ++counters_.commands_in[command.index()];
  // Ticks first: the hot path. The tick flow needs only the id (replies go through send(), which
  // skips a connection that is gone), so it is spared the connection lookup, and the delivery
  // guard: its publish() and send() hold their own.
  if (const auto* tick = std::get_if<TickCmd>(&command)) {
    ticks_.on_tick(conn, *tick, now);
    return;
  }
  const Delivering guard(*this);  // the Conn& below must outlive any close a reply triggers
  const auto it = conns_.find(conn);
  if (it == conns_.end()) return;
  Conn& c = it->second;
  if (const auto* login = std::get_if<LoginCmd>(&command)) {
    on_login(c, *login);
    return;
  }
  if (std::holds_alternative<PingCmd>(command)) {
    deliver(c, PongOut{});
    return;
  }
  if (const auto* sub = std::get_if<SubscribeCmd>(&command)) {
    on_subscribe(conn, c, *sub);
    return;
  }
  if (const auto* order = std::get_if<OrderCmd>(&command)) {
    std::string_view account = order->account;
    if (!authorize(c, order->id, account)) return;
    orders_.on_order(conn, account, *order, now, config_.auth_enabled ? c.grant : PriorityGrant{});
    return;
  }
  // Cancel/replace without an account act on this connection's own orders (see docs/protocol.md).
  if (const auto* cancel = std::get_if<CancelCmd>(&command)) {
    std::string_view account = cancel->account;
    if (config_.auth_enabled && !authorize(c, cancel->id, account)) return;
    orders_.on_cancel(conn, account, *cancel);
    return;
  }
  if (const auto* replace = std::get_if<ReplaceCmd>(&command)) {
    std::string_view account = replace->account;
    if (config_.auth_enabled && !authorize(c, replace->id, account)) return;
    orders_.on_replace(conn, account, *replace);  // may trade: released with the rest at the guard
    return;
  }
  if (const auto* all = std::get_if<CancelAllCmd>(&command)) {
    std::string_view account = all->account;
    if (config_.auth_enabled && !authorize(c, "", account)) return;
    orders_.on_cancel_all(conn, account, *all);
    return;
  }
}

std::vector<std::string> Gateway::degraded_reasons() const {
  std::vector<std::string> reasons;
  if (ledger_.stats().storage_failed) reasons.emplace_back("ledger storage failed: orders are refused");
  if (!ledger_.coordinator().has_quorum()) reasons.emplace_back("no ledger quorum: orders are refused");
  if (const auto& why = ledger_.stats().trade_refused; !why.empty()) {
    reasons.push_back("the ledger refused a trade as invalid (" + why +
                      "): its fills and every event after it are held, and orders are refused");
  }
  if (orders_.balancer().stats().routable_workers == 0) reasons.emplace_back("no routable worker");
  return reasons;
}

}  // namespace tradeshard::app

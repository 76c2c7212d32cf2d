// The order path's seam, driven with fakes and no sockets: a venue that answers later plugs into
// the Gateway without touching net/; OrderFlow keeps ids, validation and routing whatever the
// venue does; the TradeEmitter tells nobody of a trade the ledger has not taken.
#include <doctest/doctest.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/app/inprocess_venue.hpp"
#include "tradeshard/app/order_flow.hpp"
#include "tradeshard/app/trade_emitter.hpp"

using namespace tradeshard;

namespace doctest {
template <>
struct StringMaker<std::vector<std::string>> {
  static String convert(const std::vector<std::string>& v) {
    std::string out = "{";
    for (const auto& s : v) out += (out.size() > 1 ? ", " : "") + s;
    return (out + "}").c_str();
  }
};
}  // namespace doctest

namespace {

core::Instrument btc() {
  core::Instrument in;
  in.symbol = "BTCUSDT";
  in.cls = "crypto";
  in.base = "BTC";
  in.quote = "USDT";
  in.tick_size = {1, 2};  // 0.01
  in.lot_size = {1, 0};   // 1
  return in;
}

app::Config order_config() {
  app::Config c;
  c.instruments.push_back(btc());
  c.workers.push_back({"worker-1", 1000, "", {}, 50.0, 0});
  c.partitioning.nodes.push_back({"node-1", {market::StrategyKind::spread}});
  c.replication.log_keep = 64;
  return c;
}

// What a client was told, as "type:id[:detail]" strings.
std::string describe(const app::Outbound& m) {
  if (const auto* a = std::get_if<app::AckOut>(&m)) return "ack:" + std::string(a->id);
  if (const auto* r = std::get_if<app::RejectOut>(&m)) return "reject:" + std::string(r->id) + ":" + std::string(r->reason);
  if (const auto* f = std::get_if<app::FillOut>(&m)) {
    return "fill:" + std::string(f->id) + ":" + std::to_string(f->qty) + "@" + std::to_string(f->price) + "#" +
           std::to_string(f->trade_id);
  }
  if (const auto* d = std::get_if<app::DoneOut>(&m)) return "done:" + std::string(d->id) + ":" + std::string(d->reason);
  if (const auto* p = std::get_if<app::ReplacedOut>(&m)) {
    return "replaced:" + std::string(p->id) + ":" + std::to_string(p->qty) + "@" + std::to_string(p->price);
  }
  if (const auto* t = std::get_if<app::TradeOut>(&m)) return "trade:" + std::to_string(t->trade_id);
  return "other";
}

struct Port final : app::ClientPort {
  std::vector<std::string> got;
  void send(const app::Outbound& m) override { got.push_back(describe(m)); }
};

app::OrderCmd order(std::string_view id, core::Side side, std::int64_t price_cents, std::int64_t qty,
                   std::string_view account = {}) {
  app::OrderCmd o;
  o.id = id;
  o.account = account;
  o.symbol = "BTCUSDT";
  o.side = side;
  o.has_price = true;
  o.price = {price_cents, 2};
  o.qty = {qty, 0};
  return o;
}

// A venue that answers later: every call is kept until answer(), which plays them, in order, into
// a real InProcessVenue and pumps it dry. Nothing of it is known to net/.
class LaterVenue final : public app::Venue {
 public:
  explicit LaterVenue(const core::InstrumentTable& instruments) : inner_(instruments, {}, 16) {}
  void attach(app::VenueSink& sink) override { inner_.attach(sink); }
  void add_worker(std::uint32_t w, std::string_view name, std::uint32_t cap, std::uint32_t reserved) override {
    inner_.add_worker(w, name, cap, reserved);
  }
  void retire_worker(std::uint32_t w) override { inner_.retire_worker(w); }
  bool submit(std::uint32_t w, const book::NewOrder& o, core::Priority lane) override {
    pending_.push_back([this, w, o, lane] { CHECK(inner_.submit(w, o, lane)); });
    return true;
  }
  void cancel(const app::OrderRef& r, std::uint64_t reply_to) override {
    pending_.push_back([this, r, reply_to] { inner_.cancel(r, reply_to); });
  }
  void replace(const app::OrderRef& r, core::Ticks p, core::Lots q, std::uint64_t reply_to) override {
    pending_.push_back([this, r, p, q, reply_to] { inner_.replace(r, p, q, reply_to); });
  }
  void cancel_all(std::span<const app::OrderRef> refs) override {
    std::vector<app::OrderRef> copy(refs.begin(), refs.end());
    pending_.push_back([this, copy] { inner_.cancel_all(copy); });
  }
  std::string move_book(core::InstrumentId i, std::uint32_t from, std::uint32_t to,
                        std::vector<book::OrderKey>& moved) override {
    return inner_.move_book(i, from, to, moved);
  }
  bool pump(app::Now) override { return false; }  // answers come from answer(), not the loop
  [[nodiscard]] bool has_queued() const override { return false; }
  std::string_view depth(std::uint32_t w, core::InstrumentId i, std::size_t n, std::vector<app::DepthLevel>& b,
                         std::vector<app::DepthLevel>& a) const override {
    return inner_.depth(w, i, n, b, a);
  }
  [[nodiscard]] std::vector<app::WorkerBook> books() const override { return inner_.books(); }
  [[nodiscard]] app::VenueStats stats() const override { return inner_.stats(); }

  void answer() {
    auto calls = std::move(pending_);
    pending_.clear();
    for (auto& c : calls) {
      c();
      while (inner_.pump(app::Now{0, 1})) {
      }
    }
  }
  [[nodiscard]] std::size_t pending() const { return pending_.size(); }

 private:
  app::InProcessVenue inner_;
  std::vector<std::function<void()>> pending_;
};

}  // namespace

TEST_CASE("Venue seam: a venue that answers later plugs into the Gateway; nobody hears before it answers") {
  const app::Config config = order_config();
  const core::InstrumentTable instruments(config.instruments);
  auto venue = std::make_unique<LaterVenue>(instruments);
  LaterVenue& later = *venue;
  app::Gateway g(config, std::move(venue));
  Port buyer, seller;
  const auto b = g.open(buyer);
  const auto s = g.open(seller);

  g.handle(b, order("b1", core::Side::buy, 10'000, 2, "bob"), {0, 10});
  g.handle(s, order("s1", core::Side::sell, 10'000, 1, "sam"), {0, 20});
  CHECK(buyer.got.empty());
  CHECK(seller.got.empty());
  CHECK(later.pending() == 2);
  CHECK(g.orders().live_orders() == 2);

  later.answer();
  CHECK(buyer.got == std::vector<std::string>{"ack:b1", "fill:b1:1@10000#1"});
  CHECK(seller.got == std::vector<std::string>{"ack:s1", "fill:s1:1@10000#1", "done:s1:filled"});
  CHECK(g.orders().live_orders() == 1);
  CHECK(g.emitter().stats().trades == 1);

  // Replace (qty only: the price is the one the venue last reported), then cancel: each is told
  // when the venue answers, to the owner.
  app::ReplaceCmd rp;
  rp.id = "b1";
  rp.has_qty = true;
  rp.qty = {5, 0};
  g.handle(b, rp, {});
  app::CancelCmd cx;
  cx.id = "b1";
  g.handle(b, cx, {});
  CHECK(buyer.got.size() == 2);
  later.answer();
  CHECK(buyer.got == std::vector<std::string>{"ack:b1", "fill:b1:1@10000#1", "replaced:b1:5@10000", "done:b1:cancelled"});
  CHECK(g.orders().live_orders() == 0);
  CHECK(g.orders().balancer().stats().total_load == 0);
}

TEST_CASE("Venue seam: a connection that closes while its order is still with the venue") {
  const app::Config config = order_config();
  const core::InstrumentTable instruments(config.instruments);
  auto venue = std::make_unique<LaterVenue>(instruments);
  LaterVenue& later = *venue;
  app::Gateway g(config, std::move(venue));
  Port gone, other;
  const auto a = g.open(gone);
  const auto o = g.open(other);
  g.handle(a, order("a1", core::Side::buy, 10'000, 1, "ann"), {0, 10});
  g.close(a, {});  // cancel-on-disconnect: asked of the venue behind the pending submit
  g.handle(o, order("o1", core::Side::sell, 10'000, 1, "oli"), {0, 20});
  later.answer();
  CHECK(gone.got.empty());  // accepted and cancelled, and nobody left to tell
  CHECK(other.got == std::vector<std::string>{"ack:o1"});  // nothing to trade with: a1 was cancelled first
  CHECK(g.orders().live_orders() == 1);
  CHECK(g.orders().balancer().stats().total_load == 1);
}

namespace {

struct FakeOutbox final : app::Outbox {
  std::map<std::uint64_t, std::vector<std::string>> sent;  // by connection
  std::vector<std::string> published;
  std::map<std::string, std::uint64_t, std::less<>> rejects;
  bool trades_subscribed = true;
  void send(std::uint64_t conn, const app::Outbound& m) override { sent[conn].push_back(describe(m)); }
  void publish(std::string_view, const app::Outbound& m) override { published.push_back(describe(m)); }
  [[nodiscard]] bool has_subscribers(std::string_view ch) const override {
    return trades_subscribed && ch.starts_with("trades:");
  }
  [[nodiscard]] std::uint64_t subscriptions_version() const override { return trades_subscribed ? 1 : 2; }
  void count_reject(std::string_view reason) override { ++rejects[std::string(reason)]; }
};

// A venue that records what it is asked and answers only when the test says so.
struct RecordingVenue final : app::Venue {
  app::VenueSink* sink = nullptr;
  bool full = false;
  std::vector<book::NewOrder> submitted;
  std::vector<std::pair<app::OrderRef, std::uint64_t>> cancels;
  struct Replace { app::OrderRef ref; core::Ticks price; core::Lots qty; };
  std::vector<Replace> replaces;
  std::vector<std::vector<app::OrderRef>> cancel_alls;
  void attach(app::VenueSink& s) override { sink = &s; }
  void add_worker(std::uint32_t, std::string_view, std::uint32_t, std::uint32_t) override {}
  void retire_worker(std::uint32_t) override {}
  bool submit(std::uint32_t, const book::NewOrder& o, core::Priority) override {
    if (full) return false;
    submitted.push_back(o);
    return true;
  }
  void cancel(const app::OrderRef& r, std::uint64_t reply_to) override { cancels.emplace_back(r, reply_to); }
  void replace(const app::OrderRef& r, core::Ticks p, core::Lots q, std::uint64_t) override {
    replaces.push_back({r, p, q});
  }
  void cancel_all(std::span<const app::OrderRef> refs) override { cancel_alls.emplace_back(refs.begin(), refs.end()); }
  std::string move_book(core::InstrumentId, std::uint32_t, std::uint32_t, std::vector<book::OrderKey>&) override {
    return "not here";
  }
  bool pump(app::Now) override { return false; }
  [[nodiscard]] bool has_queued() const override { return false; }
  std::string_view depth(std::uint32_t, core::InstrumentId, std::size_t, std::vector<app::DepthLevel>&,
                         std::vector<app::DepthLevel>&) const override {
    return "worker-1";
  }
  [[nodiscard]] std::vector<app::WorkerBook> books() const override { return {}; }
  [[nodiscard]] app::VenueStats stats() const override { return {}; }
};

book::Event event(book::EventType type, const book::NewOrder& o) {
  book::Event ev;
  ev.type = type;
  ev.side = o.side;
  ev.account = o.account;
  ev.instrument = o.instrument;
  ev.key = o.key;
  ev.price = o.price;
  ev.qty = o.qty;
  ev.remaining = o.qty;
  return ev;
}

struct FakeLedger final : app::TradeLedger {
  bool accept = true;
  std::vector<std::string> trades;  // "buyer>seller qty@price"
  [[nodiscard]] bool available() const override { return true; }
  std::uint64_t version = 0;  // the ledger's committed version: each trade is the next
  [[nodiscard]] std::uint64_t commit(const app::Trade& t) override {
    if (!accept) return 0;
    trades.push_back(std::string(t.buyer) + ">" + std::string(t.seller) + " " + std::to_string(t.qty) + "@" +
                     std::to_string(t.price));
    return ++version;
  }
};

struct Flow {
  app::Config config = order_config();
  core::InstrumentTable instruments{config.instruments};
  FakeOutbox outbox;
  RecordingVenue venue;
  FakeLedger ledger;
  app::TradeEmitter emitter{instruments, outbox, &ledger, venue};
  app::OrderFlow flow{config, instruments, outbox, venue, emitter, &ledger};
  Flow() { venue.attach(flow); }
};

}  // namespace

TEST_CASE("OrderFlow: validation and routing happen before the venue is asked anything") {
  Flow f;
  auto bad_tick = order("t", core::Side::buy, 10'000, 1);
  bad_tick.price = {100'005, 3};  // 100.005: not on the 0.01 grid
  f.flow.on_order(7, "acct", bad_tick, {});
  auto bad_lot = order("l", core::Side::buy, 10'000, 1);
  bad_lot.qty = {15, 1};  // 1.5 lots
  f.flow.on_order(7, "acct", bad_lot, {});
  auto unknown = order("u", core::Side::buy, 10'000, 1);
  unknown.symbol = "NOPE";
  f.flow.on_order(7, "acct", unknown, {});
  CHECK(f.venue.submitted.empty());
  CHECK(f.outbox.sent[7] == std::vector<std::string>{"reject:t:bad_price_tick", "reject:l:bad_qty_lot",
                                                      "reject:u:unknown_symbol"});

  f.flow.on_order(7, "acct", order("ok", core::Side::sell, 12'345, 3), {});
  REQUIRE(f.venue.submitted.size() == 1);
  CHECK(f.venue.submitted[0].price == 12'345);
  CHECK(f.venue.submitted[0].qty == 3);
  CHECK(f.flow.balancer().stats().total_load == 1);
  // A second live order with the same id on the same account is refused here, not by the venue.
  f.flow.on_order(8, "acct", order("ok", core::Side::sell, 12'345, 3), {});
  CHECK(f.outbox.sent[8] == std::vector<std::string>{"reject:ok:duplicate_id"});
  CHECK(f.venue.submitted.size() == 1);
}

TEST_CASE("OrderFlow: a full venue queue leaves no trace (the id is free, the capacity released)") {
  Flow f;
  f.venue.full = true;
  f.flow.on_order(1, "acct", order("x", core::Side::buy, 10'000, 1), {});
  CHECK(f.outbox.sent[1] == std::vector<std::string>{"reject:x:queue_full"});
  CHECK(f.flow.live_orders() == 0);
  CHECK(f.flow.balancer().stats().total_load == 0);
  f.venue.full = false;
  f.flow.on_order(1, "acct", order("x", core::Side::buy, 10'000, 1), {});
  CHECK(f.venue.submitted.size() == 1);
  CHECK(f.flow.live_orders() == 1);
}

TEST_CASE("OrderFlow: replace sends totals from what the venue last reported; refusals go to the requester") {
  Flow f;
  f.flow.on_order(1, "acct", order("a", core::Side::buy, 10'000, 4), {0, 100});
  REQUIRE(f.venue.submitted.size() == 1);
  const book::NewOrder o = f.venue.submitted[0];
  const book::Event acc = event(book::EventType::accepted, o);
  f.venue.sink->on_events(0, std::span(&acc, 1), {0, 600});
  CHECK(f.outbox.sent[1] == std::vector<std::string>{"ack:a"});
  CHECK(f.flow.stats().order_to_ack.count() == 1);
  CHECK(f.flow.stats().order_to_ack.max_ns() >= 500);

  // The venue moved the price (a replace it reported): the next qty-only replace keeps that price.
  book::Event moved = event(book::EventType::replaced, o);
  moved.price = 9'900;
  f.venue.sink->on_events(0, std::span(&moved, 1), {});
  app::ReplaceCmd rp;
  rp.id = "a";
  rp.has_qty = true;
  rp.qty = {2, 0};
  f.flow.on_replace(1, "", rp);
  REQUIRE(f.venue.replaces.size() == 1);
  CHECK(f.venue.replaces[0].price == 9'900);
  CHECK(f.venue.replaces[0].qty == 2);
  CHECK(f.venue.replaces[0].ref.key == o.key);

  // A cancel by account from another connection: the refusal reaches that connection.
  app::CancelCmd cx;
  cx.id = "a";
  f.flow.on_cancel(2, "acct", cx);
  REQUIRE(f.venue.cancels.size() == 1);
  CHECK(f.venue.cancels[0].second == 2);
  f.venue.sink->on_refused(f.venue.cancels[0].first, app::VenueOp::cancel, book::RejectReason::unknown_order, 2);
  CHECK(f.outbox.sent[2] == std::vector<std::string>{"reject:a:unknown_order"});
  CHECK(f.flow.live_orders() == 1);  // a refusal ends nothing

  // Open orders show what the venue reported.
  const auto open = f.flow.open_orders("acct");
  REQUIRE(open.size() == 1);
  CHECK(open[0].price == 9'900);
  CHECK_FALSE(open[0].queued);
}

TEST_CASE("OrderFlow: a disconnect asks the venue to cancel that connection's orders, in one call") {
  Flow f;
  f.flow.on_order(1, "acct", order("a", core::Side::buy, 10'000, 1), {});
  f.flow.on_order(1, "acct", order("b", core::Side::buy, 10'001, 1), {});
  f.flow.on_order(2, "acct", order("c", core::Side::buy, 10'002, 1), {});
  f.flow.on_disconnect(1);
  REQUIRE(f.venue.cancel_alls.size() == 1);
  CHECK(f.venue.cancel_alls[0].size() == 2);
  // The venue's done for one of them: nobody is told (the connection is gone), the id is freed.
  const book::NewOrder a = f.venue.submitted[0];
  book::Event done = event(book::EventType::done, a);
  done.done_reason = book::DoneReason::cancelled;
  f.venue.sink->on_events(0, std::span(&done, 1), {});
  CHECK(f.outbox.sent[0].empty());
  CHECK(f.flow.live_orders() == 2);
  CHECK(f.flow.balancer().stats().total_load == 2);
}

TEST_CASE("TradeEmitter: nothing of a trade is told before the ledger takes it; order is kept") {
  Flow f;
  f.flow.on_order(1, "alice", order("m", core::Side::sell, 10'000, 1), {});
  f.flow.on_order(2, "bob", order("t", core::Side::buy, 10'000, 1), {});
  const book::NewOrder maker = f.venue.submitted[0];
  const book::NewOrder taker = f.venue.submitted[1];
  const book::Event maker_ack = event(book::EventType::accepted, maker);
  f.venue.sink->on_events(0, std::span(&maker_ack, 1), {});

  f.ledger.version = 57;    // a ledger that already holds versions (deposits, an earlier run)
  f.ledger.accept = false;  // no quorum
  std::vector<book::Event> evs;
  evs.push_back(event(book::EventType::accepted, taker));
  book::Event tf = event(book::EventType::fill, taker);
  tf.liquidity = book::Liquidity::taker;
  tf.counterparty = maker.key;
  tf.trade_id = 41;  // the engine's; both fills get the trade's ledger version as their id
  tf.remaining = 0;
  evs.push_back(tf);
  book::Event mf = event(book::EventType::fill, maker);
  mf.liquidity = book::Liquidity::maker;
  mf.counterparty = taker.key;
  mf.trade_id = 41;
  mf.remaining = 0;
  evs.push_back(mf);
  book::Event td = event(book::EventType::done, taker);
  td.remaining = 0;
  evs.push_back(td);
  f.venue.sink->on_events(0, evs, {});
  // The ack came before the trade, so it is told; the fills and what follows them wait.
  CHECK(f.outbox.sent[2] == std::vector<std::string>{"ack:t"});
  CHECK(f.outbox.sent[1] == std::vector<std::string>{"ack:m"});
  CHECK(f.outbox.published.empty());
  CHECK(f.emitter.stats().held_events == 3);
  CHECK_FALSE(f.emitter.retry_held());  // still refused
  CHECK(f.ledger.trades.empty());

  f.ledger.accept = true;
  CHECK(f.emitter.retry_held());
  CHECK(f.ledger.trades == std::vector<std::string>{"bob>alice 1@10000"});
  CHECK(f.outbox.sent[2] == std::vector<std::string>{"ack:t", "fill:t:1@10000#58", "done:t:filled"});
  CHECK(f.outbox.sent[1] == std::vector<std::string>{"ack:m", "fill:m:1@10000#58"});
  CHECK(f.outbox.published == std::vector<std::string>{"trade:58"});
  CHECK(f.emitter.stats().unpaired_fills == 0);
  CHECK(f.emitter.stats().held_events == 0);
  CHECK(f.emitter.stats().trades == 1);
}

// Issue 16's first check: under every strategy, a sell at 100 and a buy at 101 for the same symbol
// from different connections meet in one book and trade (before, four of the five strategies sent
// them to different workers, whose books never met: a crossed market).
TEST_CASE("One book per symbol: under every strategy a crossing buy and sell trade") {
  for (const auto strategy : balance::all_strategies) {
    CAPTURE(balance::to_string(strategy));
    app::Config config = order_config();
    config.workers.push_back({"worker-2", 1000, "", {}, 50.0, 0});
    config.workers.push_back({"worker-3", 1000, "", {}, 50.0, 0});
    config.balancer.strategy = strategy;
    app::Gateway g(config);
    Port seller, buyer, other;
    const auto s = g.open(seller);
    const auto b = g.open(buyer);
    const auto o = g.open(other);
    g.handle(s, order("s1", core::Side::sell, 10'000, 1, "sam"), {0, 1});
    // Orders of other symbols' worth of load in between would move a spreading strategy on.
    g.handle(o, order("o1", core::Side::sell, 20'000, 1, "oli"), {0, 2});
    g.handle(b, order("b1", core::Side::buy, 10'100, 1, "bob"), {0, 3});
    while (g.pump({0, 4})) {
    }
    CHECK(buyer.got == std::vector<std::string>{"ack:b1", "fill:b1:1@10000#1", "done:b1:filled"});
    CHECK(seller.got == std::vector<std::string>{"ack:s1", "fill:s1:1@10000#1", "done:s1:filled"});
  }
}

namespace {

app::Config three_worker_config(balance::Strategy strategy) {
  app::Config config = order_config();
  config.workers.push_back({"worker-2", 1000, "", {}, 50.0, 0});
  config.workers.push_back({"worker-3", 1000, "", {}, 50.0, 0});
  config.balancer.strategy = strategy;
  return config;
}

// The worker each open order of the account sits on.
std::vector<std::string> workers_of(const app::Gateway& g, std::string_view account) {
  std::vector<std::string> out;
  for (const auto& o : g.orders().open_orders(account)) out.push_back(o.worker);
  return out;
}

}  // namespace

TEST_CASE("Book migration: a live move keeps prices, priority and queued orders; the next orders follow") {
  const app::Config config = three_worker_config(balance::Strategy::round_robin);
  app::Gateway g(config);
  Port a, b, c;
  const auto ca = g.open(a);
  const auto cb = g.open(b);
  const auto cc = g.open(c);
  g.handle(ca, order("a1", core::Side::sell, 10'100, 1, "ann"), {0, 1});  // oldest at 101
  g.handle(cb, order("b1", core::Side::sell, 10'100, 1, "ben"), {0, 2});
  g.handle(ca, order("a2", core::Side::buy, 9'900, 2, "ann"), {0, 3});
  while (g.pump({0, 4})) {
  }
  REQUIRE(workers_of(g, "ann") == std::vector<std::string>{"worker-1", "worker-1"});
  g.handle(cc, order("c1", core::Side::sell, 10'200, 1, "cat"), {0, 5});  // still queued at the move
  std::size_t moved = 0;
  const auto err = g.manage_orders([&](app::OrderFlow& f) { return f.move_book("BTCUSDT", "worker-3", moved); });
  REQUIRE(err.empty());
  CHECK(moved == 4);
  CHECK(g.orders().stats().books_moved == 1);
  const auto symbols = g.orders().symbols_by_worker();
  CHECK(symbols[0].empty());
  CHECK(symbols[2] == std::vector<std::string_view>{"BTCUSDT"});
  const auto& lb = g.orders().balancer();
  CHECK(lb.worker(*lb.find("worker-1"))->current_load == 0);
  CHECK(lb.worker(*lb.find("worker-3"))->current_load == 4);
  while (g.pump({0, 6})) {
  }
  CHECK(c.got == std::vector<std::string>{"ack:c1"});  // the queued order went with the book
  CHECK(workers_of(g, "cat") == std::vector<std::string>{"worker-3"});
  // A buy at 102 for 2 meets the oldest 101 first (ann's, then ben's): time priority survived.
  Port d;
  const auto cd = g.open(d);
  g.handle(cd, order("d1", core::Side::buy, 10'200, 2, "dan"), {0, 7});
  while (g.pump({0, 8})) {
  }
  CHECK(d.got == std::vector<std::string>{"ack:d1", "fill:d1:1@10100#1", "fill:d1:1@10100#2", "done:d1:filled"});
  CHECK(a.got.back() == "done:a1:filled");
  CHECK(b.got.back() == "done:b1:filled");
  // Refusals.
  CHECK(g.manage_orders([&](app::OrderFlow& f) { return f.move_book("NOPE", "worker-2", moved); }) == "unknown_symbol");
  CHECK(g.manage_orders([&](app::OrderFlow& f) { return f.move_book("BTCUSDT", "worker-9", moved); }) == "unknown_worker");
}

TEST_CASE("Book migration: draining a worker moves its books off it at once; nothing is lost") {
  for (const auto strategy : balance::all_strategies) {
    CAPTURE(balance::to_string(strategy));
    const app::Config config = three_worker_config(strategy);
    app::Gateway g(config);
    Port a, b;
    const auto ca = g.open(a);
    const auto cb = g.open(b);
    g.handle(ca, order("a1", core::Side::sell, 10'100, 3, "ann"), {0, 1});
    g.handle(ca, order("a2", core::Side::buy, 9'900, 1, "ann"), {0, 2});
    while (g.pump({0, 3})) {
    }
    const auto ws = workers_of(g, "ann");
    REQUIRE(ws.size() == 2);
    const std::string home = ws[0];
    CHECK(g.manage_orders([&](app::OrderFlow& f) { return f.drain_worker(home); }).empty());
    CHECK(g.orders().stats().books_moved == 1);
    const auto after = workers_of(g, "ann");
    REQUIRE(after.size() == 2);
    CHECK(after[0] != home);
    CHECK(after[0] == after[1]);
    // The drained worker held nothing more: it left at once.
    CHECK_FALSE(g.orders().balancer().find(home));
    g.handle(cb, order("b1", core::Side::buy, 10'100, 2, "ben"), {0, 4});
    while (g.pump({0, 5})) {
    }
    CHECK(b.got == std::vector<std::string>{"ack:b1", "fill:b1:2@10100#1", "done:b1:filled"});
    CHECK(a.got.size() == 3);  // ack, ack, fill of a1
    CHECK(g.orders().open_orders("ann").size() == 2);
  }
}

// Ensure a worker added while one worker carries all the load takes books off it at once (the
// rebalancer runs on add), whole and live; with too little load nothing moves.
TEST_CASE("Rebalance: a worker added takes load, whole books, live") {
  for (const double min_load : {1.0, 1e9}) {
    CAPTURE(min_load);
    app::Config config = order_config();
    core::Instrument eth = btc();
    eth.symbol = "ETHUSDT";
    eth.base = "ETH";
    config.instruments.push_back(eth);
    config.balancer.rebalance.min_load = min_load;
    app::Gateway g(config);
    Port a;
    const auto ca = g.open(a);
    for (int i = 0; i < 20; ++i) {
      const std::string id = "o" + std::to_string(i);  // the command holds views
      app::OrderCmd o = order(id, core::Side::buy, 9'000 + i, 1, "ann");
      if (i % 2) o.symbol = "ETHUSDT";
      g.handle(ca, o, {});
    }
    while (g.pump({})) {
    }
    (void)g.sample_orders(1'000, 1'000);  // 10 orders/s each
    CHECK(g.orders().symbol_load(0) == doctest::Approx(5.0));  // EWMA 1/2 from 0
    const auto added = g.manage_orders([](app::OrderFlow& f) { return f.add_worker({"worker-2", 1000, "", {}, 50.0, 0}); });
    REQUIRE(added.empty());
    const auto by_worker = g.orders().symbols_by_worker();
    if (min_load <= 5.0) {
      CHECK(by_worker[0].size() == 1);
      CHECK(by_worker[1].size() == 1);
      CHECK(g.orders().stats().rebalance_moves == 1);
    } else {
      CHECK(by_worker[0].size() == 2);
      CHECK(g.orders().stats().rebalance_moves == 0);
    }
    CHECK(g.orders().open_orders("ann").size() == 20);
  }
}

// Ensure a drained worker whose book could go nowhere hands it to a worker added later (on the
// next sweep), and otherwise ends its orders with drain_timeout once the timeout passed, never
// before.
TEST_CASE("Drain: a stuck book moves when a worker appears, else ends at the drain timeout") {
  for (const bool add_later : {true, false}) {
    CAPTURE(add_later);
    app::Config config = order_config();
    config.balancer.drain_timeout_ms = 1000;
    app::Gateway g(config);
    Port a;
    const auto ca = g.open(a);
    g.handle(ca, order("a1", core::Side::buy, 9'900, 1, "ann"), {});
    while (g.pump({})) {
    }
    REQUIRE(g.manage_orders([](app::OrderFlow& f) { return f.drain_worker("worker-1"); }).empty());
    CHECK(workers_of(g, "ann") == std::vector<std::string>{"worker-1"});  // nowhere to go
    (void)g.sample_orders(10'000, 1'000);                                 // the sweep stamps the drain
    if (add_later) {
      REQUIRE(g.manage_orders([](app::OrderFlow& f) { return f.add_worker({"worker-2", 1000, "", {}, 50.0, 0}); }).empty());
      (void)g.sample_orders(10'500, 500);
      CHECK(workers_of(g, "ann") == std::vector<std::string>{"worker-2"});
      CHECK_FALSE(g.orders().balancer().find("worker-1"));  // it left once empty
      (void)g.sample_orders(12'000, 1'500);
      CHECK(a.got == std::vector<std::string>{"ack:a1"});  // nothing ended
    } else {
      (void)g.sample_orders(10'999, 999);
      CHECK(a.got == std::vector<std::string>{"ack:a1"});
      (void)g.sample_orders(11'000, 1);
      CHECK(a.got == std::vector<std::string>{"ack:a1", "done:a1:drain_timeout"});
      CHECK_FALSE(g.orders().balancer().find("worker-1"));
      CHECK(g.orders().live_orders() == 0);
    }
  }
}

// Ensure one connection trading for two accounts that use the same client id keeps both orders:
// a disconnect cancels both (before the fix the second overwrote the first in the connection's
// index, and the first stayed live after its connection was gone), a cancel naming the account
// finds each, and one naming none is refused as ambiguous rather than guessing.
TEST_CASE("Orders: one connection, two accounts, the same client id") {
  app::Config config = order_config();
  app::Gateway g(config);
  Port p;
  const auto conn = g.open(p);
  g.handle(conn, order("x", core::Side::buy, 9'000, 1, "ann"), {});
  g.handle(conn, order("x", core::Side::buy, 9'001, 1, "bob"), {});
  g.handle(conn, order("y", core::Side::buy, 9'002, 1, "bob"), {});
  while (g.pump({})) {
  }
  CHECK(g.orders().live_orders() == 3);
  app::CancelCmd c;
  c.id = "x";
  g.handle(conn, c, {});
  CHECK(p.got.back() == "reject:x:ambiguous_id");
  c.id = "y";
  g.handle(conn, c, {});  // unique on this connection: no account needed
  CHECK(p.got.back() == "done:y:cancelled");
  g.close(conn, {});
  CHECK(g.orders().live_orders() == 0);  // cancel-on-disconnect reached both "x"
  CHECK(g.orders().open_orders("ann").empty());
  CHECK(g.orders().open_orders("bob").empty());
}

// Ensure a trade the ledger refuses as invalid (a cash balance would overflow int64) halts the
// order path visibly instead of silently: its fills stay held (nothing uncommitted is told),
// /health says why, and new orders are refused rather than executed and never reported. Before
// the fix the next order was accepted by an engine and its ack held forever.
TEST_CASE("Ledger: a trade refused as invalid halts order admission, visibly") {
  app::Config config = order_config();
  config.instruments[0].tick_size = {1, 0};
  app::Gateway g(config);
  Port a, b;
  const auto ca = g.open(a);
  const auto cb = g.open(b);
  app::OrderCmd sell = order("s-1", core::Side::sell, 0, 1, "ann");
  sell.price = {1'000'000'000, 0};
  sell.qty = {1'000'000'000, 0};  // notional 10^18 units of price, x100 at the cash scale: overflow
  app::OrderCmd buy = sell;
  buy.id = "b-1";
  buy.account = "bob";
  buy.side = core::Side::buy;
  g.handle(ca, sell, {});
  g.handle(cb, buy, {});
  while (g.pump({})) {
  }
  CHECK(g.ledger().stats().trade_refused == "overflow");
  CHECK(b.got == std::vector<std::string>{"ack:b-1"});  // its fill is held: the trade is not in the ledger
  const auto reasons = g.degraded_reasons();
  REQUIRE(reasons.size() == 1);
  CHECK(reasons[0].find("refused a trade as invalid (overflow)") != std::string::npos);
  g.handle(cb, order("b-2", core::Side::buy, 100, 1, "bob"), {});
  CHECK(b.got == std::vector<std::string>{"ack:b-1", "reject:b-2:ledger_unavailable"});
}

// The gateway's end of the links against real WorkerHosts, bytes shuttled in memory (no sockets):
// the same random commands through the embedded InProcessVenue and through RemoteVenue give the
// same events, also when a link drops and reconnects mid-stream, and when a worker process dies
// with commands unanswered and its slots move to another (the books rebuilt from the shadow).
#include <doctest/doctest.h>

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "book/book_fixture.hpp"
#include "tradeshard/app/inprocess_venue.hpp"
#include "tradeshard/link/remote_venue.hpp"
#include "tradeshard/link/worker_host.hpp"

using namespace tradeshard;
using namespace tradeshard::link;
using book_test::btc;
using book_test::eth;
using book_test::limit;
using book_test::market;

namespace {

// What a venue told the gateway, comparable across venues (trade ids are engine-local).
struct Sink final : app::VenueSink {
  struct Seen {
    std::uint32_t worker;
    book::EventType type;
    book::OrderKey key, counterparty;
    core::Ticks price;
    core::Lots qty, remaining;
    int reason;
    bool operator==(const Seen&) const = default;
  };
  std::vector<Seen> seen;
  void on_events(std::uint32_t worker, std::span<const book::Event> events, app::Now) override {
    for (const auto& e : events) {
      seen.push_back({worker, e.type, e.key, e.counterparty, e.price, e.qty, e.remaining,
                      static_cast<int>(e.type == book::EventType::done ? static_cast<int>(e.done_reason)
                                                                       : static_cast<int>(e.reject_reason))});
    }
  }
  void on_refused(const app::OrderRef& o, app::VenueOp op, book::RejectReason reason, std::uint64_t) override {
    seen.push_back({o.worker, book::EventType::rejected, o.key, 0, static_cast<int>(op), 0, 0, 100 + static_cast<int>(reason)});
  }
  // Per worker slot, in order (deliveries of different slots interleave differently).
  std::vector<Seen> of(std::uint32_t w) const {
    std::vector<Seen> out;
    for (const auto& s : seen) {
      if (s.worker == w) out.push_back(s);
    }
    return out;
  }
};

// Worker processes in memory, wired to a RemoteVenue.
struct Cluster {
  explicit Cluster(const core::InstrumentTable& t, std::uint32_t hosts, std::uint32_t max_in_flight = 4096)
      : table(t), venue(RemoteVenueOptions{"gw", 1, t.digest(), 100, max_in_flight}) {
    venue.attach(sink);
    for (std::uint32_t i = 0; i < hosts; ++i) {
      WorkerHostOptions o{"worker-" + std::to_string(i + 1), t.digest()};
      o.queue_capacity = 1'000'000;
      workers.push_back(std::make_unique<WorkerHost>(t, book::EngineOptions{}, o));
      links.push_back(venue.add_link("worker-" + std::to_string(i + 1)));
      alive.push_back(true);
    }
  }
  void connect(std::uint32_t i, bool reset = false) {
    std::string out;
    REQUIRE(workers[i]->on_bytes(venue.hello(links[i], reset), out));
    REQUIRE(venue.on_bytes(links[i], out, app::Now{1, 1}));
  }
  // Moves bytes both ways and lets the workers match until everything is quiet.
  void settle() {
    for (bool busy = true; busy;) {
      busy = false;
      for (std::uint32_t i = 0; i < workers.size(); ++i) {
        if (!alive[i] || !venue.link(links[i]).up) continue;
        std::string back;
        const std::string to_worker = venue.take_output(links[i]);
        if (!to_worker.empty()) {
          REQUIRE_MESSAGE(workers[i]->on_bytes(to_worker, back), workers[i]->error());
          busy = true;
        }
        while (workers[i]->pump(app::Now{1, 1}, back)) {
        }
        if (!back.empty()) {
          REQUIRE_MESSAGE(venue.on_bytes(links[i], back, app::Now{2, 2}), venue.link(links[i]).error);
          busy = true;
        }
      }
    }
  }
  // Slots 0 and 1 (as the embedded reference has them), hosted by the given workers.
  void two_slots(std::uint32_t host0, std::uint32_t host1) {
    venue.assign(0, links[host0]);
    venue.assign(1, links[host1]);
    venue.add_worker(0, "worker-1", 1'000'000, 0);
    venue.add_worker(1, "worker-2", 1'000'000, 0);
    for (std::uint32_t i = 0; i < workers.size(); ++i) connect(i);
  }
  const core::InstrumentTable& table;
  RemoteVenue venue;
  Sink sink;
  std::vector<std::unique_ptr<WorkerHost>> workers;
  std::vector<RemoteVenue::LinkId> links;
  std::vector<bool> alive;
};

// Random traffic on two slots, the same for any venue it is given.
struct Traffic {
  explicit Traffic(std::uint64_t seed) : rng(seed) {}
  std::mt19937_64 rng;
  std::vector<app::OrderRef> placed;
  book::OrderKey next = 1;

  void step(app::Venue& v) {
    const auto dice = rng() % 100;
    const std::uint32_t slot = static_cast<std::uint32_t>(rng() % 2);
    const book::InstrumentId ins = rng() % 3 == 0 ? eth : btc;
    if (dice < 60 || placed.empty()) {
      const book::AccountId acct = 1 + rng() % 5;
      const book::Side side = rng() % 2 ? book::Side::buy : book::Side::sell;
      const book::NewOrder o = rng() % 8 == 0 ? book_test::market(next, acct, side, 2 + rng() % 6, book::TimeInForce::ioc, ins)
                                              : limit(next, acct, side, 95 + rng() % 11, 2 + rng() % 9,
                                                      book::TimeInForce::gtc, ins);
      REQUIRE(v.submit(slot, o, rng() % 10 == 0 ? core::Priority::vip : core::Priority::normal));
      placed.push_back({slot, acct, next++});
    } else if (dice < 80) {
      v.cancel(placed[rng() % placed.size()], 0);
    } else if (dice < 95) {
      v.replace(placed[rng() % placed.size()], 95 + rng() % 11, 1 + rng() % 12, 0);
    } else {
      std::vector<app::OrderRef> some;
      for (int i = 0; i < 3; ++i) some.push_back(placed[rng() % placed.size()]);
      v.cancel_all(some);
    }
  }
};

struct Embedded {
  explicit Embedded(const core::InstrumentTable& t) : venue(t, book::EngineOptions{}, 64) {
    venue.attach(sink);
    venue.add_worker(0, "worker-1", 1'000'000, 0);
    venue.add_worker(1, "worker-2", 1'000'000, 0);
  }
  void settle() {
    while (venue.pump(app::Now{1, 1})) {
    }
  }
  app::InProcessVenue venue;
  Sink sink;
};

void same_events(const Sink& remote, const Sink& embedded) {
  for (std::uint32_t w = 0; w < 2; ++w) {
    const auto a = remote.of(w);
    const auto b = embedded.of(w);
    REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
      CAPTURE(i);
      CHECK(a[i] == b[i]);
    }
  }
}

}  // namespace

TEST_CASE("Remote venue: the same commands give the same events as the embedded venue") {
  const auto table = book_test::make_table();
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    CAPTURE(seed);
    Cluster c(table, 2);
    c.two_slots(0, 1);
    Embedded e(table);
    Traffic ta(seed), tb(seed);
    for (int i = 0; i < 600; ++i) {
      ta.step(c.venue);
      tb.step(e.venue);
      if (i % 7 == 6) {  // commands pile up between settles: orders wait queued on the workers
        c.settle();
        e.settle();
      }
    }
    c.settle();
    e.settle();
    same_events(c.sink, e.sink);
    CHECK(c.sink.seen.size() > 1000);
    for (std::uint32_t w = 0; w < 2; ++w) {
      for (const auto ins : {btc, eth}) {
        std::vector<app::DepthLevel> rb, ra, eb, ea;
        (void)c.venue.depth(w, ins, 50, rb, ra);
        (void)e.venue.depth(w, ins, 50, eb, ea);
        CHECK(rb.size() == eb.size());
        CHECK(ra.size() == ea.size());
      }
    }
  }
}

TEST_CASE("Remote venue: a link that drops mid-stream and reconnects loses and repeats nothing") {
  const auto table = book_test::make_table();
  for (std::uint64_t seed = 10; seed < 14; ++seed) {
    CAPTURE(seed);
    Cluster c(table, 1);
    c.two_slots(0, 0);  // one process hosts both slots
    Embedded e(table);
    Traffic ta(seed), tb(seed);
    for (int round = 0; round < 6; ++round) {
      for (int i = 0; i < 80; ++i) {
        ta.step(c.venue);
        tb.step(e.venue);
      }
      // Half the bytes reach the worker (it applies those commands), then the connection
      // breaks and its answers are lost. (It does not match meanwhile: the embedded venue only
      // matches at settle(), and the two must match at the same points to give the same events.)
      std::string to_worker = c.venue.take_output(c.links[0]);
      std::string lost;
      REQUIRE(c.workers[0]->on_bytes(to_worker.substr(0, to_worker.size() / 2), lost));
      c.workers[0]->on_link_closed();
      c.venue.on_link_down(c.links[0]);
      for (int i = 0; i < 20; ++i) {  // commands while the link is down wait
        ta.step(c.venue);
        tb.step(e.venue);
      }
      c.connect(0);
      c.settle();
      e.settle();
    }
    same_events(c.sink, e.sink);
    CHECK(c.venue.link(c.links[0]).counters.resent > 0);
    CHECK(c.workers[0]->stats().duplicates > 0);
  }
}

TEST_CASE("Remote venue: results made while the link was down reach the gateway in the order they were made") {
  // A normal buy and a vip sell reach the worker, the link drops, the worker matches (vip
  // first: the sell rests, the buy trades with it), then the link comes back. The gateway must
  // see what the embedded venue shows: the sell accepted before the fill against it. Failed
  // before the fix (the replay came in seq order: the fill against an order not yet accepted).
  const auto table = book_test::make_table();
  Cluster c(table, 1);
  c.two_slots(0, 0);
  Embedded e(table);
  for (app::Venue* v : {static_cast<app::Venue*>(&c.venue), static_cast<app::Venue*>(&e.venue)}) {
    REQUIRE(v->submit(0, limit(1, 1, book::Side::buy, 100, 2), core::Priority::normal));
    REQUIRE(v->submit(0, limit(2, 2, book::Side::sell, 100, 2), core::Priority::vip));
  }
  std::string lost;
  REQUIRE(c.workers[0]->on_bytes(c.venue.take_output(c.links[0]), lost));
  c.workers[0]->on_link_closed();
  c.venue.on_link_down(c.links[0]);
  std::string offline;
  while (c.workers[0]->pump(app::Now{1, 1}, offline)) {
  }
  c.connect(0);
  c.settle();
  e.settle();
  same_events(c.sink, e.sink);
  CHECK(c.venue.link(c.links[0]).counters.unexpected == 0);
}

TEST_CASE("Remote venue: a dead worker's slots move with their books and unanswered commands") {
  const auto table = book_test::make_table();
  for (std::uint64_t seed = 20; seed < 25; ++seed) {
    CAPTURE(seed);
    Cluster c(table, 2);
    c.two_slots(0, 1);
    Embedded e(table);
    Traffic ta(seed), tb(seed);
    for (int i = 0; i < 400; ++i) {
      ta.step(c.venue);
      tb.step(e.venue);
      if (i % 9 == 8) {
        c.settle();
        e.settle();
      }
    }
    c.settle();
    e.settle();
    // More commands; worker 1 applies some of them, then dies before anything it did is reported.
    for (int i = 0; i < 60; ++i) {
      ta.step(c.venue);
      tb.step(e.venue);
    }
    std::string lost;
    REQUIRE(c.workers[0]->on_bytes(c.venue.take_output(c.links[0]), lost));
    c.workers[0]->pump(app::Now{1, 1}, lost);
    CHECK(c.venue.link(c.links[0]).outstanding > 0);  // unanswered commands die with it...
    CHECK(c.venue.shadow().resting_on(0) > 0);        // ...and books that must be rebuilt
    c.alive[0] = false;
    c.workers[0].reset();  // kill -9
    c.venue.on_link_down(c.links[0]);
    c.venue.rehome(c.links[0], c.links[1]);
    CHECK(c.venue.host_of(0) == c.links[1]);
    for (int i = 0; i < 200; ++i) {
      ta.step(c.venue);
      tb.step(e.venue);
      if (i % 9 == 8) {
        c.settle();
        e.settle();
      }
    }
    c.settle();
    e.settle();
    same_events(c.sink, e.sink);
    CHECK(c.venue.link(c.links[0]).needs_reset);
    CHECK(c.venue.link(c.links[1]).counters.import_failed == 0);
    // The dead process comes back: it is fenced until it is opened with reset, and empty then.
    c.workers[0] = std::make_unique<WorkerHost>(table, book::EngineOptions{}, WorkerHostOptions{"worker-1", table.digest()});
    c.alive[0] = true;
    c.connect(0, true);
    CHECK_FALSE(c.venue.link(c.links[0]).needs_reset);
    CHECK(c.venue.link(c.links[0]).slots.empty());
  }
}

TEST_CASE("Remote venue: past max_in_flight an order is refused; cancels wait in order") {
  const auto table = book_test::make_table();
  Cluster c(table, 1, 4);
  c.venue.assign(0, c.links[0]);
  c.venue.add_worker(0, "worker-1", 1'000'000, 0);
  c.connect(0);
  for (book::OrderKey k = 1; k <= 4; ++k) CHECK(c.venue.submit(0, limit(k, 1, book::Side::buy, 90 + static_cast<core::Ticks>(k), 1), core::Priority::normal));
  CHECK_FALSE(c.venue.submit(0, limit(5, 1, book::Side::buy, 99, 1), core::Priority::normal));
  c.venue.cancel({0, 1, 1}, 0);
  c.venue.cancel({0, 1, 2}, 0);
  CHECK(c.venue.link(c.links[0]).outstanding == 6);
  c.settle();
  CHECK(c.venue.link(c.links[0]).outstanding == 0);
  const auto seen = c.sink.of(0);
  REQUIRE(seen.size() == 6);  // four accepted, two done (cancelled), in order
  CHECK(seen[4].type == book::EventType::done);
  CHECK(seen[4].key == 1);
  CHECK(seen[5].key == 2);
}

TEST_CASE("Remote venue: a worker that restarts with nowhere to fail over gets its books back from the shadow") {
  const auto table = book_test::make_table();
  for (std::uint64_t seed = 30; seed < 34; ++seed) {
    CAPTURE(seed);
    Cluster c(table, 1);
    c.two_slots(0, 0);
    Embedded e(table);
    Traffic ta(seed), tb(seed);
    for (int i = 0; i < 300; ++i) {
      ta.step(c.venue);
      tb.step(e.venue);
      if (i % 9 == 8) {
        c.settle();
        e.settle();
      }
    }
    c.settle();
    e.settle();
    for (int i = 0; i < 40; ++i) {  // unanswered when the worker goes
      ta.step(c.venue);
      tb.step(e.venue);
    }
    REQUIRE(c.venue.shadow().resting_on(0) + c.venue.shadow().resting_on(1) > 0);
    // The process restarts (state gone); the gateway reconnects without a reset (same epoch).
    c.venue.on_link_down(c.links[0]);
    c.workers[0] = std::make_unique<WorkerHost>(table, book::EngineOptions{}, WorkerHostOptions{"worker-1", table.digest()});
    c.connect(0, false);
    CHECK(c.venue.link(c.links[0]).counters.rebuilds == 1);
    for (int i = 0; i < 150; ++i) {
      ta.step(c.venue);
      tb.step(e.venue);
      if (i % 9 == 8) {
        c.settle();
        e.settle();
      }
    }
    c.settle();
    e.settle();
    same_events(c.sink, e.sink);
  }
}

TEST_CASE("Remote venue: a restarted gateway resets its workers instead of reading their old results") {
  const auto table = book_test::make_table();
  Cluster first(table, 1);
  first.two_slots(0, 0);
  for (book::OrderKey k = 1; k <= 5; ++k) REQUIRE(first.venue.submit(0, limit(k, 1, book::Side::buy, 90, 1), core::Priority::normal));
  first.settle();
  // A new gateway (same static epoch) on the same worker process: its first HELLO resets it.
  RemoteVenue second(RemoteVenueOptions{"gw", 1, table.digest(), 100, 4096});
  Sink sink;
  second.attach(sink);
  const auto link = second.add_link("worker-1");
  second.assign(0, link);
  second.add_worker(0, "worker-1", 1'000'000, 0);
  CHECK(second.link(link).needs_reset);
  WorkerHost& worker = *first.workers[0];
  worker.on_link_closed();
  std::string out;
  REQUIRE(worker.on_bytes(second.hello(link, second.link(link).needs_reset), out));
  REQUIRE(second.on_bytes(link, out, app::Now{1, 1}));
  CHECK(worker.received_seq() == 0);
  CHECK(worker.venue().books().at(0).resting_orders == 0);  // the old run's books are gone
  REQUIRE(second.submit(0, limit(1, 2, book::Side::sell, 95, 1), core::Priority::normal));
  std::string back;
  REQUIRE(worker.on_bytes(second.take_output(link), back));
  while (worker.pump(app::Now{1, 1}, back)) {
  }
  REQUIRE(second.on_bytes(link, back, app::Now{1, 1}));
  REQUIRE(sink.seen.size() == 1);  // the new order's own answer, not the old run's cached one
  CHECK(sink.seen[0].type == book::EventType::accepted);
  CHECK(sink.seen[0].price == 95);
}

TEST_CASE("Remote venue: an order the worker refuses ends rejected, not silently") {
  const auto table = book_test::make_table();
  Cluster c(table, 1);
  c.two_slots(0, 0);
  REQUIRE(c.venue.submit(0, limit(7, 1, book::Side::buy, 90, 1), core::Priority::normal));
  REQUIRE(c.venue.submit(0, limit(7, 1, book::Side::buy, 91, 1), core::Priority::normal));  // same key, still queued
  c.settle();
  const auto seen = c.sink.of(0);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0].type == book::EventType::rejected);  // answered first: refused at once
  CHECK(seen[0].price == 91);
  CHECK(seen[0].reason == static_cast<int>(book::RejectReason::duplicate_key));
  CHECK(seen[1].type == book::EventType::accepted);
}

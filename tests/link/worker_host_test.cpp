// A worker process's end of the link, driven with frames as a gateway sends them (no sockets):
// the HELLO rules, one RESULT per command with all of its events, queued orders, re-sends after a
// reconnect applied exactly once, epochs, reset, and a book restored with LOAD_BOOK.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "book/book_fixture.hpp"
#include "tradeshard/link/order_shadow.hpp"
#include "tradeshard/link/worker_host.hpp"

using namespace tradeshard;
using namespace tradeshard::link;
using book_test::btc;
using book_test::limit;

namespace {

struct Received {
  std::uint64_t seq;
  FrameType type;
  Message message;
};

std::vector<Received> frames_of(const std::string& bytes) {
  std::vector<Received> out;
  FrameReader r;
  r.feed(bytes);
  while (auto f = r.next()) {
    std::string error;
    auto m = decode(*f, error);
    REQUIRE_MESSAGE(m.has_value(), error);
    out.push_back({f->seq, f->type, std::move(*m)});
  }
  REQUIRE(r.error().empty());
  REQUIRE(r.buffered() == 0);
  return out;
}

// A gateway's side, just enough: numbered commands, the bytes the host answers.
struct Gateway {
  explicit Gateway(WorkerHost& h) : host(h) {}
  WorkerHost& host;
  std::uint64_t seq = 0;
  bool open = true;

  std::vector<Received> send_raw(const std::string& bytes) {
    std::string out;
    open = host.on_bytes(bytes, out);
    return frames_of(out);
  }
  std::vector<Received> hello(std::uint64_t epoch, std::uint64_t digest, bool reset = false,
                              std::uint64_t resend_from = 0) {
    std::string b;
    append(b, 0, Hello{epoch, digest, 100, reset, resend_from, "gw-test"});
    return send_raw(b);
  }
  template <class M>
  std::vector<Received> send(const M& m) {
    std::string b;
    append(b, ++seq, m);
    return send_raw(b);
  }
  std::vector<Received> pump() {
    std::string out;
    while (host.pump(app::Now{1, 1}, out)) {
    }
    return frames_of(out);
  }
};

const Result& result(const Received& r) { return std::get<Result>(r.message); }

OrderCommand order(const book::NewOrder& o, std::uint32_t slot = 0) { return OrderCommand{slot, core::Priority::normal, o}; }

}  // namespace

TEST_CASE("Worker host: HELLO first, same instruments, no older epoch") {
  const auto table = book_test::make_table();
  WorkerHost host(table, {}, WorkerHostOptions{"worker-1", table.digest()});
  {
    Gateway g(host);
    const auto r = g.send(order(limit(1, 1, book::Side::buy, 100, 5)));
    CHECK_FALSE(g.open);
    REQUIRE(r.size() == 1);
    CHECK(std::get<Refuse>(r[0].message).code == RefuseCode::bad_frame);
    CHECK(host.error().find("expected HELLO") != std::string::npos);
  }
  host.on_link_closed();
  {
    Gateway g(host);
    const auto r = g.hello(5, table.digest() + 1);
    CHECK_FALSE(g.open);
    CHECK(std::get<Refuse>(r.at(0).message).code == RefuseCode::config_mismatch);
  }
  host.on_link_closed();
  {
    Gateway g(host);
    const auto r = g.hello(5, table.digest());
    REQUIRE(g.open);
    const auto& w = std::get<Welcome>(r.at(0).message);
    CHECK(w.epoch == 5);
    CHECK(w.applied_seq == 0);
    CHECK(w.peer == "worker-1");
    std::string ping;
    append_ping(ping, 77, Ping{123});
    const auto pong = g.send_raw(ping);
    REQUIRE(pong.size() == 1);
    CHECK(pong[0].type == FrameType::pong);
    CHECK(pong[0].seq == 77);
    CHECK(std::get<Ping>(pong[0].message).sent_ns == 123);
  }
  host.on_link_closed();
  {
    Gateway old(host);
    const auto r = old.hello(4, table.digest());
    CHECK_FALSE(old.open);
    const auto& refuse = std::get<Refuse>(r.at(0).message);
    CHECK(refuse.code == RefuseCode::stale_epoch);
    CHECK(refuse.current_epoch == 5);
  }
}

TEST_CASE("Worker host: one RESULT per command with every event; a cancelled queued order answers first") {
  const auto table = book_test::make_table();
  WorkerHost host(table, {}, WorkerHostOptions{"w", table.digest()});
  Gateway g(host);
  g.hello(1, table.digest());
  CHECK(g.send(order(limit(1, 1, book::Side::sell, 100, 5))).empty());  // queued: answered at match
  CHECK(g.send(order(limit(2, 2, book::Side::buy, 100, 3))).empty());
  auto r = g.pump();
  REQUIRE(r.size() == 2);
  CHECK(r[0].seq == 1);
  CHECK(result(r[0]).events.size() == 1);  // accepted, rests
  CHECK(r[1].seq == 2);
  const auto& taker = result(r[1]).events;
  REQUIRE(taker.size() == 4);  // accepted, fill (taker), fill (maker), done (taker filled); the maker rests on
  CHECK(taker.front().type == book::EventType::accepted);
  CHECK(taker.back().type == book::EventType::done);

  // Cancel the resting remainder: its events come in the CANCEL's result.
  r = g.send(CancelCommand{0, 1, 1});
  REQUIRE(r.size() == 1);
  CHECK(r[0].seq == 3);
  REQUIRE(result(r[0]).events.size() == 1);
  CHECK(result(r[0]).events[0].done_reason == book::DoneReason::cancelled);
  // A cancel of what is not there: refused with the engine's reason.
  r = g.send(CancelCommand{0, 1, 1});
  CHECK(result(r.at(0)).outcome == Outcome::refused);
  CHECK(result(r.at(0)).reason == static_cast<std::uint8_t>(book::RejectReason::unknown_order));

  // An order cancelled while still queued: its own (empty) RESULT, then the cancel's.
  CHECK(g.send(order(limit(9, 1, book::Side::buy, 90, 1))).empty());
  r = g.send(CancelCommand{0, 1, 9});
  REQUIRE(r.size() == 2);
  CHECK(r[0].seq == 5);
  CHECK(result(r[0]).events.empty());
  CHECK(r[1].seq == 6);
  CHECK(result(r[1]).events.at(0).type == book::EventType::done);
  CHECK(g.pump().empty());
}

TEST_CASE("Worker host: commands re-sent after a reconnect are applied once; results made offline wait") {
  const auto table = book_test::make_table();
  WorkerHost host(table, {}, WorkerHostOptions{"w", table.digest()});
  std::vector<std::string> sent;  // the gateway keeps every command it has no RESULT for
  {
    Gateway g(host);
    g.hello(7, table.digest());
    for (book::OrderKey k = 1; k <= 5; ++k) {
      std::string b;
      append(b, ++g.seq, order(limit(k, static_cast<book::AccountId>(k), k % 2 ? book::Side::sell : book::Side::buy, 100, 2)));
      sent.push_back(b);
      CHECK(g.send_raw(b).empty());
    }
    host.on_link_closed();  // gone before the worker matched anything
  }
  std::string offline;
  while (host.pump(app::Now{1, 1}, offline)) {
  }
  CHECK(offline.empty());  // no link: results wait in the cache
  const auto received_before = host.venue().books().at(0).orders_received;
  CHECK(received_before == 5);

  Gateway again(host);
  const auto w = again.hello(7, table.digest());
  CHECK(std::get<Welcome>(w.at(0).message).applied_seq == 5);
  std::vector<Received> answers;
  for (const auto& b : sent) {
    auto r = again.send_raw(b);
    answers.insert(answers.end(), r.begin(), r.end());
  }
  REQUIRE(answers.size() == 5);
  for (std::size_t i = 0; i < answers.size(); ++i) CHECK(answers[i].seq == i + 1);
  CHECK(host.venue().books().at(0).orders_received == received_before);  // nothing applied twice
  CHECK(host.stats().duplicates == 5);
  again.seq = 5;
  CHECK(again.send(order(limit(6, 6, book::Side::buy, 100, 2))).empty());
  CHECK(again.pump().size() == 1);
  // A gap in the sequence is a protocol error.
  std::string gap;
  append(gap, 9, CancelCommand{0, 6, 6});
  const auto r = again.send_raw(gap);
  CHECK_FALSE(again.open);
  CHECK(host.error().find("seq 9 after 6") != std::string::npos);
  CHECK(std::get<Refuse>(r.at(0).message).code == RefuseCode::bad_frame);
}

TEST_CASE("Worker host: after a reconnect the RESULTs the gateway lacks come in the order they were made") {
  // A normal buy (seq 1) and a vip sell (seq 2) queued together: the vip lane goes first, so the
  // sell rests (RESULT 2 made first) and the buy trades with it (RESULT 1, whose maker fill is the
  // sell's). Both made while the link was down. Replayed in seq order, the gateway would see the
  // fill against an order it has not seen accepted yet. Failed before the fix: RESULT 1 came first.
  const auto table = book_test::make_table();
  WorkerHost host(table, {}, WorkerHostOptions{"w", table.digest()});
  std::vector<std::string> sent;
  {
    Gateway g(host);
    g.hello(7, table.digest());
    for (const auto& c : {OrderCommand{0, core::Priority::normal, limit(1, 1, book::Side::buy, 100, 2)},
                          OrderCommand{0, core::Priority::vip, limit(2, 2, book::Side::sell, 100, 2)}}) {
      std::string b;
      append(b, ++g.seq, c);
      sent.push_back(b);
      CHECK(g.send_raw(b).empty());
    }
    host.on_link_closed();
  }
  std::string offline;
  while (host.pump(app::Now{1, 1}, offline)) {
  }
  REQUIRE(offline.empty());

  Gateway again(host);
  std::vector<Received> answers = again.hello(7, table.digest(), false, 1);  // nothing answered from seq 1 on
  for (const auto& b : sent) {
    auto r = again.send_raw(b);
    answers.insert(answers.end(), r.begin(), r.end());
  }
  REQUIRE(answers.size() == 3);
  CHECK(answers[0].type == FrameType::welcome);
  CHECK(answers[1].seq == 2);  // the sell's: accepted, resting
  CHECK(result(answers[1]).events.at(0).type == book::EventType::accepted);
  CHECK(answers[2].seq == 1);  // then the buy's, with the trade against it
  bool traded = false;
  for (const auto& e : result(answers[2]).events) traded = traded || e.type == book::EventType::fill;
  CHECK(traded);
  CHECK(host.stats().duplicates == 2);  // the re-sent commands: recognised, not answered twice
}

TEST_CASE("Worker host: a new epoch keeps the books and drops the old gateway's queue; reset drops all") {
  const auto table = book_test::make_table();
  WorkerHost host(table, {}, WorkerHostOptions{"w", table.digest()});
  {
    Gateway g(host);
    g.hello(1, table.digest());
    g.send(order(limit(1, 1, book::Side::buy, 99, 4)));
    g.pump();
    g.send(order(limit(2, 2, book::Side::buy, 98, 4)));  // still queued when the gateway goes
    host.on_link_closed();
  }
  Gateway next(host);
  const auto w = next.hello(2, table.digest());
  CHECK(std::get<Welcome>(w.at(0).message).applied_seq == 0);  // a new sequence
  CHECK(host.stats().dropped_queued == 1);
  std::vector<app::DepthLevel> bids, asks;
  (void)host.venue().depth(*host.local_slot(0), btc, 10, bids, asks);
  REQUIRE(bids.size() == 1);  // order 1 rests on; order 2 never reached the book
  CHECK(bids[0].price == 99);
  CHECK(next.pump().empty());
  host.on_link_closed();

  Gateway reset(host);
  reset.hello(2, table.digest(), true);
  (void)host.venue().depth(*host.local_slot(0), btc, 10, bids, asks);
  CHECK(bids.empty());
}

TEST_CASE("Worker host: a full lane answers queue_full at once; LOAD_BOOK rests an exported book") {
  const auto table = book_test::make_table();
  WorkerHostOptions o{"w", table.digest()};
  o.queue_capacity = 2;
  WorkerHost host(table, {}, o);
  Gateway g(host);
  g.hello(1, table.digest());
  CHECK(g.send(order(limit(1, 1, book::Side::buy, 95, 1))).empty());
  CHECK(g.send(order(limit(2, 1, book::Side::buy, 96, 1))).empty());
  const auto full = g.send(order(limit(3, 1, book::Side::buy, 97, 1)));
  REQUIRE(full.size() == 1);
  CHECK(result(full[0]).outcome == Outcome::queue_full);
  g.pump();

  // A book exported by the gateway's shadow of another worker, rested on slot 4 of this one.
  book::MatchingEngine other(table, {});
  OrderShadow shadow;
  book::EventBuffer ev;
  (void)other.submit(limit(10, 3, book::Side::sell, 105, 2), ev);
  (void)other.submit(limit(11, 4, book::Side::sell, 105, 3), ev);
  (void)other.submit(limit(12, 5, book::Side::buy, 101, 1), ev);
  shadow.apply(2, ev);
  auto r = g.send(LoadBookCommand{4, shadow.export_book(2, btc)});
  CHECK(result(r.at(0)).outcome == Outcome::applied);
  CHECK(host.venue().books().at(*host.local_slot(4)).resting_orders == 3);
  r = g.send(LoadBookCommand{4, shadow.export_book(2, btc)});  // not empty any more
  CHECK(result(r.at(0)).outcome == Outcome::import_failed);
  CHECK(result(r.at(0)).reason == static_cast<std::uint8_t>(book::ImportError::book_not_empty));
  r = g.send(DropBookCommand{4, btc});
  CHECK(result(r.at(0)).outcome == Outcome::applied);
  CHECK(host.venue().books().at(*host.local_slot(4)).resting_orders == 0);
}

TEST_CASE("Worker host: garbage on the link is refused with the reader's reason") {
  const auto table = book_test::make_table();
  WorkerHost host(table, {}, WorkerHostOptions{"w", table.digest()});
  Gateway g(host);
  const auto r = g.send_raw(std::string(20, 'x'));
  CHECK_FALSE(g.open);
  CHECK(host.error().find("bad magic") != std::string::npos);
  CHECK(std::get<Refuse>(r.at(0).message).code == RefuseCode::bad_frame);
}

TEST_CASE("Worker host: the result cache drops the oldest made, so a late-matched order's result survives") {
  const auto table = book_test::make_table();
  WorkerHostOptions o{"w", table.digest()};
  o.result_cache = 2;
  WorkerHost host(table, {}, o);
  std::string sent_normal;
  {
    Gateway g(host);
    g.hello(1, table.digest());
    append(sent_normal, ++g.seq, order(limit(1, 1, book::Side::buy, 90, 1)));  // seq 1, normal lane
    CHECK(g.send_raw(sent_normal).empty());
    CHECK(g.send(OrderCommand{0, core::Priority::emergency, limit(2, 1, book::Side::buy, 91, 1)}).empty());  // seq 2
    CHECK(g.send(OrderCommand{0, core::Priority::emergency, limit(3, 1, book::Side::buy, 92, 1)}).empty());  // seq 3
    host.on_link_closed();  // the results are made while no link is up
  }
  std::string offline;
  while (host.pump(app::Now{1, 1}, offline)) {
  }
  // Made in the order 2, 3, 1: with two places, 2 goes, 1 (the lowest seq, made last) stays.
  Gateway again(host);
  again.hello(1, table.digest());
  const auto r = again.send_raw(sent_normal);
  REQUIRE_MESSAGE(again.open, host.error());
  REQUIRE(r.size() == 1);
  CHECK(r[0].seq == 1);
  CHECK(result(r[0]).events.at(0).type == book::EventType::accepted);
}

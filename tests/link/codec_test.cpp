// The gateway <-> worker link's frames on their own: every message round-trips byte for byte,
// a stream splits into the same frames however it is cut, and every malformed frame is refused
// with a reason (never a crash, never a default value).
#include <doctest/doctest.h>

#include <string>

#include "tradeshard/link/codec.hpp"

using namespace tradeshard;
using namespace tradeshard::link;

namespace {

std::vector<std::pair<std::uint64_t, Message>> samples() {
  book::Event fill;
  fill.type = book::EventType::fill;
  fill.side = core::Side::sell;
  fill.liquidity = book::Liquidity::maker;
  fill.account = 7;
  fill.instrument = 2;
  fill.key = 0xfedcba9876543210ull;
  fill.counterparty = 99;
  fill.trade_id = 12345;
  fill.price = -5;  // signed values survive
  fill.qty = 3;
  fill.remaining = 0;
  book::Event done = fill;
  done.type = book::EventType::done;
  done.done_reason = book::DoneReason::self_trade;
  done.priority_kept = true;
  book::BookImage image;
  image.instrument = 3;
  image.last_trade = 50'000'10;
  image.orders = {{1, 10, core::Side::buy, 100, 5, 1}, {2, 11, core::Side::sell, 101, 7, 0}};
  return {
      {0, Hello{42, 0x1122334455667788ull, 100, true, 17, "gw-1"}},
      {0, Welcome{42, 17, "worker-2"}},
      {0, Refuse{RefuseCode::stale_epoch, 43, "epoch 42 is older than 43"}},
      {5, Ping{123456789}},
      {1, OrderCommand{1, core::Priority::vip,
                       book::NewOrder{77, 7, 2, core::Side::buy, book::OrderType::limit, book::TimeInForce::ioc, 5000, 2}}},
      {2, CancelCommand{1, 7, 77}},
      {3, ReplaceCommand{1, 7, 77, 5001, 4}},
      {4, CancelAllCommand{0, {{7, 1}, {8, 2}, {9, 3}}}},
      {5, CancelAllCommand{0, {}}},
      {6, LoadBookCommand{2, image}},
      {7, DropBookCommand{2, 3}},
      {8, Result{1, Outcome::applied, 0, {fill, done}}},
      {9, Result{1, Outcome::refused, static_cast<std::uint8_t>(book::RejectReason::unknown_order), {}}},
      {10, TickBatch{{TickItem{0, 3, market::Quote{5'000'000'000'000, 5'000'100'000'000, 150'000'000, 120'000'000, 1700000000123},
                               1700000000200},
                      TickItem{1, 4, market::Quote{-1, 2, 3, 4, 0}, -5}}}},
      {11, TickBatch{}},
      {10, NodeOutput{{NodeSignal{0, 3, core::Side::sell, market::StrategyKind::imbalance, 5'000'000'000'000, 100'000'000,
                                  1700000000123}},
                      {NodeBar{1, 4, market::Interval::m1, market::Bar{1700000000000, 10, 12, 9, 11, 42}}}}},
      {12, NodeOutput{}},
  };
}

}  // namespace

TEST_CASE("link: every message round-trips, and its bytes are canonical") {
  for (const auto& [seq, m] : samples()) {
    std::string wire;
    append(wire, seq, m);
    CAPTURE(wire.size());
    FrameReader reader;
    reader.feed(wire);
    const auto f = reader.next();
    REQUIRE(f.has_value());
    CHECK(f->seq == seq);
    CHECK(f->payload.size() + header_bytes == wire.size());
    std::string error;
    const auto back = decode(*f, error);
    REQUIRE_MESSAGE(back.has_value(), error);
    CHECK(*back == m);
    std::string again;
    append(again, seq, *back);
    CHECK(again == wire);
    CHECK_FALSE(reader.next().has_value());
    CHECK(reader.error().empty());
  }
  std::string pong;
  append_pong(pong, 5, Ping{1});
  FrameReader r;
  r.feed(pong);
  const auto f = r.next();
  REQUIRE(f.has_value());
  CHECK(f->type == FrameType::pong);
  CHECK(pong.substr(0, 2) == "TS");
}

TEST_CASE("link: a stream cut anywhere gives the same frames") {
  std::string wire;
  std::vector<FrameType> types;
  for (const auto& [seq, m] : samples()) append(wire, seq, m);
  FrameReader whole;
  whole.feed(wire);
  while (auto f = whole.next()) types.push_back(f->type);
  REQUIRE(types.size() == samples().size());
  for (std::size_t cut = 1; cut <= 37; ++cut) {
    FrameReader r;
    std::vector<FrameType> got;
    for (std::size_t at = 0; at < wire.size(); at += cut) {
      r.feed(std::string_view(wire).substr(at, cut));
      while (auto f = r.next()) {
        std::string error;
        CHECK_MESSAGE(decode(*f, error).has_value(), error);
        got.push_back(f->type);
      }
    }
    CHECK(got == types);
    CHECK(r.buffered() == 0);
  }
}

TEST_CASE("link: malformed frames are refused with a reason") {
  std::string good;
  append(good, 1, OrderCommand{0, core::Priority::normal, book::NewOrder{1, 1, 0, core::Side::buy, book::OrderType::limit, book::TimeInForce::gtc, 10, 1}});
  auto refused_stream = [](std::string bytes, std::size_t cap = default_max_payload) {
    FrameReader r(cap);
    r.feed(bytes);
    CHECK_FALSE(r.next().has_value());
    return r.error();
  };
  std::string bad = good;
  bad[0] = 'X';
  CHECK(refused_stream(bad).find("magic") != std::string::npos);
  bad = good;
  bad[2] = 2;
  CHECK(refused_stream(bad).find("version 2") != std::string::npos);
  bad = good;
  bad[3] = 99;
  CHECK(refused_stream(bad).find("unknown frame type 99") != std::string::npos);
  CHECK(refused_stream(good, 8).find("over the cap") != std::string::npos);
  // A frame not yet whole is not an error.
  FrameReader partial;
  partial.feed(std::string_view(good).substr(0, good.size() - 1));
  CHECK_FALSE(partial.next().has_value());
  CHECK(partial.error().empty());

  auto refused_payload = [](FrameType type, std::string payload) {
    std::string error;
    CHECK_FALSE(decode(Frame{type, 1, payload}, error).has_value());
    return error;
  };
  const std::string order_payload = good.substr(header_bytes);
  CHECK(refused_payload(FrameType::order, order_payload + "x").find("after the message") != std::string::npos);
  CHECK(refused_payload(FrameType::order, order_payload.substr(0, 10)).find("ends inside") != std::string::npos);
  std::string bad_lane = order_payload;
  bad_lane[4] = 3;
  CHECK(refused_payload(FrameType::order, bad_lane).find("lane out of range") != std::string::npos);
  std::string bad_side = order_payload;
  bad_side[4 + 1 + 8 + 4 + 4] = 2;
  CHECK(refused_payload(FrameType::order, bad_side).find("side out of range") != std::string::npos);

  std::string result;
  append(result, 1, Result{0, Outcome::applied, 0, {book::Event{}}});
  std::string result_payload = result.substr(header_bytes);
  std::string wrong_count = result_payload;
  wrong_count[6] = 2;  // claims two events, carries one
  CHECK(refused_payload(FrameType::result, wrong_count).find("does not match") != std::string::npos);
  std::string bad_event = result_payload;
  bad_event[10] = 9;  // event type
  CHECK(refused_payload(FrameType::result, bad_event).find("event type out of range") != std::string::npos);
  // Node frames: counts that do not fit, enums out of range.
  std::string ticks_payload;
  append(ticks_payload, 1, TickBatch{{TickItem{}}});
  ticks_payload.erase(0, header_bytes);
  std::string short_ticks = ticks_payload.substr(0, ticks_payload.size() - 1);
  CHECK(refused_payload(FrameType::ticks, short_ticks).find("does not match") != std::string::npos);
  std::string out_payload;
  append(out_payload, 1, NodeOutput{{NodeSignal{}}, {NodeBar{}}});
  out_payload.erase(0, header_bytes);
  std::string bad_strategy = out_payload;
  bad_strategy[13] = 7;  // the signal's strategy
  CHECK(refused_payload(FrameType::node_output, bad_strategy).find("strategy out of range") != std::string::npos);
  std::string too_many = out_payload;
  too_many[0] = 9;  // nine signals claimed
  CHECK(refused_payload(FrameType::node_output, too_many).find("does not fit") != std::string::npos);
  std::string bad_interval = out_payload;
  bad_interval[4 + signal_bytes + 4 + 8] = 2;
  CHECK(refused_payload(FrameType::node_output, bad_interval).find("interval out of range") != std::string::npos);
  std::string huge_name;
  huge_name.append("\x01\0\0\0\0\0\0\0", 8);
  huge_name.append(8, '\0');
  huge_name.append("\0\0\0\0\0", 5);  // heartbeat, reset
  huge_name.append(8, '\0');            // resend_from
  huge_name.append("\xff\xff", 2);
  CHECK(refused_payload(FrameType::hello, huge_name).find("longer than 256") != std::string::npos);
}

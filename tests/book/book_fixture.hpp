#pragma once
// Shared helpers for the book tests: a two-instrument table and event filters.
#include <vector>

#include "tradeshard/book/matching_engine.hpp"

namespace book_test {

using namespace tradeshard::book;
using tradeshard::core::Instrument;
using tradeshard::core::InstrumentTable;

inline constexpr InstrumentId btc = 0;
inline constexpr InstrumentId eth = 1;  // banded (10%), qty range [2, 100]

inline InstrumentTable make_table() {
  Instrument a;
  a.symbol = "BTCUSDT";
  a.min_qty = 1;
  a.max_qty = 1'000'000;
  Instrument b;
  b.symbol = "ETHUSDT";
  b.min_qty = 2;
  b.max_qty = 100;
  b.price_band_bps = 1000;
  return InstrumentTable({a, b});
}

inline NewOrder limit(OrderKey key, AccountId acct, Side side, Ticks price, Lots qty,
                      TimeInForce tif = TimeInForce::gtc, InstrumentId ins = btc) {
  return NewOrder{key, acct, ins, side, OrderType::limit, tif, price, qty};
}

inline NewOrder market(OrderKey key, AccountId acct, Side side, Lots qty,
                       TimeInForce tif = TimeInForce::ioc, InstrumentId ins = btc) {
  return NewOrder{key, acct, ins, side, OrderType::market, tif, 0, qty};
}

inline std::vector<Event> of_type(const EventBuffer& ev, EventType type) {
  std::vector<Event> out;
  for (const Event& e : ev) {
    if (e.type == type) out.push_back(e);
  }
  return out;
}

inline std::vector<Event> fills_of(const EventBuffer& ev, OrderKey key) {
  std::vector<Event> out;
  for (const Event& e : ev) {
    if (e.type == EventType::fill && e.key == key) out.push_back(e);
  }
  return out;
}

// The done event of `key`, or an event with type accepted when there is none.
inline Event done_of(const EventBuffer& ev, OrderKey key) {
  for (const Event& e : ev) {
    if ((e.type == EventType::done || e.type == EventType::rejected) && e.key == key) return e;
  }
  return Event{};
}

}  // namespace book_test

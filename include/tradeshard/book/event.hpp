#pragma once
// Events the engine appends after each state change. Plain 64-byte values: the caller owns and
// reuses the vector, so steady-state commands allocate nothing.
#include <cstdint>
#include <vector>

#include "tradeshard/book/order.hpp"

namespace tradeshard::book {

enum class EventType : std::uint8_t {
  accepted,  // order passed validation (always the first event of an order)
  rejected,  // terminal: order never entered the book (reject_reason says why)
  fill,      // one side of one trade; both sides get one
  replaced,  // replace applied; priority_kept says whether time priority survived
  done,      // terminal: done_reason; remaining = quantity that will never trade
};

struct Event {
  EventType type = EventType::accepted;
  Side side = Side::buy;                      // side of `key`
  Liquidity liquidity = Liquidity::taker;     // fill only
  RejectReason reject_reason = RejectReason::ok;
  DoneReason done_reason = DoneReason::filled;
  bool priority_kept = false;                 // replaced only
  AccountId account = 0;                      // owner of `key`: who must be told
  InstrumentId instrument = 0;
  OrderKey key = 0;
  OrderKey counterparty = 0;                  // fill only
  std::uint64_t trade_id = 0;                 // fill only; engine-local, increasing from 1
  Ticks price = 0;      // fill: trade price; accepted/replaced: order price (0 for market)
  Lots qty = 0;         // fill: this fill; accepted/replaced/done/rejected: total quantity
  Lots remaining = 0;   // fill/replaced/accepted: leaves after; done/rejected: leaves dropped
};

using EventBuffer = std::vector<Event>;

}  // namespace tradeshard::book

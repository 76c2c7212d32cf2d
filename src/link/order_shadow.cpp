// The gateway's shadow of resting orders (include/tradeshard/link/order_shadow.hpp).
#include "tradeshard/link/order_shadow.hpp"

#include <algorithm>

namespace tradeshard::link {

void OrderShadow::index(book::OrderKey key, const Order& o) { books_[{o.worker, o.instrument}][o.priority] = key; }

void OrderShadow::unindex(book::OrderKey key, const Order& o) {
  const auto b = books_.find({o.worker, o.instrument});
  if (b == books_.end()) return;
  const auto it = b->second.find(o.priority);
  if (it != b->second.end() && it->second == key) b->second.erase(it);
  if (b->second.empty()) books_.erase(b);
}

void OrderShadow::apply(std::uint32_t worker, std::span<const book::Event> events) {
  for (const auto& e : events) {
    switch (e.type) {
      case book::EventType::accepted: {
        // Rests unless later events of this command end it (fills to zero, expiry, done).
        Order o{worker, e.account, e.instrument, e.side, e.price, e.remaining, e.qty - e.remaining, next_priority_++};
        if (const auto old = orders_.find(e.key); old != orders_.end()) {  // a key reused: the old one is gone
          unindex(old->first, old->second);
          orders_.erase(old);
        }
        orders_.emplace(e.key, o);
        index(e.key, o);
        break;
      }
      case book::EventType::fill: {
        if (e.price > 0) last_trade_[e.instrument] = e.price;
        const auto it = orders_.find(e.key);
        if (it == orders_.end()) break;
        it->second.leaves = e.remaining;
        it->second.filled += e.qty;
        break;
      }
      case book::EventType::replaced: {
        const auto it = orders_.find(e.key);
        if (it == orders_.end()) break;
        Order& o = it->second;
        o.price = e.price;
        o.leaves = e.remaining;
        o.filled = e.qty - e.remaining;
        if (!e.priority_kept) {  // to the back of its (new) price level
          unindex(it->first, o);
          o.priority = next_priority_++;
          index(it->first, o);
        }
        break;
      }
      case book::EventType::done: {
        const auto it = orders_.find(e.key);
        if (it == orders_.end()) break;
        unindex(it->first, it->second);
        orders_.erase(it);
        break;
      }
      case book::EventType::rejected: break;  // never rested
    }
  }
}

book::BookImage OrderShadow::export_book(std::uint32_t worker, core::InstrumentId instrument) const {
  book::BookImage image;
  image.instrument = instrument;
  image.last_trade = last_trade(instrument);
  const auto b = books_.find({worker, instrument});
  if (b == books_.end()) return image;
  std::vector<std::pair<const Order*, book::OrderKey>> bids, asks;
  for (const auto& [priority, key] : b->second) {
    const Order& o = orders_.at(key);
    if (o.leaves <= 0) continue;  // filled to zero: its done event follows in the same command
    (o.side == core::Side::buy ? bids : asks).emplace_back(&o, key);
  }
  // Already in priority order; a stable sort by price keeps it within a level.
  std::stable_sort(bids.begin(), bids.end(), [](const auto& a, const auto& b) { return a.first->price > b.first->price; });
  std::stable_sort(asks.begin(), asks.end(), [](const auto& a, const auto& b) { return a.first->price < b.first->price; });
  for (const auto* side : {&bids, &asks}) {
    for (const auto& [o, key] : *side) {
      image.orders.push_back(book::BookImage::Order{key, o->account, o->side, o->price, o->leaves, o->filled});
    }
  }
  return image;
}

std::vector<core::InstrumentId> OrderShadow::instruments_on(std::uint32_t worker) const {
  std::vector<core::InstrumentId> out;
  for (auto it = books_.lower_bound({worker, 0}); it != books_.end() && it->first.first == worker; ++it) {
    out.push_back(it->first.second);
  }
  return out;
}

std::size_t OrderShadow::resting_on(std::uint32_t worker) const {
  std::size_t n = 0;
  for (auto it = books_.lower_bound({worker, 0}); it != books_.end() && it->first.first == worker; ++it) {
    n += it->second.size();
  }
  return n;
}

void OrderShadow::move_book(std::uint32_t from, std::uint32_t to, core::InstrumentId instrument) {
  const auto b = books_.find({from, instrument});
  if (b == books_.end() || from == to) return;
  auto keys = std::move(b->second);
  books_.erase(b);
  for (const auto& [priority, key] : keys) orders_.at(key).worker = to;
  auto& target = books_[{to, instrument}];
  target.insert(keys.begin(), keys.end());
}

void OrderShadow::forget_book(std::uint32_t worker, core::InstrumentId instrument) {
  const auto b = books_.find({worker, instrument});
  if (b == books_.end()) return;
  for (const auto& [priority, key] : b->second) orders_.erase(key);
  books_.erase(b);
}

const OrderShadow::Order* OrderShadow::find(book::OrderKey key) const {
  const auto it = orders_.find(key);
  return it == orders_.end() ? nullptr : &it->second;
}

core::Ticks OrderShadow::last_trade(core::InstrumentId instrument) const {
  const auto it = last_trade_.find(instrument);
  return it == last_trade_.end() ? 0 : it->second;
}

}  // namespace tradeshard::link

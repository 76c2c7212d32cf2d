#include <doctest/doctest.h>

#include <random>
#include <unordered_map>

#include "tradeshard/book/order_index.hpp"

using namespace tradeshard::book;

// Ensure the open-addressing index agrees with std::unordered_map under heavy insert/erase
// churn, i.e. backward-shift deletion never loses or resurrects a key, across rehashes.
TEST_CASE("OrderIndex: matches a reference map under churn") {
  OrderPool pool;
  OrderIndex index;
  std::unordered_map<OrderKey, Slot> ref;
  std::mt19937_64 rng(7);
  OrderKey next = 1;
  for (int i = 0; i < 200000; ++i) {
    if (rng() % 100 < 55 || ref.empty()) {
      // Sequential keys with gaps collide on the low bits unless the hash mixes well.
      const OrderKey key = (next += 1 + rng() % 3) << 8;
      const Slot s = pool.allocate();
      pool[s].key = key;
      index.insert(key, s);
      ref.emplace(key, s);
    } else {
      auto it = ref.begin();
      std::advance(it, static_cast<long>(rng() % std::min<std::size_t>(ref.size(), 8)));
      index.erase(it->first, it->second);
      pool.release(it->second);
      ref.erase(it);
    }
    if (i % 997 == 0) {
      for (const auto& [k, s] : ref) REQUIRE(index.find(k, pool) == s);
      CHECK(index.find(next << 9 | 1, pool) == no_slot);
    }
  }
  CHECK(index.size() == ref.size());
}

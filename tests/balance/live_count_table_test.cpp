#include <doctest/doctest.h>

#include <map>
#include <random>
#include <utility>

#include "tradeshard/balance/live_count_table.hpp"

using tradeshard::balance::LiveCountTable;

// Ensure random increments and decrements agree with a std::map model, including erase chains.
TEST_CASE("LiveCountTable: matches a map model under churn") {
  LiveCountTable table;
  std::map<std::pair<std::uint64_t, std::uint32_t>, std::uint32_t> model;
  std::mt19937_64 rng(7);
  for (int step = 0; step < 200'000; ++step) {
    // Few distinct symbols and small hashes force collisions and long probe chains.
    const LiveCountTable::Key key{rng() % 512, static_cast<std::uint32_t>(rng() % 4)};
    const auto model_key = std::make_pair(key.symbol, key.tag);
    if (rng() % 2 == 0) {
      ++table.find_or_insert(key).count;
      ++model[model_key];
    } else if (LiveCountTable::Entry* e = table.find(key)) {
      REQUIRE(model.count(model_key) == 1);
      const std::uint32_t left = table.decrement(e);
      if (--model[model_key] == 0) model.erase(model_key);
      REQUIRE(left == (model.count(model_key) ? model[model_key] : 0));
    } else {
      REQUIRE(model.count(model_key) == 0);
    }
  }
  REQUIRE(table.size() == model.size());
  for (const auto& [k, count] : model) {
    const LiveCountTable::Entry* e = table.find({k.first, k.second});
    REQUIRE(e != nullptr);
    CHECK(e->count == count);
  }
}

// Ensure the table empties completely and lookups of erased keys miss.
TEST_CASE("LiveCountTable: erase at zero") {
  LiveCountTable table;
  for (std::uint64_t i = 0; i < 1000; ++i) ++table.find_or_insert({i, 1}).count;
  CHECK(table.size() == 1000);
  CHECK(table.bucket_count() >= 2000);
  for (std::uint64_t i = 0; i < 1000; ++i) CHECK(table.decrement(table.find({i, 1})) == 0);
  CHECK(table.size() == 0);
  CHECK(table.find({5, 1}) == nullptr);
  CHECK(table.find({5, 2}) == nullptr);
}

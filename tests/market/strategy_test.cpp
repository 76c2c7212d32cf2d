#include <doctest/doctest.h>

#include "tradeshard/market/strategy.hpp"

using namespace tradeshard::market;
using tradeshard::core::Side;

namespace {

constexpr Scaled one = 100'000'000;  // 1.0 at 1e-8

Quote quote(Scaled bid, Scaled ask, Scaled bid_size, Scaled ask_size) {
  return Quote{bid, ask, bid_size, ask_size, 1'700'000'000'000};
}

}  // namespace

// Ensure the defaults are the seed's two strategies with the seed's parameters.
TEST_CASE("Strategy: defaults are the seed's") {
  const auto d = default_strategies();
  REQUIRE(d.size() == 2);
  CHECK(d[0].kind == StrategyKind::spread);
  CHECK(d[0].max_spread_bps == 1);
  CHECK(d[0].size == one);
  CHECK(d[1].kind == StrategyKind::imbalance);
  CHECK(d[1].ratio_num == 3);
  CHECK(d[1].ratio_den == 2);
  CHECK(d[1].size == 10'000 * one);
  CHECK(validate(d[0]) == StrategyConfigError::ok);
  CHECK(validate(d[1]) == StrategyConfigError::ok);
}

// Ensure spread buys at the ask strictly below 1 bp of the bid, sized min(bid_size, 1).
TEST_CASE("Strategy: spread threshold is exact") {
  const StrategyConfig c = default_strategies()[0];
  // bid 50000.00: 0.0001 * bid = 5.00
  const Scaled bid = 50'000 * one;
  auto d = evaluate(c, quote(bid, bid + 499 * one / 100, 3 * one, one));  // spread 4.99
  REQUIRE(d.has_value());
  CHECK(d->side == Side::buy);
  CHECK(d->price == bid + 499 * one / 100);
  CHECK(d->size == one);  // capped at 1.0
  d = evaluate(c, quote(bid, bid + 499 * one / 100, one / 4, one));
  REQUIRE(d.has_value());
  CHECK(d->size == one / 4);  // bid size below the cap
  CHECK_FALSE(evaluate(c, quote(bid, bid + 5 * one, one, one)).has_value());      // exactly 1 bp
  CHECK_FALSE(evaluate(c, quote(bid, bid + 6 * one, one, one)).has_value());
  CHECK_FALSE(evaluate(c, quote(bid, bid + one, 0, one)).has_value());  // nothing on the bid
  // Huge values would overflow 64-bit products; the comparison must still be right.
  CHECK(evaluate(c, quote(INT64_MAX / 2, INT64_MAX / 2 + 1, one, one)).has_value());
}

// Ensure imbalance buys above 1.5x bid size, sells above 1.5x ask size, and is silent at 1.5x.
TEST_CASE("Strategy: imbalance both sides") {
  const StrategyConfig c = default_strategies()[1];
  const Scaled bid = 100 * one;
  const Scaled ask = 101 * one;
  auto d = evaluate(c, quote(bid, ask, 151 * one / 100, one));
  REQUIRE(d.has_value());
  CHECK(d->side == Side::buy);
  CHECK(d->price == ask);
  CHECK(d->size == 10'000 * one);
  d = evaluate(c, quote(bid, ask, one, 151 * one / 100));
  REQUIRE(d.has_value());
  CHECK(d->side == Side::sell);
  CHECK(d->price == bid);
  CHECK_FALSE(evaluate(c, quote(bid, ask, 150 * one / 100, one)).has_value());
  CHECK_FALSE(evaluate(c, quote(bid, ask, one, 150 * one / 100)).has_value());
  CHECK_FALSE(evaluate(c, quote(bid, ask, 0, 0)).has_value());
}

// Ensure config validation names what is wrong, and names round-trip.
TEST_CASE("Strategy: config validation and names") {
  StrategyConfig c;
  c.max_spread_bps = 0;
  CHECK(validate(c) == StrategyConfigError::bad_threshold);
  c = StrategyConfig{.kind = StrategyKind::imbalance, .ratio_num = 1, .ratio_den = 2};
  CHECK(validate(c) == StrategyConfigError::bad_ratio);
  c = StrategyConfig{.size = 0};
  CHECK(validate(c) == StrategyConfigError::bad_size);
  c = StrategyConfig{.cooldown_ms = -1};
  CHECK(validate(c) == StrategyConfigError::bad_cooldown);
  CHECK(parse_strategy_kind("imbalance") == StrategyKind::imbalance);
  CHECK_FALSE(parse_strategy_kind("momentum").has_value());
  CHECK(parse_trigger(to_string(Trigger::every_tick)) == Trigger::every_tick);
  CHECK(parse_trigger("edge") == Trigger::edge);
}

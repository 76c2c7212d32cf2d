#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradeshard/core/hash.hpp"
#include "tradeshard/partition/partition_stats.hpp"
#include "tradeshard/partition/partitioner.hpp"

using namespace tradeshard::partition;

namespace {

Partitioner make(PartitionerConfig c) {
  auto r = Partitioner::create(std::move(c));
  REQUIRE(r.ok());
  return std::move(r.partitioner);
}

}  // namespace

// Ensure strategy names round-trip and unknown names are refused.
TEST_CASE("Partitioner: strategy names") {
  for (auto s : {Strategy::hash, Strategy::range, Strategy::list, Strategy::consistent_hash}) {
    CHECK(parse_strategy(to_string(s)) == s);
  }
  CHECK_FALSE(parse_strategy("Hash").has_value());
  CHECK_FALSE(parse_strategy("").has_value());
}

// Ensure hash placement is the stable hash mod P, never std::hash.
TEST_CASE("Partitioner: hash is stable_hash mod P") {
  const Partitioner p = make({.strategy = Strategy::hash, .partitions = 7});
  for (std::string s : {"BTCUSDT", "ETHUSDT", "EURUSD", "X"}) {
    CHECK(p.partition_of(s) == tradeshard::core::stable_hash(s) % 7);
  }
}

// Ensure ranges use an inclusive prefix upper bound and fall back when uncovered.
TEST_CASE("Partitioner: range with prefix bounds and fallback") {
  PartitionerConfig c{.strategy = Strategy::range, .partitions = 4};
  c.ranges = {{"N", "Z", 2}, {"A", "F", 0}, {"G", "M", 1}};
  SUBCASE("fixed fallback partition") {
    c.fallback = 3;
    const Partitioner p = make(c);
    CHECK(p.partition_of("AAVEUSDT") == 0);
    CHECK(p.partition_of("FTMUSDT") == 0);  // "F" bound includes every F... symbol
    CHECK(p.partition_of("GALAUSDT") == 1);
    CHECK(p.partition_of("MATICUSDT") == 1);
    CHECK(p.partition_of("XRPUSDT") == 2);
    CHECK(p.partition_of("1INCHUSDT") == 3);  // before "A"
    CHECK(p.partition_of("abc") == 3);        // after "Z"
  }
  SUBCASE("hash fallback") {
    const Partitioner p = make(c);
    CHECK(p.partition_of("1INCHUSDT") == tradeshard::core::stable_hash("1INCHUSDT") % 4);
  }
}

// Ensure bad range configs are named, not accepted.
TEST_CASE("Partitioner: range config errors") {
  PartitionerConfig c{.strategy = Strategy::range, .partitions = 2};
  c.ranges = {{"A", "F", 0}, {"E", "K", 1}};
  CHECK(Partitioner::create(c).error == PartitionerError::ranges_overlap);
  c.ranges = {{"A", "F", 0}, {"FTM", "K", 1}};  // FTM lies inside A..F*
  CHECK(Partitioner::create(c).error == PartitionerError::ranges_overlap);
  c.ranges = {{"K", "A", 0}};
  CHECK(Partitioner::create(c).error == PartitionerError::empty_range);
  c.ranges = {{"A", "B", 2}};
  CHECK(Partitioner::create(c).error == PartitionerError::partition_out_of_range);
  c.ranges = {{"A", "B", 0}};
  c.fallback = 5;
  CHECK(Partitioner::create(c).error == PartitionerError::partition_out_of_range);
  CHECK(Partitioner::create({.partitions = 0}).error == PartitionerError::zero_partitions);
}

// Ensure list placement honours the list, then its fallback, and refuses duplicates.
TEST_CASE("Partitioner: list with fallback") {
  PartitionerConfig c{.strategy = Strategy::list, .partitions = 8};
  c.symbols = {{"BTCUSDT", 5}, {"ETHUSDT", 5}, {"EURUSD", 1}};
  c.fallback = 7;
  const Partitioner p = make(c);
  CHECK(p.partition_of("BTCUSDT") == 5);
  CHECK(p.partition_of("ETHUSDT") == 5);
  CHECK(p.partition_of("EURUSD") == 1);
  CHECK(p.partition_of("SOLUSDT") == 7);
  c.symbols.push_back({"BTCUSDT", 2});
  CHECK(Partitioner::create(c).error == PartitionerError::duplicate_symbol);
  c.symbols = {{"BTCUSDT", 8}};
  CHECK(Partitioner::create(c).error == PartitionerError::partition_out_of_range);
}

// Ensure the consistent-hash ring reaches every partition, evenly enough, and deterministically.
TEST_CASE("Partitioner: consistent hash ring") {
  const PartitionerConfig c{.strategy = Strategy::consistent_hash, .partitions = 8,
                            .points_per_partition = 128};
  const Partitioner a = make(c);
  const Partitioner b = make(c);
  std::vector<double> counts(8, 0);
  for (int i = 0; i < 8000; ++i) {
    const std::string s = "SYM" + std::to_string(i);
    const PartitionId id = a.partition_of(s);
    REQUIRE(id < 8);
    CHECK(id == b.partition_of(s));
    counts[id] += 1;
  }
  const PartitionStats st = compute_stats(counts);
  CHECK(st.min_items > 0);
  CHECK(st.max_over_avg < 1.35);
  CHECK(Partitioner::create({.strategy = Strategy::consistent_hash, .points_per_partition = 0}).error ==
        PartitionerError::zero_points);
}

// Ensure the ring is consistent: one more partition takes about 1/9 of the symbols, all to itself.
TEST_CASE("Partitioner: consistent hash moves symbols only to a new partition") {
  const Partitioner p8 = make({.strategy = Strategy::consistent_hash, .partitions = 8,
                               .points_per_partition = 64});
  const Partitioner p9 = make({.strategy = Strategy::consistent_hash, .partitions = 9,
                               .points_per_partition = 64});
  int moved = 0;
  for (int i = 0; i < 9000; ++i) {
    const std::string s = "SYM" + std::to_string(i);
    if (p8.partition_of(s) == p9.partition_of(s)) continue;
    ++moved;
    CHECK(p9.partition_of(s) == 8);
  }
  CHECK(moved > 600);
  CHECK(moved < 1400);
}

// Ensure the stats match hand-computed values, including the min == 0 definitions.
TEST_CASE("PartitionStats: hand-computed values") {
  const std::vector<double> v{2, 4, 4, 4, 5, 5, 7, 9};
  const PartitionStats s = compute_stats(v);
  CHECK(s.partition_count == 8);
  CHECK(s.total_items == 40);
  CHECK(s.min_items == 2);
  CHECK(s.max_items == 9);
  CHECK(s.avg_items == doctest::Approx(5.0));
  CHECK(s.std_deviation == doctest::Approx(2.0));
  CHECK(s.imbalance_ratio == doctest::Approx(4.5));
  CHECK(s.max_over_avg == doctest::Approx(1.8));
  CHECK(s.empty_partitions == 0);

  const std::vector<double> with_empty{0, 3, 3};
  const PartitionStats e = compute_stats(with_empty);
  CHECK(e.imbalance_ratio == 0.0);  // undefined, as the seed
  CHECK(e.empty_partitions == 1);
  CHECK(e.max_over_avg == doctest::Approx(1.5));
  CHECK(e.std_deviation == doctest::Approx(1.4142135).epsilon(1e-6));

  const std::vector<double> all_empty{0, 0};
  CHECK(compute_stats(all_empty).imbalance_ratio == 1.0);
  CHECK(compute_stats(all_empty).max_over_avg == 1.0);
}

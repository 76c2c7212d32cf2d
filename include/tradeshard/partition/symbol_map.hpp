#pragma once
// Symbol -> partition -> processing node, with interned symbols. Interning gives each symbol a
// dense SymbolId (0, 1, 2, ... in first-seen order, never reused) and caches its node, so
// node_of(id) is one array index and route(string) one hash lookup. The table is bounded
// (max_symbols); past it route() answers symbol_table_full. Per-partition tick counters turn into
// measured load (ticks/s) when the caller samples them with its own clock.
// Owned by the event-loop thread; not thread-safe.
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tradeshard/partition/assignment.hpp"
#include "tradeshard/partition/partition_stats.hpp"
#include "tradeshard/partition/partitioner.hpp"

namespace tradeshard::partition {

using SymbolId = std::uint32_t;

struct SymbolMapConfig {
  PartitionerConfig partitioner{};
  std::vector<std::string> nodes{"node-1"};
  std::uint32_t max_symbols = 100'000;
  std::uint32_t max_symbol_length = 32;
  // Partition weight for placement = (1 - load_weight) * count share + load_weight * load share.
  double load_weight = 0.5;
  // Interned at start-up (e.g. every instrument in config) so the initial assignment is already
  // balanced by symbol count.
  std::vector<std::string> initial_symbols{};
};

enum class SymbolMapError : std::uint8_t {
  ok,
  partitioner,   // see partitioner_error
  assignment,    // see assignment_error
  bad_load_weight,
  zero_max_symbols,
  initial_symbol,  // see route_error
};

enum class RouteError : std::uint8_t { ok, empty_symbol, symbol_too_long, symbol_table_full };
[[nodiscard]] std::string_view to_string(RouteError e) noexcept;

struct Route {
  SymbolId symbol = 0;
  PartitionId partition = 0;
  NodeIndex node = 0;
  RouteError error = RouteError::ok;
  bool created = false;  // first time this symbol was seen
  [[nodiscard]] bool ok() const noexcept { return error == RouteError::ok; }
};

class SymbolMap;
struct SymbolMapResult;

class SymbolMap {
 public:
  [[nodiscard]] static SymbolMapResult create(SymbolMapConfig config);

  // Interns the symbol if new (bounded), counts one tick for its partition, returns its node.
  [[nodiscard]] Route route(std::string_view symbol) {
    const Route r = intern(symbol);
    if (r.ok()) ++ticks_since_sample_[r.partition];
    return r;
  }
  // Interns without counting a tick (e.g. symbols known from config at start-up). A memo hit is
  // answered inline; returned from a call, the Route went through the stack and its reload
  // stalled on store forwarding (three quarters of the lookup's time).
  [[nodiscard]] Route intern(std::string_view symbol) {
    if (symbol.size() - 1 < 16 && !memo_.empty()) {  // 1..16 bytes (empty: a default-made map)
      const ShortKey key = short_key(symbol);
      const ShortKey& m = memo_[memo_slot(key)];
      if (m.len == key.len && m.a == key.a && m.b == key.b) {
        Route r;
        r.symbol = m.id;
        r.partition = partition_of_[m.id];
        r.node = node_of_[m.id];
        return r;
      }
    }
    return intern_slow(symbol);
  }
  [[nodiscard]] std::optional<SymbolId> find(std::string_view symbol) const noexcept;
  [[nodiscard]] NodeIndex node_of(SymbolId id) const noexcept { return node_of_[id]; }
  [[nodiscard]] PartitionId partition_of(SymbolId id) const noexcept { return partition_of_[id]; }
  [[nodiscard]] const std::string& name(SymbolId id) const noexcept { return names_[id]; }
  [[nodiscard]] std::size_t symbol_count() const noexcept { return names_.size(); }
  [[nodiscard]] const std::vector<SymbolId>& symbols_in(PartitionId p) const noexcept {
    return members_[p];
  }
  void count_tick(SymbolId id) noexcept { ++ticks_since_sample_[partition_of_[id]]; }

  // Converts the tick counters since the last sample into ticks/s over elapsed_ms (> 0) and resets
  // them. The caller owns the clock.
  void sample_load(std::int64_t elapsed_ms);
  // Overrides the measured load (ticks/s per partition); size must equal the partition count.
  [[nodiscard]] bool set_partition_loads(std::span<const double> loads);
  [[nodiscard]] const std::vector<double>& partition_loads() const noexcept { return loads_; }
  [[nodiscard]] std::vector<double> partition_counts() const;
  [[nodiscard]] std::vector<double> partition_weights() const;

  [[nodiscard]] PlanResult plan_add_node(std::string id) const;
  [[nodiscard]] PlanResult plan_remove_node(std::string_view id) const;
  // min_gain is a fraction of the total weight (0.001 = 0.1%): smaller gains are churn, not balance.
  [[nodiscard]] PlanResult plan_rebalance(double min_gain = 0.001) const;
  // Applies the plan and refreshes the cached node of every symbol in a moved partition.
  [[nodiscard]] AssignmentError apply(const MovePlan& plan);

  [[nodiscard]] PartitionStats count_stats() const;       // symbols per partition
  [[nodiscard]] PartitionStats load_stats() const;        // ticks/s per partition
  [[nodiscard]] PartitionStats node_count_stats() const;  // symbols per alive node
  [[nodiscard]] PartitionStats node_load_stats() const;   // ticks/s per alive node

  [[nodiscard]] const Partitioner& partitioner() const noexcept { return partitioner_; }
  [[nodiscard]] const Assignment& assignment() const noexcept { return assignment_; }
  [[nodiscard]] std::uint32_t max_symbols() const noexcept { return max_symbols_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept;
  };
  [[nodiscard]] std::vector<double> per_alive_node(const std::vector<double>& per_partition) const;

  // A direct-mapped memo in front of ids_ for symbols of 1..16 bytes (nearly every ticker). Such a
  // symbol is identified exactly by its length and two overlapping words of its bytes, so a hit
  // costs two compares instead of a hash call, a prime modulo and a string compare (about 7% of
  // the daemon's time per tick went to that lookup). Ids are never reused, so entries never go
  // stale; a colliding symbol just replaces the entry. Sized at creation to 4x the symbol bound
  // (256..8192 entries of 24 bytes), so with up to ~2,000 symbols most lookups hit.
  struct ShortKey {
    std::uint64_t a = 0, b = 0;
    std::uint32_t len = 0;  // 0: empty entry
    SymbolId id = 0;
  };
  // 1..16 bytes as two overlapping fixed-size loads that together cover every byte.
  [[nodiscard]] static ShortKey short_key(std::string_view s) noexcept {
    ShortKey k;
    const char* p = s.data();
    const std::size_t n = s.size();
    k.len = static_cast<std::uint32_t>(n);
    if (n >= 8) {
      std::memcpy(&k.a, p, 8);
      std::memcpy(&k.b, p + n - 8, 8);
    } else if (n >= 4) {
      std::uint32_t lo = 0, hi = 0;
      std::memcpy(&lo, p, 4);
      std::memcpy(&hi, p + n - 4, 4);
      k.a = lo;
      k.b = hi;
    } else {
      k.a = static_cast<unsigned char>(p[0]) | (std::uint64_t{static_cast<unsigned char>(p[n / 2])} << 8) |
            (std::uint64_t{static_cast<unsigned char>(p[n - 1])} << 16);
    }
    return k;
  }
  [[nodiscard]] std::size_t memo_slot(const ShortKey& k) const noexcept {
    const std::uint64_t h = (k.a ^ (k.b * 0x9E3779B97F4A7C15ull) ^ k.len) * 0xD6E8FEB86659FD93ull;
    return static_cast<std::size_t>(h >> memo_shift_);  // the top bits: the best mixed
  }
  // The hash table behind the memo, and interning of new symbols.
  [[nodiscard]] Route intern_slow(std::string_view symbol);

  Partitioner partitioner_;
  Assignment assignment_;
  std::uint32_t max_symbols_ = 0;
  std::uint32_t max_symbol_length_ = 0;
  double load_weight_ = 0.5;
  std::unordered_map<std::string, SymbolId, Hash, std::equal_to<>> ids_;
  std::vector<std::string> names_;
  std::vector<PartitionId> partition_of_;
  std::vector<NodeIndex> node_of_;
  std::vector<std::vector<SymbolId>> members_;
  std::vector<std::uint64_t> ticks_since_sample_;
  std::vector<double> loads_;
  std::vector<ShortKey> memo_;  // size a power of two: 1 << (64 - memo_shift_)
  unsigned memo_shift_ = 64;
};

struct SymbolMapResult {
  SymbolMap map;
  SymbolMapError error = SymbolMapError::ok;
  PartitionerError partitioner_error = PartitionerError::ok;
  AssignmentError assignment_error = AssignmentError::ok;
  RouteError route_error = RouteError::ok;
  [[nodiscard]] bool ok() const noexcept { return error == SymbolMapError::ok; }
};

}  // namespace tradeshard::partition

#pragma once
// The daemon's whole configuration, validated at start-up (see protocol/config_loader.hpp and
// docs/configuration.md). Plain data, standard library only.
#include <cstdint>
#include <string>
#include <vector>

#include "tradeshard/balance/strategy.hpp"
#include "tradeshard/book/order.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/market/strategy.hpp"
#include "tradeshard/partition/partitioner.hpp"

namespace tradeshard::app {

// ledger.fsync. Enumerated settings are parsed once, by the loader, into the domain's own enums.
enum class FsyncMode : std::uint8_t { every_commit, interval };
inline constexpr FsyncMode all_fsync_modes[] = {FsyncMode::every_commit, FsyncMode::interval};
constexpr std::string_view to_string(FsyncMode m) noexcept { return m == FsyncMode::every_commit ? "every_commit" : "interval"; }
// ledger.ack_after: when a client may hear of a fill. write: once its change set is in the log
// file (survives kill -9); fsync: once an fsync covered it (survives power loss); replicated
// (cluster gateway on etcd, its default): once etcd committed it (survives losing the machine).
enum class AckAfter : std::uint8_t { write, fsync, replicated };
inline constexpr AckAfter all_ack_after[] = {AckAfter::write, AckAfter::fsync, AckAfter::replicated};
constexpr std::string_view to_string(AckAfter a) noexcept {
  return a == AckAfter::write ? "write" : a == AckAfter::fsync ? "fsync" : "replicated";
}

struct Endpoint {
  std::string host;
  std::uint16_t port = 0;
};

struct Limits {
  std::uint32_t max_line_bytes = 64 * 1024;       // TCP line / WebSocket frame
  std::uint32_t max_connections = 10'000;         // TCP + HTTP + WebSocket together
  std::uint64_t outbound_queue_bytes = 4u << 20;  // per client, then disconnect
  std::uint32_t idle_timeout_ms = 300'000;        // TCP / WebSocket with no input
  std::uint32_t http_timeout_ms = 10'000;         // whole request read (slowloris guard)
  std::uint32_t http_max_body_bytes = 64 * 1024;
  std::uint32_t messages_per_second = 0;          // per connection, 0 = unlimited
  bool close_on_oversize = false;                 // false: error reply and skip the line
};

struct ApiKey {
  std::string account;
  std::string key;
  bool vip = false;        // "priorities": ["vip", "emergency"]: which lanes the key may claim
  bool emergency = false;  // (the account must also be listed in balancer.vip/emergency_accounts)
};

struct WorkerConfig {
  std::string id;
  std::uint32_t capacity = 0;
  std::string address;               // default inproc://<id>
  std::vector<std::string> classes;  // empty = every instrument class
  double latency_us = 50.0;          // EWMA seed
  std::uint32_t queue_capacity = 0;  // 0 = capacity
};

struct RebalanceConfig {
  bool enabled = true;
  double max_over_avg = 1.3;       // busiest worker's book load / mean that triggers a plan
  std::uint32_t after_ms = 5'000;  // ... held this long
  std::uint32_t cooldown_ms = 30'000;
  double min_load = 50.0;          // mean load (orders + fills per second) below which nothing moves
};

struct BalancerConfig {
  balance::Strategy strategy = balance::Strategy::hash;
  double hash_balance_factor = 1.25;  // 0 = bounded load off
  std::vector<std::string> vip_accounts;        // may claim the vip lane (their orders ride it by default)
  std::vector<std::string> emergency_accounts;  // may claim the emergency lane
  std::uint32_t priority_reserve_pct = 10;      // capacity and queue share only vip/emergency may use
  std::uint32_t batch_size = 64;  // queued orders a worker drains per loop turn
  std::uint32_t points_per_worker = 2048;  // hash ring points per worker, 1..4096
  double latency_alpha = 0.2;              // EWMA weight of a latency sample, (0, 1]
  std::uint32_t drain_timeout_ms = 0;      // 0 = a draining worker waits for its last order forever
  RebalanceConfig rebalance;
};

struct MatchingConfig {
  book::StpMode self_trade_prevention = book::StpMode::cancel_incoming;
  std::uint32_t market_protection_bps = 500;
  bool cancel_on_disconnect = true;
};

struct NodeConfig {
  std::string id;
  std::vector<market::StrategyKind> strategies{market::StrategyKind::spread, market::StrategyKind::imbalance};
};

struct RangeRule {
  std::string from;  // inclusive
  std::string to;    // inclusive
  std::uint32_t partition = 0;
};

struct PartitioningConfig {
  partition::Strategy strategy = partition::Strategy::consistent_hash;
  std::uint32_t partitions = 256;
  std::uint32_t max_symbols = 100'000;
  std::vector<RangeRule> ranges;  // strategy "range"
  std::vector<std::pair<std::string, std::uint32_t>> lists;  // strategy "list": symbol -> partition
  std::uint32_t fallback_partition = 0;
  bool fallback_hash = false;           // range / list: other symbols by hash instead of one partition
  std::uint32_t max_symbol_length = 32;
  double load_weight = 0.5;             // partition weight: (1 - w) x symbol count share + w x load share
  double rebalance_min_gain = 0.001;    // POST /admin/rebalance moves only for more than this share of the total
  core::Decimal spread_size{1, 0};      // spread signal size cap: min(bid_size, this) (seed: 1)
  core::Decimal imbalance_size{10'000, 0};  // imbalance signal size (seed: 10000)
  std::vector<NodeConfig> nodes;
  std::uint32_t points_per_partition = 64;
  std::uint32_t bar_history = 600;
  std::uint32_t load_sample_ms = 1000;
  std::uint64_t signal_cooldown_ms = 0;
  market::Trigger signal_trigger = market::Trigger::edge;
  std::uint32_t spread_max_bps = 1;     // spread signal: (ask - bid) < bid * bps / 10000 (seed: 0.0001)
  core::Decimal imbalance_ratio{15, 1}; // imbalance signal: bid_size > ratio * ask_size (seed: 1.5)
};

struct ReplicationConfig {
  std::uint32_t replicas = 3;
  std::uint32_t quorum = 0;  // 0 = majority
  std::uint32_t log_keep = 100'000;
};

struct LedgerConfig {
  std::string data_dir = "data/ledger";
  FsyncMode fsync = FsyncMode::interval;
  std::uint32_t fsync_interval_ms = 5;
  AckAfter ack_after = AckAfter::write;
  std::uint32_t snapshot_every = 100'000;  // committed change sets between snapshots
  bool durable = true;                     // false: memory only (tests, demos)
};

// Market-data history (docs/history.md). Off unless configured (config/tradeshard.json turns it on).
enum class HistoryOnFull : std::uint8_t { drop, conflate };
inline constexpr HistoryOnFull all_history_on_full[] = {HistoryOnFull::drop, HistoryOnFull::conflate};
constexpr std::string_view to_string(HistoryOnFull m) noexcept { return m == HistoryOnFull::drop ? "drop" : "conflate"; }
struct HistoryConfig {
  bool enabled = false;
  std::string dir = "data/history";
  std::string archive_dir = "data/history-archive";
  std::uint64_t partition_ms = 3'600'000;        // one partition per hour
  std::uint64_t archive_after_ms = 86'400'000;   // 0 = never archive
  std::uint64_t retention_ms = 30ULL * 86'400'000;  // 0 = keep forever
  std::uint64_t restore_keep_ms = 3'600'000;
  std::uint32_t queue_rows = 262'144;
  HistoryOnFull on_full = HistoryOnFull::conflate;
  std::uint32_t flush_ms = 100;
  std::uint32_t max_query_rows = 100'000;
  std::uint32_t min_free_mb = 256;  // below this much free space under dir, rows are not written; 0 = no check
};

struct FeedConfig {
  std::string url;        // ws://host:port/path or wss://
  std::string subscribe;  // optional text frame sent after connect
  bool conflate = true;
  std::uint32_t max_backoff_ms = 30'000;
  std::string ca_file;  // wss:// only: extra trusted CA (PEM file) besides the system store
};

// Cluster mode (docs/cluster.md): which process this is. embedded runs everything here; a
// replica follows the ledger's log in etcd and serves it read-only over HTTP.
enum class Role : std::uint8_t { embedded, gateway, worker, node, replica };
inline constexpr Role all_roles[] = {Role::embedded, Role::gateway, Role::worker, Role::node, Role::replica};
constexpr std::string_view to_string(Role r) noexcept {
  return r == Role::gateway   ? "gateway"
         : r == Role::worker  ? "worker"
         : r == Role::node    ? "node"
         : r == Role::replica ? "replica"
                              : "embedded";
}
struct ClusterPeer {
  std::string id;
  Endpoint addr;
};
struct ClusterConfig {
  Role role = Role::embedded;
  std::string id;                    // this process's id (a worker's WELCOME, a gateway's HELLO)
  Endpoint link{"127.0.0.1", 7101};  // worker: where it listens for the gateway's link
  std::vector<ClusterPeer> workers;  // gateway: the worker processes; workers[] slots go round robin
  std::vector<ClusterPeer> nodes;    // gateway: node processes; the processing-node slots go round robin
  std::uint64_t epoch = 1;           // the gateway's epoch (static until etcd elects gateways)
  std::uint32_t heartbeat_ms = 100;
  std::uint32_t peer_timeout_ms = 1000;
  std::uint32_t max_in_flight = 4096;  // commands per link without a RESULT
  // etcd (docs/cluster.md "In etcd"): empty = static membership from `workers` and `epoch`.
  std::vector<std::string> etcd;       // endpoints, "http://host:port"
  std::string prefix = "/tradeshard";  // every key under it
  std::uint32_t lease_ttl_s = 5;       // member and leader keys vanish this long after their process
  std::uint32_t startup_timeout_ms = 10'000;  // gateway: wait this long for etcd and a first worker
  // gateway with etcd: wait (up to startup_timeout_ms) for this many registered node processes;
  // the ones registered then run the processing-node slots (none: the gateway runs them).
  std::uint32_t min_nodes = 0;
};

struct Config {
  Endpoint tcp{"127.0.0.1", 7100};
  Endpoint http{"127.0.0.1", 8080};
  std::string log_level = "info";
  Limits limits;
  bool auth_enabled = false;
  std::vector<ApiKey> api_keys;
  std::string admin_token;  // empty = admin endpoints disabled (always 401)
  std::vector<core::Instrument> instruments;
  std::vector<WorkerConfig> workers;
  BalancerConfig balancer;
  MatchingConfig matching;
  PartitioningConfig partitioning;
  ReplicationConfig replication;
  LedgerConfig ledger;
  HistoryConfig history;
  std::vector<FeedConfig> feeds;
  ClusterConfig cluster;
};

}  // namespace tradeshard::app

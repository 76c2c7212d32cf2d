// docs/configuration.md tells the truth: every key its tables name is accepted by the loader and
// has an effect on the parsed configuration that this test can see (a non-default value changes
// the field it documents), and every key tested here is documented. A key added to the docs
// without a case below, or a case for a key the docs dropped, fails the test.
#include <doctest/doctest.h>

#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;
using nlohmann::json;

namespace {

json base() {
  return json::parse(R"({
    "instruments": [{"symbol": "BTCUSDT", "class": "crypto", "base": "BTC", "quote": "USDT",
                     "tick_size": "0.01", "lot_size": "0.00001"}],
    "workers": [{"id": "w1", "capacity": 10}]
  })");
}

struct Case {
  std::function<void(json&)> patch;
  std::function<bool(const app::Config&)> effect;  // false on the base config, true after the patch
};

// The documented keys: the first cell of every table row of docs/configuration.md, with the keys
// of the instruments and workers tables given their array prefix.
std::set<std::string> documented_keys() {
  std::ifstream in(std::string(TRADESHARD_SOURCE_DIR) + "/docs/configuration.md");
  REQUIRE(in.good());
  std::set<std::string> keys;
  std::string line, prefix;
  while (std::getline(in, line)) {
    if (line.rfind("## ", 0) == 0) {
      prefix = line.rfind("## instruments", 0) == 0 ? "instruments[]." : line.rfind("## workers", 0) == 0 ? "workers[]." : "";
      continue;
    }
    if (line.rfind("| `", 0) != 0) continue;
    const std::string cell = line.substr(1, line.find('|', 1) - 1);
    // Every `code` span of the cell (no std::regex: GCC 12 warns inside it under the sanitizers).
    for (std::size_t open = cell.find('`'); open != std::string::npos; open = cell.find('`', open)) {
      const std::size_t close = cell.find('`', open + 1);
      if (close == std::string::npos) break;
      keys.insert(prefix + cell.substr(open + 1, close - open - 1));
      open = close + 1;
    }
  }
  return keys;
}

std::map<std::string, Case> cases() {
  using C = const app::Config&;
  std::map<std::string, Case> m;
  m["cluster.role"] = {[](json& j) {
                         j["cluster"]["role"] = "worker";
                         j["cluster"]["id"] = "worker-9";
                       },
                       [](C c) { return c.cluster.role == app::Role::worker; }};
  m["cluster.id"] = {[](json& j) { j["cluster"]["id"] = "w-7"; }, [](C c) { return c.cluster.id == "w-7"; }};
  m["cluster.link"] = {[](json& j) { j["cluster"]["link"] = "127.0.0.9:7301"; },
                       [](C c) { return c.cluster.link.port == 7301 && c.cluster.link.host == "127.0.0.9"; }};
  m["cluster.workers"] = {[](json& j) { j["cluster"]["workers"] = {{{"id", "worker-1"}, {"addr", "127.0.0.3:7101"}}}; },
                          [](C c) { return c.cluster.workers.size() == 1 && c.cluster.workers[0].addr.port == 7101; }};
  m["cluster.nodes"] = {[](json& j) { j["cluster"]["nodes"] = {{{"id", "node-1"}, {"addr", "127.0.0.6:7102"}}}; },
                        [](C c) { return c.cluster.nodes.size() == 1 && c.cluster.nodes[0].addr.port == 7102; }};
  m["cluster.epoch"] = {[](json& j) { j["cluster"]["epoch"] = 5; }, [](C c) { return c.cluster.epoch == 5; }};
  m["cluster.etcd"] = {[](json& j) { j["cluster"]["etcd"] = {"http://127.0.0.40:2379"}; },
                       [](C c) { return c.cluster.etcd.size() == 1 && c.cluster.etcd[0] == "http://127.0.0.40:2379"; }};
  m["cluster.prefix"] = {[](json& j) { j["cluster"]["prefix"] = "/prod"; }, [](C c) { return c.cluster.prefix == "/prod"; }};
  m["cluster.lease_ttl_s"] = {[](json& j) { j["cluster"]["lease_ttl_s"] = 9; }, [](C c) { return c.cluster.lease_ttl_s == 9; }};
  m["cluster.startup_timeout_ms"] = {[](json& j) { j["cluster"]["startup_timeout_ms"] = 2500; },
                                     [](C c) { return c.cluster.startup_timeout_ms == 2500; }};
  m["cluster.min_nodes"] = {[](json& j) {
                              j["cluster"]["etcd"] = {"http://127.0.0.40:2379"};
                              j["cluster"]["min_nodes"] = 2;
                            },
                            [](C c) { return c.cluster.min_nodes == 2; }};
  m["cluster.heartbeat_ms"] = {[](json& j) { j["cluster"]["heartbeat_ms"] = 50; }, [](C c) { return c.cluster.heartbeat_ms == 50; }};
  m["cluster.peer_timeout_ms"] = {[](json& j) { j["cluster"]["peer_timeout_ms"] = 2000; },
                                  [](C c) { return c.cluster.peer_timeout_ms == 2000; }};
  m["cluster.max_in_flight"] = {[](json& j) { j["cluster"]["max_in_flight"] = 64; }, [](C c) { return c.cluster.max_in_flight == 64; }};
  m["listen.tcp"] = {[](json& j) { j["listen"]["tcp"] = "127.0.0.2:7200"; }, [](C c) { return c.tcp.port == 7200 && c.tcp.host == "127.0.0.2"; }};
  m["listen.http"] = {[](json& j) { j["listen"]["http"] = "[::1]:8200"; }, [](C c) { return c.http.port == 8200 && c.http.host == "::1"; }};
  m["log.level"] = {[](json& j) { j["log"]["level"] = "debug"; }, [](C c) { return c.log_level == "debug"; }};
  m["limits.max_line_bytes"] = {[](json& j) { j["limits"]["max_line_bytes"] = 1024; }, [](C c) { return c.limits.max_line_bytes == 1024; }};
  m["limits.max_connections"] = {[](json& j) { j["limits"]["max_connections"] = 7; }, [](C c) { return c.limits.max_connections == 7; }};
  m["limits.outbound_queue_bytes"] = {[](json& j) { j["limits"]["outbound_queue_bytes"] = 8192; },
                                      [](C c) { return c.limits.outbound_queue_bytes == 8192; }};
  m["limits.idle_timeout_ms"] = {[](json& j) { j["limits"]["idle_timeout_ms"] = 1000; }, [](C c) { return c.limits.idle_timeout_ms == 1000; }};
  m["limits.http_timeout_ms"] = {[](json& j) { j["limits"]["http_timeout_ms"] = 1000; }, [](C c) { return c.limits.http_timeout_ms == 1000; }};
  m["limits.http_max_body_bytes"] = {[](json& j) { j["limits"]["http_max_body_bytes"] = 100; },
                                     [](C c) { return c.limits.http_max_body_bytes == 100; }};
  m["limits.messages_per_second"] = {[](json& j) { j["limits"]["messages_per_second"] = 5; },
                                     [](C c) { return c.limits.messages_per_second == 5; }};
  m["limits.oversize"] = {[](json& j) { j["limits"]["oversize"] = "close"; }, [](C c) { return c.limits.close_on_oversize; }};
  m["auth.enabled"] = {[](json& j) {
                         j["auth"]["enabled"] = true;
                         j["auth"]["api_keys"] = {{{"account", "a"}, {"key", "0123456789abcdef"}}};
                       },
                       [](C c) { return c.auth_enabled; }};
  m["auth.api_keys"] = {[](json& j) {
                          j["auth"]["api_keys"] = {{{"account", "a"}, {"key", "0123456789abcdef"}, {"priorities", {"vip", "emergency"}}}};
                        },
                        [](C c) { return c.api_keys.size() == 1 && c.api_keys[0].account == "a" && c.api_keys[0].vip && c.api_keys[0].emergency; }};
  m["admin.token"] = {[](json& j) { j["admin"]["token"] = "0123456789abcdef-admin"; }, [](C c) { return c.admin_token == "0123456789abcdef-admin"; }};
  auto instrument = [&m](const std::string& key, json value, std::function<bool(const core::Instrument&)> effect) {
    m["instruments[]." + key] = {[key, value](json& j) { j["instruments"][0][key] = value; },
                                 [effect](C c) { return effect(c.instruments.at(0)); }};
  };
  instrument("symbol", "ETHUSDT", [](const core::Instrument& i) { return i.symbol == "ETHUSDT"; });
  instrument("class", "equity", [](const core::Instrument& i) { return i.cls == "equity"; });
  instrument("base", "XBT", [](const core::Instrument& i) { return i.base == "XBT"; });
  instrument("quote", "USD", [](const core::Instrument& i) { return i.quote == "USD"; });
  instrument("tick_size", "0.5", [](const core::Instrument& i) { return i.tick_size == core::Decimal{5, 1}; });
  instrument("lot_size", "0.1", [](const core::Instrument& i) { return i.lot_size == core::Decimal{1, 1}; });
  instrument("min_qty", "0.001", [](const core::Instrument& i) { return i.min_qty == 100; });
  instrument("max_qty", "1", [](const core::Instrument& i) { return i.max_qty == 100'000; });
  instrument("price_band_bps", 250, [](const core::Instrument& i) { return i.price_band_bps == 250; });
  auto worker = [&m](const std::string& key, json value, std::function<bool(const app::WorkerConfig&)> effect) {
    m["workers[]." + key] = {[key, value](json& j) { j["workers"][0][key] = value; },
                             [effect](C c) { return effect(c.workers.at(0)); }};
  };
  worker("id", "engine-a", [](const app::WorkerConfig& w) { return w.id == "engine-a"; });
  worker("capacity", 77, [](const app::WorkerConfig& w) { return w.capacity == 77; });
  worker("address", "inproc://elsewhere", [](const app::WorkerConfig& w) { return w.address == "inproc://elsewhere"; });
  worker("classes", json::array({"crypto"}), [](const app::WorkerConfig& w) { return w.classes == std::vector<std::string>{"crypto"}; });
  worker("latency_us", 7.5, [](const app::WorkerConfig& w) { return w.latency_us == 7.5; });
  worker("queue_capacity", 33, [](const app::WorkerConfig& w) { return w.queue_capacity == 33; });
  auto section = [&m](const std::string& key, json value, std::function<bool(C)> effect) {
    const auto dot = key.rfind('.');
    m[key] = {[key, dot, value](json& j) {
                json* at = &j;
                std::size_t from = 0;
                for (auto next = key.find('.'); next != std::string::npos && next <= dot; next = key.find('.', from)) {
                  at = &(*at)[key.substr(from, next - from)];
                  from = next + 1;
                }
                (*at)[key.substr(dot + 1)] = value;
              },
              std::move(effect)};
  };
  section("balancer.strategy", "round_robin", [](C c) { return c.balancer.strategy == balance::Strategy::round_robin; });
  section("balancer.hash_balance_factor", 2.0, [](C c) { return c.balancer.hash_balance_factor == 2.0; });
  section("balancer.vip_accounts", json::array({"gold"}), [](C c) { return c.balancer.vip_accounts == std::vector<std::string>{"gold"}; });
  section("balancer.emergency_accounts", json::array({"ops"}),
          [](C c) { return c.balancer.emergency_accounts == std::vector<std::string>{"ops"}; });
  section("balancer.priority_reserve_pct", 25, [](C c) { return c.balancer.priority_reserve_pct == 25; });
  section("balancer.rebalance.enabled", false, [](C c) { return !c.balancer.rebalance.enabled; });
  section("balancer.rebalance.max_over_avg", 2.0, [](C c) { return c.balancer.rebalance.max_over_avg == 2.0; });
  section("balancer.rebalance.after_ms", 10, [](C c) { return c.balancer.rebalance.after_ms == 10; });
  section("balancer.rebalance.cooldown_ms", 10, [](C c) { return c.balancer.rebalance.cooldown_ms == 10; });
  section("balancer.rebalance.min_load", 1.5, [](C c) { return c.balancer.rebalance.min_load == 1.5; });
  section("balancer.drain_timeout_ms", 1500, [](C c) { return c.balancer.drain_timeout_ms == 1500; });
  section("balancer.batch_size", 3, [](C c) { return c.balancer.batch_size == 3; });
  section("balancer.points_per_worker", 16, [](C c) { return c.balancer.points_per_worker == 16; });
  section("balancer.latency_alpha", 0.5, [](C c) { return c.balancer.latency_alpha == 0.5; });
  section("matching.self_trade_prevention", "off", [](C c) { return c.matching.self_trade_prevention == book::StpMode::off; });
  section("matching.market_protection_bps", 10, [](C c) { return c.matching.market_protection_bps == 10; });
  section("matching.cancel_on_disconnect", false, [](C c) { return !c.matching.cancel_on_disconnect; });
  section("partitioning.strategy", "hash", [](C c) { return c.partitioning.strategy == partition::Strategy::hash; });
  section("partitioning.partitions", 8, [](C c) { return c.partitioning.partitions == 8; });
  section("partitioning.points_per_partition", 4, [](C c) { return c.partitioning.points_per_partition == 4; });
  m["partitioning.ranges"] = {[](json& j) {
                                j["partitioning"]["strategy"] = "range";
                                j["partitioning"]["ranges"] = {{{"from", "A"}, {"to", "F"}, {"partition", 1}}};
                              },
                              [](C c) { return c.partitioning.ranges.size() == 1 && c.partitioning.ranges[0].partition == 1; }};
  m["partitioning.lists"] = {[](json& j) {
                               j["partitioning"]["strategy"] = "list";
                               j["partitioning"]["lists"] = {{"BTCUSDT", 3}};
                             },
                             [](C c) { return c.partitioning.lists.size() == 1 && c.partitioning.lists[0].second == 3; }};
  section("partitioning.fallback", "hash", [](C c) { return c.partitioning.fallback_hash; });
  section("partitioning.fallback_partition", 5, [](C c) { return c.partitioning.fallback_partition == 5; });
  section("partitioning.max_symbol_length", 12, [](C c) { return c.partitioning.max_symbol_length == 12; });
  section("partitioning.load_weight", 1.0, [](C c) { return c.partitioning.load_weight == 1.0; });
  section("partitioning.rebalance_min_gain", 0.05, [](C c) { return c.partitioning.rebalance_min_gain == 0.05; });
  section("partitioning.max_symbols", 9, [](C c) { return c.partitioning.max_symbols == 9; });
  m["partitioning.nodes"] = {[](json& j) { j["partitioning"]["nodes"] = {{{"id", "n-a"}, {"strategies", {"imbalance"}}}}; },
                             [](C c) {
                               return c.partitioning.nodes.size() == 1 && c.partitioning.nodes[0].id == "n-a" &&
                                      c.partitioning.nodes[0].strategies == std::vector{market::StrategyKind::imbalance};
                             }};
  section("partitioning.bar_history", 5, [](C c) { return c.partitioning.bar_history == 5; });
  section("partitioning.load_sample_ms", 250, [](C c) { return c.partitioning.load_sample_ms == 250; });
  section("partitioning.signal_trigger", "every_tick", [](C c) { return c.partitioning.signal_trigger == market::Trigger::every_tick; });
  section("partitioning.signal_cooldown_ms", 40, [](C c) { return c.partitioning.signal_cooldown_ms == 40; });
  section("partitioning.spread_max_bps", 3, [](C c) { return c.partitioning.spread_max_bps == 3; });
  section("partitioning.imbalance_ratio", "2.25", [](C c) { return c.partitioning.imbalance_ratio == core::Decimal{225, 2}; });
  section("partitioning.spread_size", "0.5", [](C c) { return c.partitioning.spread_size == core::Decimal{5, 1}; });
  section("partitioning.imbalance_size", "250", [](C c) { return c.partitioning.imbalance_size == core::Decimal{250, 0}; });
  section("replication.replicas", 5, [](C c) { return c.replication.replicas == 5; });
  section("replication.quorum", 2, [](C c) { return c.replication.quorum == 2; });
  section("replication.log_keep", 64, [](C c) { return c.replication.log_keep == 64; });
  section("ledger.data_dir", "elsewhere/ledger", [](C c) { return c.ledger.data_dir == "elsewhere/ledger"; });
  section("ledger.durable", false, [](C c) { return !c.ledger.durable; });
  section("ledger.fsync", "every_commit", [](C c) { return c.ledger.fsync == app::FsyncMode::every_commit; });
  section("ledger.fsync_interval_ms", 50, [](C c) { return c.ledger.fsync_interval_ms == 50; });
  section("ledger.ack_after", "fsync", [](C c) { return c.ledger.ack_after == app::AckAfter::fsync; });
  section("ledger.snapshot_every", 10, [](C c) { return c.ledger.snapshot_every == 10; });
  section("history.enabled", true, [](C c) { return c.history.enabled; });
  section("history.dir", "elsewhere/h", [](C c) { return c.history.dir == "elsewhere/h"; });
  section("history.archive_dir", "elsewhere/a", [](C c) { return c.history.archive_dir == "elsewhere/a"; });
  section("history.partition_ms", 60'000, [](C c) { return c.history.partition_ms == 60'000; });
  section("history.archive_after_ms", 0, [](C c) { return c.history.archive_after_ms == 0; });
  section("history.retention_ms", 0, [](C c) { return c.history.retention_ms == 0; });
  section("history.restore_keep_ms", 5'000, [](C c) { return c.history.restore_keep_ms == 5'000; });
  section("history.queue_rows", 4'096, [](C c) { return c.history.queue_rows == 4'096; });
  section("history.on_full", "drop", [](C c) { return c.history.on_full == app::HistoryOnFull::drop; });
  section("history.flush_ms", 10, [](C c) { return c.history.flush_ms == 10; });
  section("history.max_query_rows", 20'000, [](C c) { return c.history.max_query_rows == 20'000; });
  section("history.min_free_mb", 0, [](C c) { return c.history.min_free_mb == 0; });
  auto feed = [&m](const std::string& key, json value, std::function<bool(const app::FeedConfig&)> effect) {
    m["feeds[]." + key] = {[key, value](json& j) {
                             j["feeds"] = {{{"url", "ws://127.0.0.1:1/ws"}}};
                             j["feeds"][0][key] = value;
                           },
                           [effect](C c) { return c.feeds.size() == 1 && effect(c.feeds[0]); }};
  };
  m["feeds"] = {[](json& j) { j["feeds"] = {{{"url", "ws://127.0.0.1:1/ws"}}}; }, [](C c) { return c.feeds.size() == 1; }};
  feed("url", "wss://example.org/stream", [](const app::FeedConfig& f) { return f.url == "wss://example.org/stream"; });
  feed("subscribe", "{\"id\":1}", [](const app::FeedConfig& f) { return f.subscribe == "{\"id\":1}"; });
  feed("conflate", false, [](const app::FeedConfig& f) { return !f.conflate; });
  feed("max_backoff_ms", 500, [](const app::FeedConfig& f) { return f.max_backoff_ms == 500; });
  m["feeds[].ca_file"] = {[](json& j) { j["feeds"] = {{{"url", "wss://127.0.0.1:1/ws"}, {"ca_file", "/dev/null"}}}; },
                          [](C c) { return c.feeds.size() == 1 && c.feeds[0].ca_file == "/dev/null"; }};
  return m;
}

}  // namespace

TEST_CASE("Config docs: every key docs/configuration.md names is accepted and takes effect") {
  const auto documented = documented_keys();
  const auto tested = cases();
  CHECK(documented.size() > 60);
  for (const auto& key : documented) {
    CAPTURE(key);
    CHECK_MESSAGE(tested.count(key) == 1, "documented key without a case in config_docs_test.cpp");
  }
  const app::Config defaults = protocol::parse_config(base().dump());
  for (const auto& [key, c] : tested) {
    CAPTURE(key);
    CHECK_MESSAGE(documented.count(key) == 1, "tested key missing from docs/configuration.md");
    CHECK_FALSE(c.effect(defaults));
    json j = base();
    c.patch(j);
    try {
      CHECK(c.effect(protocol::parse_config(j.dump())));
    } catch (const protocol::ConfigError& e) {
      FAIL_CHECK("refused: " << e.what());
    }
  }
}

#include "tradeshard/protocol/config_loader.hpp"

#include <cstdint>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "config_section.hpp"
#include "tradeshard/partition/partitioner.hpp"
#include <sstream>

namespace tradeshard::protocol {
namespace {

using nlohmann::json;
using config_detail::fail;
using config_detail::Section;

std::string idx(const std::string& k, std::size_t i) { return k + "[" + std::to_string(i) + "]"; }

core::Decimal decimal_field(Section& s, const std::string& k, const std::string& dflt, bool positive) {
  std::string text = dflt;
  if (s.has(k)) {
    const json& v = s.at(k);
    if (v.is_string()) {
      text = v.get<std::string>();
    } else if (v.is_number()) {
      text = v.dump();  // exact token text for integers; floats go through their shortest repr
    } else {
      fail(s.key(k), "must be a decimal string such as \"0.01\"");
    }
  } else if (dflt.empty()) {
    fail(s.key(k), "is required");
  }
  const auto p = core::parse_decimal(text);
  if (!p.ok()) fail(s.key(k), std::string(core::to_string(p.error)) + " (\"" + text + "\")");
  if (positive && p.value.units <= 0) fail(s.key(k), "must be > 0");
  return p.value;
}

void load_limits(Section& s, app::Limits& l) {
  l.max_line_bytes = static_cast<std::uint32_t>(s.uint("max_line_bytes", l.max_line_bytes, 256, 64u << 20));
  l.max_connections = static_cast<std::uint32_t>(s.uint("max_connections", l.max_connections, 1, 1'000'000));
  l.outbound_queue_bytes = s.uint("outbound_queue_bytes", l.outbound_queue_bytes, 4096, 1ull << 34);
  l.idle_timeout_ms = static_cast<std::uint32_t>(s.uint("idle_timeout_ms", l.idle_timeout_ms, 100, 86'400'000));
  l.http_timeout_ms = static_cast<std::uint32_t>(s.uint("http_timeout_ms", l.http_timeout_ms, 100, 3'600'000));
  l.http_max_body_bytes =
      static_cast<std::uint32_t>(s.uint("http_max_body_bytes", l.http_max_body_bytes, 16, 64u << 20));
  l.messages_per_second =
      static_cast<std::uint32_t>(s.uint("messages_per_second", l.messages_per_second, 0, 100'000'000));
  l.close_on_oversize = s.choice("oversize", "skip", {"skip", "close"}) == "close";
  s.finish();
}

core::Instrument load_instrument(Section& s) {
  core::Instrument in;
  in.symbol = s.str("symbol", "", true);
  if (in.symbol.empty() || in.symbol.size() > 32) fail(s.key("symbol"), "must be 1..32 characters");
  in.cls = s.str("class", "", true);
  in.base = s.str("base", "", true);
  in.quote = s.str("quote", "", true);
  in.tick_size = decimal_field(s, "tick_size", "", true);
  in.lot_size = decimal_field(s, "lot_size", "", true);
  if (s.has("min_qty")) {
    const auto r = core::to_steps(decimal_field(s, "min_qty", "", true), in.lot_size);
    if (!r.ok() || r.steps <= 0) fail(s.key("min_qty"), "must be a positive multiple of lot_size");
    in.min_qty = r.steps;
  }
  if (s.has("max_qty")) {
    const auto r = core::to_steps(decimal_field(s, "max_qty", "", true), in.lot_size);
    if (!r.ok() || r.steps < in.min_qty) fail(s.key("max_qty"), "must be a multiple of lot_size >= min_qty");
    in.max_qty = r.steps;
  }
  in.price_band_bps = static_cast<std::uint32_t>(s.uint("price_band_bps", 0, 0, 100'000));
  s.finish();
  return in;
}

app::WorkerConfig load_worker(Section& s) {
  app::WorkerConfig w;
  w.id = s.str("id", "", true);
  if (w.id.empty()) fail(s.key("id"), "must not be empty");
  w.capacity = static_cast<std::uint32_t>(s.uint("capacity", 0, 1, 100'000'000, true));
  w.address = s.str("address", "inproc://" + w.id);
  if (s.has("pool")) {
    fail(s.key("pool"), "was removed: priority is a lane of every worker's queue now, not a pool of workers "
                        "(list accounts in balancer.vip_accounts / emergency_accounts; docs/balancer.md)");
  }
  w.classes = s.strings("classes");
  w.latency_us = s.num("latency_us", w.latency_us, 0, 1e9);
  w.queue_capacity = static_cast<std::uint32_t>(s.uint("queue_capacity", 0, 0, 100'000'000));
  s.finish();
  return w;
}

void load_partitioning(Section& s, app::PartitioningConfig& p) {
  p.strategy = s.pick("strategy", p.strategy, partition::all_strategies);
  // The partitioner's own bound: a config --check-config passes must start.
  p.partitions =
      static_cast<std::uint32_t>(s.uint("partitions", p.partitions, 1, partition::Partitioner::max_partitions));
  p.max_symbols = static_cast<std::uint32_t>(s.uint("max_symbols", p.max_symbols, 1, 10'000'000));
  p.fallback_partition = static_cast<std::uint32_t>(s.uint("fallback_partition", 0, 0, p.partitions - 1));
  if (s.has("fallback")) {
    const json& f = s.at("fallback");
    if (f.is_string() && f.get<std::string>() == "hash") {
      p.fallback_hash = true;
    } else if (f.is_number_unsigned() && f.get<std::uint64_t>() < p.partitions) {
      p.fallback_partition = static_cast<std::uint32_t>(f.get<std::uint64_t>());
    } else {
      fail(s.key("fallback"), "must be \"hash\" or a partition number below partitions");
    }
  }
  p.max_symbol_length = static_cast<std::uint32_t>(s.uint("max_symbol_length", p.max_symbol_length, 1, 256));
  p.load_weight = s.num("load_weight", p.load_weight, 0, 1);
  p.rebalance_min_gain = s.num("rebalance_min_gain", p.rebalance_min_gain, 0, 1);
  if (s.has("ranges")) {
    const json& arr = s.array("ranges");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Section r(arr[i], idx(s.key("ranges"), i));
      p.ranges.push_back({r.str("from", "", true), r.str("to", "", true),
                          static_cast<std::uint32_t>(r.uint("partition", 0, 0, p.partitions - 1, true))});
      r.finish();
    }
  }
  if (s.has("lists")) {
    const json& obj = s.at("lists");
    if (!obj.is_object()) fail(s.key("lists"), "must be an object of symbol -> partition");
    for (auto it = obj.begin(); it != obj.end(); ++it) {
      if (!it.value().is_number_unsigned() || it.value().get<std::uint64_t>() >= p.partitions) {
        fail(s.key("lists") + "." + it.key(), "must be a partition number below partitions");
      }
      p.lists.emplace_back(it.key(), it.value().get<std::uint32_t>());
    }
  }
  if (p.strategy == partition::Strategy::range && p.ranges.empty()) fail(s.key("ranges"), "required by strategy \"range\"");
  if (s.has("nodes")) {
    const json& arr = s.array("nodes");
    std::set<std::string> ids;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Section n(arr[i], idx(s.key("nodes"), i));
      app::NodeConfig nc;
      nc.id = n.str("id", "", true);
      if (!ids.insert(nc.id).second) fail(n.key("id"), "duplicate node id \"" + nc.id + "\"");
      if (n.has("strategies")) {
        nc.strategies.clear();
        for (const auto& st : n.strings("strategies")) {
          const auto kind = market::parse_strategy_kind(st);
          if (!kind) fail(n.key("strategies"), "unknown strategy \"" + st + "\"");
          nc.strategies.push_back(*kind);
        }
      }
      n.finish();
      p.nodes.push_back(std::move(nc));
    }
  }
  if (!s.has("nodes")) {
    p.nodes.push_back({"node-1", {market::StrategyKind::spread, market::StrategyKind::imbalance}});  // as documented
  } else if (p.nodes.empty()) {
    fail(s.key("nodes"), "at least one processing node is required");
  }
  p.points_per_partition = static_cast<std::uint32_t>(s.uint("points_per_partition", p.points_per_partition, 1, 4096));
  p.bar_history = static_cast<std::uint32_t>(s.uint("bar_history", p.bar_history, 1, 100'000));
  p.load_sample_ms = static_cast<std::uint32_t>(s.uint("load_sample_ms", p.load_sample_ms, 100, 3'600'000));
  p.signal_cooldown_ms = s.uint("signal_cooldown_ms", p.signal_cooldown_ms, 0, 86'400'000);
  p.signal_trigger = s.pick("signal_trigger", p.signal_trigger, market::all_triggers);
  p.spread_max_bps = static_cast<std::uint32_t>(s.uint("spread_max_bps", p.spread_max_bps, 1, 100'000));
  p.imbalance_ratio = decimal_field(s, "imbalance_ratio", "1.5", true);
  for (auto [key, field] : {std::pair{"spread_size", &p.spread_size}, std::pair{"imbalance_size", &p.imbalance_size}}) {
    if (!s.has(key)) continue;
    *field = decimal_field(s, key, "", true);
    // Signal sizes are kept at 1e-8 (market::Scaled): positive, at most 8 fractional digits, and
    // at most 10^9 so the scaled value fits with room to spare.
    std::int64_t whole = field->units;
    for (int i = 0; i < field->scale; ++i) whole /= 10;
    if (field->units <= 0 || field->scale > 8 || whole >= 1'000'000'000) {
      fail(s.key(key), "must be a positive decimal below 10^9 with at most 8 fractional digits");
    }
  }
  // Below 1 both sides would be "imbalanced" at once (market::validate refuses it: bad_ratio).
  std::int64_t one = 1;
  for (int i = 0; i < p.imbalance_ratio.scale && i < 7; ++i) one *= 10;
  if (p.imbalance_ratio.scale > 6 || p.imbalance_ratio.units < one) {
    fail(s.key("imbalance_ratio"), "must be a decimal >= 1 with at most 6 fractional digits");
  }
  s.finish();
}

}  // namespace

app::Endpoint parse_endpoint(const std::string& text, const std::string& key) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
    fail(key, "must be \"host:port\" (got \"" + text + "\")");
  }
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  const std::string port_text = text.substr(colon + 1);
  unsigned long port = 0;
  for (char c : port_text) {
    if (c < '0' || c > '9') fail(key, "port must be a number (got \"" + port_text + "\")");
    port = port * 10 + static_cast<unsigned long>(c - '0');
    if (port > 65535) fail(key, "port must be 0..65535");
  }
  return {host, static_cast<std::uint16_t>(port)};
}

app::Config parse_config(const std::string& text) {
  const json root = json::parse(text, nullptr, false);
  if (root.is_discarded()) throw ConfigError("config: not valid JSON");
  app::Config c;
  Section s(root, "");
  bool ack_after_given = false;
  if (s.has("listen")) {
    Section l(s.at("listen"), "listen");
    c.tcp = parse_endpoint(l.str("tcp", "127.0.0.1:7100"), "listen.tcp");
    c.http = parse_endpoint(l.str("http", "127.0.0.1:8080"), "listen.http");
    l.finish();
  }
  if (s.has("log")) {
    Section l(s.at("log"), "log");
    c.log_level = l.choice("level", "info", {"trace", "debug", "info", "warn", "error", "critical", "off"});
    l.finish();
  }
  if (s.has("limits")) {
    Section l(s.at("limits"), "limits");
    load_limits(l, c.limits);
  }
  if (s.has("auth")) {
    Section a(s.at("auth"), "auth");
    c.auth_enabled = a.boolean("enabled", false);
    if (a.has("api_keys")) {
      const json& arr = a.array("api_keys");
      for (std::size_t i = 0; i < arr.size(); ++i) {
        Section k(arr[i], idx("auth.api_keys", i));
        app::ApiKey key{k.str("account", "", true), k.str("key", "", true)};
        if (key.key.size() < 16) fail(k.key("key"), "must be at least 16 characters");
        for (const auto& p : k.strings("priorities")) {
          if (p == "vip") key.vip = true;
          else if (p == "emergency") key.emergency = true;
          else fail(k.key("priorities"), "entries must be \"vip\" or \"emergency\" (got \"" + p + "\")");
        }
        c.api_keys.push_back(std::move(key));
        k.finish();
      }
    }
    if (c.auth_enabled && c.api_keys.empty()) fail("auth.api_keys", "required when auth.enabled is true");
    a.finish();
  }
  if (s.has("admin")) {
    Section a(s.at("admin"), "admin");
    c.admin_token = a.str("token", "");
    if (!c.admin_token.empty() && c.admin_token.size() < 16) fail("admin.token", "must be at least 16 characters");
    a.finish();
  }
  {
    if (!s.has("instruments")) fail("instruments", "is required");
    const json& arr = s.array("instruments");
    if (arr.empty()) fail("instruments", "must list at least one instrument");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Section in(arr[i], idx("instruments", i));
      c.instruments.push_back(load_instrument(in));
      if (!seen.insert(c.instruments.back().symbol).second) {
        fail(idx("instruments", i) + ".symbol", "duplicate symbol \"" + c.instruments.back().symbol + "\"");
      }
    }
  }
  {
    if (!s.has("workers")) fail("workers", "is required");
    const json& arr = s.array("workers");
    if (arr.empty()) fail("workers", "must list at least one worker");
    std::set<std::string> seen;
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Section w(arr[i], idx("workers", i));
      c.workers.push_back(load_worker(w));
      if (!seen.insert(c.workers.back().id).second) {
        fail(idx("workers", i) + ".id", "duplicate worker id \"" + c.workers.back().id + "\"");
      }
    }
  }
  if (s.has("balancer")) {
    Section b(s.at("balancer"), "balancer");
    c.balancer.strategy = b.pick("strategy", c.balancer.strategy, balance::all_strategies);
    c.balancer.hash_balance_factor = b.num("hash_balance_factor", c.balancer.hash_balance_factor, 0, 100);
    if (c.balancer.hash_balance_factor != 0 && c.balancer.hash_balance_factor < 1) {
      fail("balancer.hash_balance_factor", "must be 0 (off) or >= 1");
    }
    c.balancer.vip_accounts = b.strings("vip_accounts");
    c.balancer.emergency_accounts = b.strings("emergency_accounts");
    for (const char* gone : {"vip_fallback", "vip_pool"}) {
      if (b.has(gone)) {
        fail(b.key(gone), "was removed: VIP is a lane of every worker's queue now, not a pool (docs/balancer.md)");
      }
    }
    c.balancer.priority_reserve_pct =
        static_cast<std::uint32_t>(b.uint("priority_reserve_pct", c.balancer.priority_reserve_pct, 0, 50));
    c.balancer.batch_size = static_cast<std::uint32_t>(b.uint("batch_size", c.balancer.batch_size, 1, 1'000'000));
    c.balancer.points_per_worker =
        static_cast<std::uint32_t>(b.uint("points_per_worker", c.balancer.points_per_worker, 1, 4096));
    c.balancer.latency_alpha = b.num("latency_alpha", c.balancer.latency_alpha, 0, 1);
    if (c.balancer.latency_alpha <= 0) fail("balancer.latency_alpha", "must be in (0, 1]");
    c.balancer.drain_timeout_ms =
        static_cast<std::uint32_t>(b.uint("drain_timeout_ms", c.balancer.drain_timeout_ms, 0, 86'400'000));
    if (b.has("rebalance")) {
      Section r(b.at("rebalance"), "balancer.rebalance");
      auto& rb = c.balancer.rebalance;
      rb.enabled = r.boolean("enabled", rb.enabled);
      rb.max_over_avg = r.num("max_over_avg", rb.max_over_avg, 1, 100);
      if (rb.max_over_avg <= 1) fail("balancer.rebalance.max_over_avg", "must be > 1 (the busiest worker / the mean)");
      rb.after_ms = static_cast<std::uint32_t>(r.uint("after_ms", rb.after_ms, 0, 3'600'000));
      rb.cooldown_ms = static_cast<std::uint32_t>(r.uint("cooldown_ms", rb.cooldown_ms, 0, 86'400'000));
      rb.min_load = r.num("min_load", rb.min_load, 0, 1e12);
      r.finish();
    }
    b.finish();
  }
  if (s.has("matching")) {
    Section m(s.at("matching"), "matching");
    c.matching.self_trade_prevention = m.pick("self_trade_prevention", c.matching.self_trade_prevention, book::all_stp_modes);
    c.matching.market_protection_bps =
        static_cast<std::uint32_t>(m.uint("market_protection_bps", c.matching.market_protection_bps, 1, 100'000));
    c.matching.cancel_on_disconnect = m.boolean("cancel_on_disconnect", c.matching.cancel_on_disconnect);
    m.finish();
  }
  if (s.has("partitioning")) {
    Section p(s.at("partitioning"), "partitioning");
    load_partitioning(p, c.partitioning);
  } else {
    c.partitioning.nodes.push_back({"node-1", {market::StrategyKind::spread, market::StrategyKind::imbalance}});
  }
  if (s.has("replication")) {
    Section r(s.at("replication"), "replication");
    c.replication.replicas = static_cast<std::uint32_t>(r.uint("replicas", c.replication.replicas, 1, 15));
    c.replication.quorum = static_cast<std::uint32_t>(r.uint("quorum", 0, 0, c.replication.replicas));
    if (c.replication.quorum != 0 && c.replication.quorum * 2 <= c.replication.replicas) {
      fail("replication.quorum", "must be a majority of replicas (or 0 for majority)");
    }
    c.replication.log_keep = static_cast<std::uint32_t>(r.uint("log_keep", c.replication.log_keep, 16, 100'000'000));
    r.finish();
  }
  if (s.has("ledger")) {
    Section l(s.at("ledger"), "ledger");
    c.ledger.data_dir = l.str("data_dir", c.ledger.data_dir);
    c.ledger.fsync = l.pick("fsync", c.ledger.fsync, app::all_fsync_modes);
    c.ledger.snapshot_every =
        static_cast<std::uint32_t>(l.uint("snapshot_every", c.ledger.snapshot_every, 1, 100'000'000));
    c.ledger.fsync_interval_ms =
        static_cast<std::uint32_t>(l.uint("fsync_interval_ms", c.ledger.fsync_interval_ms, 1, 60'000));
    c.ledger.durable = l.boolean("durable", c.ledger.durable);
    ack_after_given = l.has("ack_after");  // checked against the cluster section below
    c.ledger.ack_after = l.pick("ack_after", c.ledger.ack_after, app::all_ack_after);
    if (c.ledger.ack_after == app::AckAfter::fsync && !c.ledger.durable) {
      fail("ledger.ack_after", "\"fsync\" needs ledger.durable: a memory-only ledger has nothing to fsync");
    }
    if (c.ledger.durable && c.ledger.data_dir.empty()) fail("ledger.data_dir", "required when ledger.durable is true");
    l.finish();
  }
  if (s.has("history")) {
    Section h(s.at("history"), "history");
    auto& hc = c.history;
    hc.enabled = h.boolean("enabled", hc.enabled);
    hc.dir = h.str("dir", hc.dir);
    hc.archive_dir = h.str("archive_dir", hc.archive_dir);
    constexpr std::uint64_t day = 86'400'000;
    hc.partition_ms = h.uint("partition_ms", hc.partition_ms, 1'000, 7 * day);
    hc.archive_after_ms = h.uint("archive_after_ms", hc.archive_after_ms, 0, 36'500 * day);
    hc.retention_ms = h.uint("retention_ms", hc.retention_ms, 0, 36'500 * day);
    hc.restore_keep_ms = h.uint("restore_keep_ms", hc.restore_keep_ms, 1'000, 365 * day);
    hc.queue_rows = static_cast<std::uint32_t>(h.uint("queue_rows", hc.queue_rows, 1'024, 64u << 20));
    hc.on_full = h.pick("on_full", hc.on_full, app::all_history_on_full);
    hc.flush_ms = static_cast<std::uint32_t>(h.uint("flush_ms", hc.flush_ms, 1, 100));
    hc.max_query_rows = static_cast<std::uint32_t>(h.uint("max_query_rows", hc.max_query_rows, 10'000, 10'000'000));
    hc.min_free_mb = static_cast<std::uint32_t>(h.uint("min_free_mb", hc.min_free_mb, 0, 100'000'000));
    if (hc.enabled && (hc.dir.empty() || hc.archive_dir.empty())) {
      fail("history.dir", "history.dir and history.archive_dir are required when history.enabled is true");
    }
    if (hc.enabled && hc.dir == hc.archive_dir) fail("history.archive_dir", "must differ from history.dir");
    if (hc.retention_ms != 0 && hc.archive_after_ms != 0 && hc.retention_ms <= hc.archive_after_ms) {
      fail("history.retention_ms", "must be longer than history.archive_after_ms (or 0: keep forever)");
    }
    h.finish();
  }
  if (s.has("feeds")) {
    const json& arr = s.array("feeds");
    for (std::size_t i = 0; i < arr.size(); ++i) {
      Section f(arr[i], idx("feeds", i));
      app::FeedConfig fc;
      fc.url = f.str("url", "", true);
      if (fc.url.rfind("ws://", 0) != 0 && fc.url.rfind("wss://", 0) != 0) {
        fail(f.key("url"), "must start with ws:// or wss:// (got \"" + fc.url + "\")");
      }
      fc.subscribe = f.str("subscribe", "");
      fc.conflate = f.boolean("conflate", true);
      fc.max_backoff_ms = static_cast<std::uint32_t>(f.uint("max_backoff_ms", fc.max_backoff_ms, 100, 3'600'000));
      fc.ca_file = f.str("ca_file", "");
      if (!fc.ca_file.empty() && fc.url.rfind("wss://", 0) != 0) fail(f.key("ca_file"), "only applies to wss:// feeds");
      f.finish();
      c.feeds.push_back(std::move(fc));
    }
  }
  if (s.has("cluster")) {
    Section k(s.at("cluster"), "cluster");
    auto& cc = c.cluster;
    cc.role = k.pick("role", cc.role, app::all_roles);
    cc.id = k.str("id", cc.id);
    if (k.has("link")) cc.link = parse_endpoint(k.str("link", ""), "cluster.link");
    cc.epoch = k.uint("epoch", cc.epoch, 1, UINT64_MAX >> 1);
    cc.heartbeat_ms = static_cast<std::uint32_t>(k.uint("heartbeat_ms", cc.heartbeat_ms, 10, 10'000));
    cc.peer_timeout_ms = static_cast<std::uint32_t>(k.uint("peer_timeout_ms", cc.peer_timeout_ms, 50, 600'000));
    cc.max_in_flight = static_cast<std::uint32_t>(k.uint("max_in_flight", cc.max_in_flight, 1, 8192));
    if (cc.peer_timeout_ms < 3 * cc.heartbeat_ms) {
      fail("cluster.peer_timeout_ms", "must be at least 3 x cluster.heartbeat_ms (missed heartbeats come first)");
    }
    // [{"id","addr"}], ids unique: the worker or node processes a gateway dials.
    const auto peers = [&](const char* key, const char* what, std::vector<app::ClusterPeer>& out) {
      if (!k.has(key)) return;
      const json& arr = k.array(key);
      std::set<std::string> ids;
      for (std::size_t i = 0; i < arr.size(); ++i) {
        Section w(arr[i], idx(std::string("cluster.") + key, i));
        app::ClusterPeer p;
        p.id = w.str("id", "", true);
        p.addr = parse_endpoint(w.str("addr", "", true), w.key("addr"));
        if (!ids.insert(p.id).second) fail(w.key("id"), std::string("duplicate ") + what + " process id \"" + p.id + "\"");
        w.finish();
        out.push_back(std::move(p));
      }
    };
    peers("workers", "worker", cc.workers);
    peers("nodes", "node", cc.nodes);
    if (k.has("etcd")) {
      const json& arr = k.array("etcd");
      for (std::size_t i = 0; i < arr.size(); ++i) {
        if (!arr[i].is_string() || arr[i].get_ref<const std::string&>().empty()) {
          fail(idx("cluster.etcd", i), "an etcd endpoint, e.g. \"http://127.0.0.1:2379\"");
        }
        std::string e = arr[i].get<std::string>();
        if (e.rfind("https://", 0) == 0) fail(idx("cluster.etcd", i), "https is not supported yet: use http:// on a trusted network");
        const std::string hostport = e.rfind("http://", 0) == 0 ? e.substr(7) : e;
        (void)parse_endpoint(hostport, idx("cluster.etcd", i));
        cc.etcd.push_back(std::move(e));
      }
    }
    cc.prefix = k.str("prefix", cc.prefix);
    if (cc.prefix.empty() || cc.prefix.front() != '/' || cc.prefix.back() == '/') {
      fail("cluster.prefix", "a key prefix starting with '/' and not ending with one, e.g. \"/tradeshard\"");
    }
    cc.lease_ttl_s = static_cast<std::uint32_t>(k.uint("lease_ttl_s", cc.lease_ttl_s, 2, 600));
    cc.startup_timeout_ms = static_cast<std::uint32_t>(k.uint("startup_timeout_ms", cc.startup_timeout_ms, 100, 600'000));
    cc.min_nodes = static_cast<std::uint32_t>(k.uint("min_nodes", cc.min_nodes, 0, 1024));
    if (!cc.etcd.empty() && !cc.workers.empty()) {
      fail("cluster.workers", "with cluster.etcd the workers are the ones registered in etcd: leave it out");
    }
    if (!cc.etcd.empty() && !cc.nodes.empty()) {
      fail("cluster.nodes", "with cluster.etcd the nodes are the ones registered in etcd: leave it out (cluster.min_nodes waits for them)");
    }
    if (cc.etcd.empty() && cc.min_nodes > 0) {
      fail("cluster.min_nodes", "only with cluster.etcd (without it, cluster.nodes lists the node processes)");
    }
    if (cc.role == app::Role::gateway && cc.workers.empty() && cc.etcd.empty()) {
      fail("cluster.workers", "a gateway needs at least one worker process (or cluster.etcd to find them)");
    }
    if ((cc.role == app::Role::worker || cc.role == app::Role::node || cc.role == app::Role::replica) &&
        cc.id.empty()) {
      fail("cluster.id", std::string("a ") + std::string(app::to_string(cc.role)) + " needs an id");
    }
    if (cc.role == app::Role::replica && cc.etcd.empty()) {
      fail("cluster.etcd", "a replica follows the ledger's log in etcd: list etcd's endpoints");
    }
    k.finish();
  }
  // A cluster gateway on etcd keeps the ledger's log in etcd: fills wait for etcd by default.
  if (c.cluster.role == app::Role::gateway && !c.cluster.etcd.empty()) {
    if (!ack_after_given) c.ledger.ack_after = app::AckAfter::replicated;
    if (c.ledger.ack_after == app::AckAfter::fsync) {
      fail("ledger.ack_after", "a gateway on etcd keeps the ledger's log in etcd, not on its disk: \"replicated\" (its default) or \"write\"");
    }
  } else if (c.ledger.ack_after == app::AckAfter::replicated) {
    fail("ledger.ack_after", "\"replicated\" needs the ledger's log in etcd: a cluster gateway (cluster.role) with cluster.etcd");
  }
  s.finish();
  return c;
}

app::Config load_config_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError("config: cannot open \"" + path + "\"");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_config(ss.str());
}

}  // namespace tradeshard::protocol

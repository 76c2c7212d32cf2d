// Domain state as JSON for the HTTP API: every rendering of a domain view lives here.
#include "views.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/ledger/ledger_state.hpp"
#include "tradeshard/protocol/codec.hpp"

namespace tradeshard::net::views {
using nlohmann::json;

namespace {

json worker_json(const balance::WorkerView& w, const app::WorkerBook& book) {
  return {{"id", w.id},
          {"address", w.address},
          {"capacity", w.capacity},
          {"current_load", w.current_load},
          {"available_capacity", w.available_capacity},
          {"load_pct", w.load_pct},
          {"state", balance::to_string(w.state)},
          {"healthy", w.healthy},
          {"latency_us", w.latency_us},
          {"orders_routed", w.orders_routed},
          {"queued", book.queued},
          {"classes", w.classes}};
}

json levels_json(const std::vector<app::DepthLevel>& levels, const core::Instrument& in) {
  json out = json::array();
  for (const auto& l : levels) {
    out.push_back({{"price", core::format_steps(l.price, in.tick_size)},
                   {"qty", core::format_steps(l.qty, in.lot_size)},
                   {"orders", l.orders}});
  }
  return out;
}

json partition_stats(const partition::PartitionStats& s) {
  return {{"partition_count", s.partition_count},
          {"total_items", s.total_items},
          {"min", s.min_items},
          {"max", s.max_items},
          {"average", s.avg_items},
          {"imbalance_ratio", s.imbalance_ratio},
          {"max_over_avg", s.max_over_avg},
          {"std_deviation", s.std_deviation},
          {"empty_partitions", s.empty_partitions}};
}

std::string cash(const ledger::CashRules& rules, ledger::CurrencyId c, ledger::CashUnits v) {
  return core::format_steps(v, core::Decimal{1, rules.currency(c).scale});
}

}  // namespace

std::string md(std::int64_t v) {
  std::string s;
  protocol::append_md(s, v);
  return s;
}

json workers(const app::Gateway& g) {
  json list = json::array();
  const auto& flow = g.orders();
  const auto books = g.venue().books();  // by worker slot
  const auto symbols = flow.symbols_by_worker();
  const auto loads = flow.load_by_worker();
  for (const auto& w : flow.balancer().workers()) {
    json entry = worker_json(w, books.at(w.worker.value));
    entry["symbols"] = w.worker.value < symbols.size() ? json(symbols[w.worker.value]) : json::array();
    entry["book_load"] = w.worker.value < loads.size() ? loads[w.worker.value] : 0.0;
    list.push_back(std::move(entry));
  }
  return {{"workers", list}, {"strategy", balance::to_string(flow.balancer().strategy())}};
}

json book(const app::Gateway& g, core::InstrumentId instrument, std::size_t levels) {
  const auto& in = g.instruments().at(instrument);
  // One book per symbol: on its home worker while it has live orders, else empty and nowhere.
  std::vector<app::DepthLevel> bids, asks;
  json worker = nullptr;
  if (const auto home = g.orders().home_of(instrument)) worker = g.venue().depth(*home, instrument, levels, bids, asks);
  json out = {{"symbol", in.symbol}, {"worker", worker}, {"bids", levels_json(bids, in)}, {"asks", levels_json(asks, in)}};
  out["best_bid"] = bids.empty() ? json(nullptr) : json(core::format_steps(bids[0].price, in.tick_size));
  out["best_ask"] = asks.empty() ? json(nullptr) : json(core::format_steps(asks[0].price, in.tick_size));
  return out;
}

json open_orders(const app::Gateway& g, std::string_view account) {
  json list = json::array();
  for (const auto& o : g.orders().open_orders(account)) {
    const auto& in = g.instruments().at(*g.instruments().find(o.symbol));
    list.push_back({{"id", o.id},
                    {"symbol", o.symbol},
                    {"side", core::to_string(o.side)},
                    {"price", core::format_steps(o.price, in.tick_size)},
                    {"qty", core::format_steps(o.qty, in.lot_size)},
                    {"leaves", core::format_steps(o.leaves, in.lot_size)},
                    {"worker", o.worker},
                    {"state", o.queued ? "queued" : "resting"}});
  }
  return {{"account", account}, {"orders", list}};
}

json balancer_stats(const app::Gateway& g) {
  const auto s = g.orders().balancer().stats();
  json rejects = json::object();
  for (std::size_t i = 1; i < s.rejects.size(); ++i) {
    rejects[std::string(balance::to_string(static_cast<balance::RouteError>(i)))] = s.rejects[i];
  }
  return json{{"strategy", balance::to_string(s.strategy)},
              {"workers", s.workers},
              {"total_capacity", s.total_capacity},
              {"total_load", s.total_load},
              {"utilization_pct", s.utilization_pct},
              {"orders_routed", s.orders_routed},
              {"imbalance_ratio", s.imbalance},
              {"rejects", rejects}};
}

json matching_stats(const app::Gateway& g) {
  const auto& f = g.orders().stats();
  const auto& e = g.emitter().stats();
  json per_worker = json::object();
  std::uint64_t resting = 0;
  for (const auto& b : g.venue().books()) {
    resting += b.resting_orders;
    per_worker[std::string(b.worker)] = {{"orders", b.orders_received},
                                         {"trades", b.trades},
                                         {"volume_lots", b.volume_lots},
                                         {"resting_orders", b.resting_orders},
                                         {"queued", b.queued}};
  }
  return json{{"orders", f.orders_in},
              {"acks", e.acks},
              {"trades", e.trades},
              {"volume_lots", e.volume_lots},
              {"fills", e.fills},
              {"resting_orders", resting},
              {"live_orders", g.orders().live_orders()},
              {"held_for_ledger", e.held_events},
              {"unpaired_fills", e.unpaired_fills},
              {"books_moved", f.books_moved},
              {"rebalances", f.rebalances},
              {"rebalance_moves", f.rebalance_moves},
              {"priority_refused", f.priority_refused},
              {"queued_peak", g.venue().stats().queued_peak},
              {"order_to_ack_us",
               {{"p50", f.order_to_ack.percentile_ns(0.5) / 1000.0},
                {"p99", f.order_to_ack.percentile_ns(0.99) / 1000.0},
                {"max", f.order_to_ack.max_ns() / 1000.0}}},
              {"workers", per_worker}};
}

json plan(const partition::MovePlan& p, const partition::SymbolMap& map) {
  json moves = json::array();
  for (const auto& m : p.moves) {
    moves.push_back({{"partition", m.partition},
                     {"from", map.assignment().node_id(m.from)},
                     {"to", map.assignment().node_id(m.to)},
                     {"symbols", map.symbols_in(m.partition).size()}});
  }
  return {{"kind", partition::to_string(p.kind)}, {"node", p.node_id}, {"moves", moves}};
}

json partitions(const app::TickFlow& t) {
  const auto& map = t.map();
  const auto& a = map.assignment();
  json nodes = json::array();
  for (const auto n : a.alive_nodes()) nodes.push_back({{"id", a.node_id(n)}, {"partitions", a.partitions_of(n)}});
  json parts = json::array();
  const auto& loads = map.partition_loads();
  for (partition::PartitionId p = 0; p < a.partition_count(); ++p) {
    const auto& members = map.symbols_in(p);
    if (members.empty() && (p >= loads.size() || loads[p] == 0)) continue;  // keep the view small
    json syms = json::array();
    for (const auto s : members) syms.push_back(map.name(s));
    parts.push_back({{"partition", p},
                     {"node", a.node_id(a.owner(p))},
                     {"symbols", syms},
                     {"ticks_per_s", p < loads.size() ? loads[p] : 0.0}});
  }
  json out = {{"strategy", partition::to_string(map.partitioner().strategy())},
              {"partition_count", a.partition_count()},
              {"symbols", map.symbol_count()},
              {"max_symbols", map.max_symbols()},
              {"by_count", partition_stats(map.count_stats())},
              {"by_load", partition_stats(map.load_stats())},
              {"nodes_by_count", partition_stats(map.node_count_stats())},
              {"nodes_by_load", partition_stats(map.node_load_stats())},
              {"assignment", nodes},
              {"partitions", parts}};
  out["last_plan"] = t.last_plan() ? plan(*t.last_plan(), map) : json(nullptr);
  return out;
}

json processors(const app::TickFlow& t) {
  json nodes = json::array();
  for (std::size_t n = 0; n < t.nodes().size(); ++n) {
    if (!t.map().assignment().alive(static_cast<partition::NodeIndex>(n))) continue;
    const auto& node = t.nodes()[n];
    const auto& st = t.node_stats()[n];
    nodes.push_back({{"id", node.id()},
                     {"symbols", node.symbol_count()},
                     {"ticks_processed", node.ticks_processed()},
                     {"signals", node.signals_emitted()},
                     {"rejected", node.rejected()},
                     {"late_ticks", node.late_ticks()},
                     {"ticks_per_s", st.ticks_per_s},
                     {"p99_us", st.process_ns.percentile_ns(0.99) / 1000.0}});
  }
  return {{"nodes", nodes}};
}

json bars(std::string_view symbol, market::Interval iv, const std::vector<market::Bar>& bars) {
  json list = json::array();
  for (const auto& b : bars) {
    list.push_back({{"start", b.start_ms},
                    {"open", md(b.open)},
                    {"high", md(b.high)},
                    {"low", md(b.low)},
                    {"close", md(b.close)},
                    {"ticks", b.ticks}});
  }
  return json{{"symbol", symbol}, {"interval", iv == market::Interval::m1 ? "1m" : "1s"}, {"bars", list}};
}

json tick_stats(const app::TickFlow& t, json feeds) {
  const auto& s = t.stats();
  return json{{"ticks_processed", s.ticks_in},
              {"rejected", s.rejected},
              {"stale", s.stale},
              {"gaps", s.gaps},
              {"signals", s.signals},
              {"bars_closed", s.bars_closed},
              {"rebalances", s.rebalances},
              {"symbols", t.map().symbol_count()},
              {"feeds", feeds}};
}

// A pure function of committed state: the same version always renders the same document.
json account(const app::LedgerService& l, const core::InstrumentTable& instruments, const ledger::Account& a) {
  const auto& rules = l.rules();
  json positions = json::array();
  for (const auto& pe : a.positions) {
    const auto& in = instruments.at(pe.instrument);
    const auto& ic = rules.instrument(pe.instrument);
    const auto& p = pe.position;
    json pos = {{"symbol", in.symbol},
                {"qty", core::format_steps(p.qty, in.lot_size)},
                {"cost", cash(rules, ic.currency, p.cost)},
                {"realized_pnl", cash(rules, ic.currency, p.realized)},
                {"currency", rules.currency(ic.currency).name}};
    pos["avg_price"] =
        p.qty == 0 ? json(nullptr)
                   : json(core::to_string(ledger::average_price(p.cost, p.qty, ic, rules.currency(ic.currency).scale)));
    positions.push_back(std::move(pos));
  }
  json balances = json::array();
  for (std::size_t c = 0; c < a.cash.size(); ++c) {
    const auto& b = a.cash[c];
    if (b.balance == 0 && b.net_transfers == 0) continue;
    const auto cid = static_cast<ledger::CurrencyId>(c);
    balances.push_back({{"currency", rules.currency(cid).name},
                        {"balance", cash(rules, cid, b.balance)},
                        {"net_transfers", cash(rules, cid, b.net_transfers)}});
  }
  return {{"account", a.name}, {"positions", positions}, {"cash", balances}};
}

json replicas(const app::LedgerService& ledger) {
  const auto& c = ledger.coordinator();
  json list = json::array();
  for (const auto& r : c.replicas()) {
    list.push_back({{"node_id", r.node_id},
                    {"version", r.version},
                    {"state", ledger::to_string(r.state)},
                    {"lag", r.lag},
                    {"process", "in-process"}});
  }
  return json{{"replicas", list},
              {"committed_version", c.committed_version()},
              {"quorum", c.quorum()},
              {"has_quorum", c.has_quorum()},
              {"durable_version", ledger.stats().durable_version}};
}

json consistency(const app::LedgerService& ledger) {
  const auto r = ledger.coordinator().consistency();
  json versions = json::array();
  for (const auto& v : r.versions) {
    versions.push_back({{"node_id", v.node_id}, {"version", v.version}, {"process", "in-process"}});
  }
  return json{{"replica_count", r.replica_count},
              {"versions", versions},
              {"is_consistent", r.is_consistent},
              {"version_lag", r.version_lag}};
}

void add_followers(json& replicas, const app::LedgerService& ledger, const std::vector<cluster::FollowerStatus>& followers,
                   json etcd_members) {
  const auto committed = ledger.coordinator().committed_version();
  for (const auto& f : followers) {
    replicas["replicas"].push_back({{"node_id", f.id},
                                    {"version", f.applied},
                                    {"state", "active"},
                                    {"lag", committed > f.applied ? committed - f.applied : 0},
                                    {"process", f.process},
                                    {"http", f.http}});
  }
  replicas["etcd"] = std::move(etcd_members);
}

void add_follower_digests(json& consistency, const app::LedgerService& ledger,
                          const std::vector<cluster::FollowerStatus>& followers) {
  const auto committed = ledger.coordinator().committed_version();
  std::optional<std::uint64_t> now;  // the leader's digest at `committed`, computed once if needed
  const auto hex = [](std::uint64_t d) { return fmt::format("{:016x}", d); };
  json digests = json::array();
  bool all_match = true;
  std::uint64_t lag = 0;
  for (const auto& f : followers) {
    consistency["versions"].push_back({{"node_id", f.id}, {"version", f.applied}, {"process", f.process}});
    lag = std::max(lag, committed > f.applied ? committed - f.applied : 0);
    json d{{"node_id", f.id}, {"process", f.process}, {"version", nullptr}, {"digest", nullptr},
           {"leader_digest", nullptr}, {"matches", nullptr}};
    std::optional<std::uint64_t> leader_digest;
    std::optional<cluster::DigestAt> theirs;
    if (f.current.version == committed) {
      if (!now) now = ledger.digest();
      leader_digest = *now;
      theirs = f.current;
    } else if (f.checkpoint) {
      for (const auto& c : ledger.checkpoints()) {
        if (c.version == f.checkpoint->version) {
          leader_digest = c.digest;
          theirs = f.checkpoint;
        }
      }
    }
    if (theirs && leader_digest) {
      d["version"] = theirs->version;
      d["digest"] = hex(theirs->digest);
      d["leader_digest"] = hex(*leader_digest);
      d["matches"] = theirs->digest == *leader_digest;
      all_match = all_match && theirs->digest == *leader_digest;
    }
    digests.push_back(std::move(d));
  }
  consistency["digests"] = std::move(digests);
  consistency["process_lag"] = lag;
  consistency["is_consistent"] = consistency["is_consistent"].get<bool>() && all_match;
}

json ledger_stats(const app::LedgerService& ledger) {
  const auto& s = ledger.stats();
  const auto& c = ledger.coordinator();
  return json{{"committed_version", c.committed_version()},
              {"durable_version", s.durable_version},
              {"commits", s.commits},
              {"refused_no_quorum", s.refused_no_quorum},
              {"refused_invalid", s.refused_invalid},
              {"snapshots", s.snapshots},
              {"has_quorum", c.has_quorum()},
              {"storage_failed", s.storage_failed},
              {"replica_count", c.replicas().size()},
              {"is_consistent", c.consistency().is_consistent}};
}

}  // namespace tradeshard::net::views

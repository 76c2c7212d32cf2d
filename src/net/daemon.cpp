#include "tradeshard/net/daemon.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <csignal>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <set>

#include "tradeshard/app/gateway.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/app/tick_flow.hpp"
#include "tradeshard/link/node_host.hpp"
#include "tradeshard/link/remote_nodes.hpp"
#include "tradeshard/link/remote_venue.hpp"
#include "tradeshard/history/service.hpp"
#include "tradeshard/net/notifier.hpp"
#include "dashboard.hpp"
#include "feed_client.hpp"
#include "cluster_coordinator.hpp"
#include "link_manager.hpp"
#include "ledger_storage.hpp"
#include "etcd_ledger_log.hpp"
#include "follower_role.hpp"
#include "http_api.hpp"
#include "views.hpp"
#include "routes.hpp"
#include "tradeshard/net/server.hpp"

namespace tradeshard::net {

namespace {
// Cluster mode's gateway: matching in worker processes behind a RemoteVenue, the workers[] slots
// spread over cluster.workers in turn. Embedded: null (the Gateway builds its InProcessVenue).
std::unique_ptr<app::Venue> cluster_venue(const app::Config& c, link::RemoteVenue*& remote) {
  if (c.cluster.role != app::Role::gateway) return nullptr;
  link::RemoteVenueOptions o;
  o.gateway_id = c.cluster.id.empty() ? "gateway" : c.cluster.id;
  o.epoch = c.cluster.epoch;
  o.instruments_digest = core::InstrumentTable(c.instruments).digest();  // what the workers compare
  o.heartbeat_ms = c.cluster.heartbeat_ms;
  o.max_in_flight = c.cluster.max_in_flight;
  auto venue = std::make_unique<link::RemoteVenue>(o);
  for (const auto& w : c.cluster.workers) venue->add_link(w.id);
  for (std::uint32_t slot = 0; slot < c.workers.size(); ++slot) {
    venue->assign(slot, slot % static_cast<std::uint32_t>(c.cluster.workers.size()));
  }
  remote = venue.get();
  return venue;
}
// Cluster gateway with cluster.etcd that won the election: lead and learn the workers and nodes
// before anything is built.
std::optional<ClusterSeed> lead_if_won(app::Config& c, const std::optional<Promotion>& won) {
  if (!won) return std::nullopt;
  return lead_cluster(c, app::node_slot_configs(c).slots.size(), *won);
}
}  // namespace

struct Daemon::Impl {
  Impl(app::Config given, std::optional<Promotion> won)
      : config(std::move(given)),
        standby(config.cluster.role == app::Role::gateway && !config.cluster.etcd.empty() && !won),
        http_fd(won ? won->http_fd : -1),
        seed(lead_if_won(config, won)),
        gateway(config, standby ? nullptr : cluster_venue(config, remote)),
        server(io, config, gateway),
        notifier(io),
        signals(io),
        sampler(io),
        stats_timer(io),
        dashboard(gateway, server.http_api()) {
    const auto& c = config;
    if (remote != nullptr) {
      links = std::make_unique<LinkManager>(io, c.cluster, "worker", c.cluster.workers, *remote,
                                            [this] { server.schedule_pump(); });
      if (!c.cluster.nodes.empty()) attach_nodes();
      if (seed) {
        coordinator = std::make_unique<ClusterCoordinator>(io, c.cluster, *seed);
        links->attach(*coordinator);
        if (node_links) node_links->attach(*coordinator);
      }
      auto& api = server.http_api();
      api.route("GET", "/cluster", false, [this](const HttpRequest&, const HttpApi::Params&) {
        return HttpApi::reply(200, cluster_json());
      });
      api.add_stats_section("cluster", [this] { return cluster_json(); });
      api.add_health_check([this] {
        auto p = links->health_problem();
        return p.empty() && node_links ? node_links->health_problem() : p;
      });
      links->register_metrics(api.metrics());
      if (node_links) node_links->register_metrics(api.metrics());
    }
    gateway.set_stats_source([this](bool full) { return dashboard.render(full); });
    if (seed) {
      attach_etcd_log();
    } else if (follows()) {
      attach_follower();
    } else if (c.ledger.durable) {
      storage = std::make_unique<LedgerStorage>(
          io, c.ledger, gateway.ledger(),
          LedgerStorage::Hooks{[this](std::uint64_t v) { server.on_durable(v); }, [this] { server.durability_failed(); }});
      server.on_durable(gateway.ledger().coordinator().committed_version());  // what recovery loaded is on disk
    }
    if (c.history.enabled && !follows()) {
      history = std::make_unique<history::HistoryService>(
          c.history, [this](std::function<void()> f) { boost::asio::post(io, std::move(f)); });
      gateway.set_history(history.get());
      attach_history(server.http_api(), *history);
    }
    std::random_device seed;  // backoff jitter only: feeds must not reconnect in lockstep
    for (const auto& f : c.feeds) {
      if (follows()) break;  // market data goes to the leading gateway
      feeds.push_back(std::make_shared<FeedClient>(io, f, gateway, [this] { server.schedule_pump(); }, seed()));
      server.http_api().add_feed([feed = feeds.back().get()] { return feed->stats_json(); });
    }
  }
  // Cluster gateway on etcd: the ledger's log is in etcd (docs/cluster.md). What it held when
  // this gateway won is replayed first; from then on each loop turn's change sets are appended
  // there, and with ledger.ack_after "replicated" (the default here) a fill leaves only once etcd
  // has committed its change set.
  void attach_etcd_log() {
    auto& ledger = gateway.ledger();
    if (auto err = ledger.recover(seed->ledger.snapshot, seed->ledger.records); !err.empty()) {
      throw std::runtime_error("etcd: the ledger's log: " + err);
    }
    seed->ledger.records = {};  // replayed: not kept twice
    seed->ledger.snapshot.reset();
    etcd_log = std::make_unique<EtcdLedgerLog>(
        io, config.cluster, seed->leader, seed->ledger,
        EtcdLedgerLog::Hooks{[this](std::uint64_t v) {
                               gateway.ledger().mark_durable(v);
                               server.on_durable(v);
                             },
                             [this](const std::string& why) { fatal(why); }});
    ledger.attach_log(etcd_log.get());
    server.on_durable(ledger.coordinator().committed_version());
    if (config.ledger.durable) {
      spdlog::get("ledger")->info("ledger: the log is in etcd (cluster.etcd); ledger.data_dir is not used");
    }
    spdlog::get("ledger")->info("ledger: recovered version {} from etcd; fills are released after {}",
                                ledger.coordinator().committed_version(), app::to_string(config.ledger.ack_after));
    ledger.keep_checkpoints(kCheckpointEvery);
    auto& api = server.http_api();
    api.add_stats_section("ledger_log", [this] { return etcd_log->to_json(); });
    api.add_health_check([this] { return etcd_log->health_problem(); });
    api.set_replica_extras(HttpApi::ReplicaExtras{
        [this](nlohmann::json& body) {
          views::add_followers(body, gateway.ledger(), coordinator->followers(), etcd_log->etcd_members());
        },
        [this](nlohmann::json& body) { views::add_follower_digests(body, gateway.ledger(), coordinator->followers()); }});
    api.route("GET", "/leader", false, [this](const HttpRequest&, const HttpApi::Params&) {
      auto j = leader_value();
      j["epoch"] = config.cluster.epoch;
      return HttpApi::reply(200, j);
    });
  }
  // The leader key's value: this gateway's id and the addresses its listeners bound.
  nlohmann::json leader_value() const {
    return nlohmann::json{{"id", config.cluster.id.empty() ? "gateway" : config.cluster.id},
                          {"tcp", config.tcp.host + ":" + std::to_string(server.tcp_port())},
                          {"http", config.http.host + ":" + std::to_string(server.http_port())}};
  }
  // A replica process, or a gateway on etcd before it leads (a standby): the ledger follows the
  // log in etcd (docs/cluster.md "Replica processes", "Standby gateways"); HTTP serves it
  // read-only; no client listener, feed or history.
  [[nodiscard]] bool follows() const { return config.cluster.role == app::Role::replica || standby; }
  [[nodiscard]] const char* process_kind() const { return standby ? "standby" : "replica"; }
  void attach_follower() {
    FollowerRole::Hooks hooks{[this] { return server.http_port(); }, [this] { return leader_value(); }, nullptr};
    if (standby) hooks.won = [this](const cluster::etcd::LeaderKey& won) { promote(won); };
    follower_role = std::make_unique<FollowerRole>(io, config, gateway.ledger(), server.http_api(), std::move(hooks));
  }
  // The standby won: what it followed and its HTTP listener go to the leading daemon (main.cpp
  // builds it once run() returns); the lease is kept, not revoked (the leader key is bound to it).
  void promote(const cluster::etcd::LeaderKey& won) {
    if (promotion || exit_code != 0 || server.stopping()) return;
    Promotion p;
    p.leader = won;
    p.lease_ttl = static_cast<std::int64_t>(config.cluster.lease_ttl_s);
    follower_role->hand_over(p);
    spdlog::get("main")->info("etcd: {} won the election (epoch {}) having followed the ledger to version {}; taking the lead",
                              config.cluster.id, won.rev, p.version);
    p.http_fd = server.release_http();
    promotion = std::move(p);
    follower_role->stop();
    sampler.cancel();
    stats_timer.cancel();
    server.stop([this] { io.stop(); });
  }
  // Cluster gateway with cluster.nodes: the processing-node slots run in node processes.
  void attach_nodes() {
    const auto& c = config;
    link::RemoteNodesOptions o;
    o.gateway_id = c.cluster.id.empty() ? "gateway" : c.cluster.id;
    o.epoch = c.cluster.epoch;
    o.config_digest = link::node_config_digest(app::node_slot_configs(c));  // what the nodes compare
    o.heartbeat_ms = c.cluster.heartbeat_ms;
    remote_nodes = std::make_unique<link::RemoteNodes>(o);
    for (const auto& n : c.cluster.nodes) remote_nodes->add_link(n.id);
    const auto slots = static_cast<std::uint32_t>(gateway.ticks().nodes().size());
    for (std::uint32_t slot = 0; slot < slots; ++slot) {
      remote_nodes->assign(slot, slot % static_cast<std::uint32_t>(c.cluster.nodes.size()));
    }
    remote_nodes->on_node_output([this](const market::TickOutput& out) { gateway.ticks().on_remote_output(out); });
    gateway.ticks().set_remote(remote_nodes.get());
    node_links = std::make_unique<LinkManager>(io, c.cluster, "node", c.cluster.nodes, *remote_nodes,
                                               [this] { server.schedule_pump(); });
  }
  // With cluster.etcd: the registered processes reach their link manager. Without node
  // processes at start the gateway runs the processing nodes itself; a node that registers
  // later is named once in the log (it is used after a restart of the gateway).
  void on_members(const std::string& role, const ClusterCoordinator::Members& members) {
    if (role == "worker") return links->on_members(members);
    if (node_links) return node_links->on_members(members);
    for (const auto& m : members) {
      if (unused_nodes.insert(m.id).second) {
        spdlog::get("main")->warn("node {} registered at {}:{}; unused: the processing nodes run in this gateway, "
                                  "which found no node process at start (restart it to use node processes)",
                                  m.id, m.addr.host, m.addr.port);
      }
    }
  }
  // GET /cluster: the worker and node processes together.
  nlohmann::json cluster_json() const {
    auto j = links->cluster_json();
    if (!node_links) return j;
    auto n = node_links->cluster_json();
    for (auto& m : n["members"]) j["members"].push_back(std::move(m));
    j["failovers"] = j["failovers"].get<std::uint64_t>() + n["failovers"].get<std::uint64_t>();
    j["stale_epoch_frames"] = j["stale_epoch_frames"].get<std::uint64_t>() + n["stale_epoch_frames"].get<std::uint64_t>();
    j["degraded"] = j["degraded"].get<bool>() || n["degraded"].get<bool>();
    if (!n["last_failover"].is_null()) j["last_failover"] = n["last_failover"];
    return j;
  }
  // Measured load per partition and ticks/s per node, every partitioning.load_sample_ms.
  void sample(std::chrono::steady_clock::time_point last) {
    sampler.expires_after(std::chrono::milliseconds(config.partitioning.load_sample_ms));
    sampler.async_wait([this, last](const boost::system::error_code& ec) {
      if (ec) return;
      const auto now = std::chrono::steady_clock::now();
      const auto elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(now - last).count();
      gateway.ticks().sample(elapsed);
      const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
      if (const auto r = gateway.sample_orders(ms, elapsed); r && !r->moves.empty()) {
        spdlog::get("main")->info("rebalance: busiest worker at {:.2f} x the mean book load; {} books moved; now {:.2f} x",
                                  r->before, r->moves.size(), r->after);
        for (const auto& m : r->moves) {
          spdlog::get("main")->info("rebalance: {} {} -> {} ({:.0f}/s, {} orders)", m.symbol, m.from, m.to, m.load, m.orders);
        }
      }
      gateway.retry_held();
      sample(now);
    });
  }
  // What the loop collected for the history goes to its storage thread every 20 ms.
  void history_handoff() {
    history_timer.expires_after(std::chrono::milliseconds(20));
    history_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      history->handoff();
      history_handoff();
    });
  }
  // The dashboard's `stats` channel: one sample and one publish a second.
  void publish_stats() {
    stats_timer.expires_after(std::chrono::seconds(1));
    stats_timer.async_wait([this](const boost::system::error_code& ec) {
      if (ec) return;
      dashboard.sample();
      gateway.publish_stats();
      publish_stats();
    });
  }
  // Stops serving after a fatal cluster error (leadership lost): exit code 1, systemd restarts.
  void fatal(const std::string& why) {
    if (exit_code != 0) return;
    exit_code = 1;
    spdlog::get("main")->critical("stopping: {}", why);
    shutdown();
  }
  void shutdown() {
    notifier.notify("STOPPING=1\nSTATUS=stopping");
    notifier.stop_watchdog();
    sampler.cancel();
    for (auto& f : feeds) f->stop();
    if (links) links->stop();
    if (node_links) node_links->stop();
    if (follower_role) follower_role->stop();
    server.stop([this] {
      if (!coordinator || exit_code != 0) return io.stop();
      coordinator->release([this] { io.stop(); });  // the leader key goes now, not a TTL later
    });
  }
  app::Config config;
  const bool standby;  // a gateway on etcd that does not lead (yet): it follows and campaigns
  const int http_fd;   // the standby's HTTP listener, once it leads
  std::optional<ClusterSeed> seed;  // cluster gateway with etcd: what it won at start
  int exit_code = 0;
  boost::asio::io_context io{1};
  link::RemoteVenue* remote = nullptr;      // cluster gateway: owned by the Gateway
  app::Gateway gateway;
  Server server;
  Notifier notifier;
  boost::asio::signal_set signals;
  boost::asio::steady_timer sampler;
  boost::asio::steady_timer stats_timer;
  boost::asio::steady_timer history_timer{io};
  DashboardFeed dashboard;
  std::vector<std::shared_ptr<FeedClient>> feeds;
  std::unique_ptr<ClusterCoordinator> coordinator;  // cluster gateway with etcd
  std::unique_ptr<LinkManager> links;  // cluster gateway only
  std::unique_ptr<link::RemoteNodes> remote_nodes;  // cluster gateway with cluster.nodes
  std::unique_ptr<LinkManager> node_links;
  std::set<std::string> unused_nodes;  // registered after start without node processes: logged once
  // After io: its threads are joined (stop) before the loop they post to is destroyed.
  std::unique_ptr<history::HistoryService> history;
  std::unique_ptr<EtcdLedgerLog> etcd_log;  // cluster gateway on etcd: the ledger's log
  std::unique_ptr<FollowerRole> follower_role;  // a replica, or a standby gateway
  std::optional<Promotion> promotion;
  std::unique_ptr<LedgerStorage> storage;  // declared last: destroyed first, after the loop stopped
};

Daemon::Daemon(const app::Config& config) : impl_(std::make_unique<Impl>(config, std::nullopt)) {}
Daemon::Daemon(const app::Config& config, Promotion won) : impl_(std::make_unique<Impl>(config, std::move(won))) {}
Daemon::~Daemon() = default;

std::optional<Promotion> Daemon::take_promotion() { return std::move(impl_->promotion); }

int Daemon::run(const std::string& ports_file) {
  auto& d = *impl_;
  auto log = spdlog::get("main");
  std::signal(SIGPIPE, SIG_IGN);
  d.server.start(!d.follows(), d.http_fd);
  if (!ports_file.empty()) {
    // "role": a standby's file is rewritten once it leads (its "tcp" is 0 until then).
    const std::string role = d.standby ? "standby" : std::string(app::to_string(d.config.cluster.role));
    const std::string tmp = ports_file + ".tmp";
    std::ofstream(tmp) << "{\"tcp\":" << d.server.tcp_port() << ",\"http\":" << d.server.http_port() << ",\"role\":\""
                       << role << "\"}\n";
    std::rename(tmp.c_str(), ports_file.c_str());
  }
  d.signals.add(SIGINT);
  d.signals.add(SIGTERM);
  d.signals.async_wait([&d, log](const boost::system::error_code& ec, int sig) {
    if (ec) return;
    log->info("signal {}: stopping (flushing queued replies)", sig == SIGINT ? "SIGINT" : "SIGTERM");
    d.shutdown();
  });
  d.notifier.notify("READY=1\nSTATUS=serving tcp " + std::to_string(d.server.tcp_port()) + ", http " +
                    std::to_string(d.server.http_port()));
  d.notifier.start_watchdog();
  for (auto& f : d.feeds) f->start();  // after the Server: ticks may publish to subscribers at once
  if (d.links) d.links->start();
  if (d.node_links) d.node_links->start();
  if (d.follower_role) d.follower_role->start();
  if (d.coordinator) {
    d.coordinator->proclaim(d.leader_value().dump());
    d.coordinator->start([&d](const std::string& role, const auto& members) { d.on_members(role, members); },
                         [&d](const std::string& why) { d.fatal(why); });
  }
  d.sample(std::chrono::steady_clock::now());
  d.publish_stats();
  if (d.history) d.history_handoff();
  log->info("tradeshardd {} ready: {} instruments, {} workers", TRADESHARD_VERSION, d.config.instruments.size(),
            d.config.workers.size());
  d.io.run();
  if (d.history) {
    // After the loop: connections drained meanwhile may have closed bars; what is open now is final.
    d.gateway.ticks().save_open_bars();
    d.history->stop(1'500);  // hands over, drains the queue: within 2 s of the signal
  }
  log->info("stopped");
  return d.exit_code;
}

}  // namespace tradeshard::net

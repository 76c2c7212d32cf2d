// The gateway's links to its worker processes (link_manager.hpp).
#include "link_manager.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "cluster_coordinator.hpp"
#include "tradeshard/link/codec.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {

namespace {
// How long a fenced connection is kept open to drop and count what the worker still sends.
constexpr std::chrono::seconds kFencedLinger{30};
}  // namespace

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using nlohmann::json;

// One TCP connection to a worker; handlers of an older one find it closed and do nothing.
struct LinkManager::Conn {
  explicit Conn(asio::io_context& io) : socket(io), timer(io) {}
  tcp::socket socket;
  asio::steady_timer timer;  // connect timeout
  std::array<char, 64 * 1024> buf{};
  std::string writing;
  bool open = true;
  bool connected = false;
  // Fenced: the worker was declared dead while this connection was open (a pause, a partition).
  // It is kept for a while only to drop and count what the worker still sends on it.
  bool fenced = false;
  link::FrameReader stale;
  std::uint64_t stale_seen = 0;
};

struct LinkManager::Peer {
  Peer(asio::io_context& io, app::ClusterPeer p) : config(std::move(p)), retry(io) {}
  bool registered = true;  // with cluster.etcd: its member key is in etcd now
  app::ClusterPeer config;
  link::LinkEnd::LinkId link = 0;
  std::size_t health = 0;
  asio::steady_timer retry;
  std::shared_ptr<Conn> conn;
  std::shared_ptr<Conn> fenced;  // the connection open when it was declared dead
  std::chrono::milliseconds backoff{100};
  bool flush_scheduled = false;
};

LinkManager::LinkManager(asio::io_context& io, const app::ClusterConfig& config, std::string role,
                         std::vector<app::ClusterPeer> peers, link::LinkEnd& venue, std::function<void()> after_results)
    : io_(io),
      config_(config),
      role_(std::move(role)),
      venue_(venue),
      after_results_(std::move(after_results)),
      health_(link::HealthOptions{config.heartbeat_ms, config.peer_timeout_ms}),
      heartbeat_(io) {
  for (const auto& w : peers) {
    auto p = std::make_unique<Peer>(io, w);
    p->health = health_.add_peer(w.id);
    peers_.push_back(std::move(p));
  }
  venue_.on_output([this](link::LinkEnd::LinkId l) {
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      if (peers_[i]->link != l || peers_[i]->flush_scheduled) continue;
      peers_[i]->flush_scheduled = true;
      asio::post(io_, [this, i] {
        peers_[i]->flush_scheduled = false;
        flush(i);
      });
    }
  });
}

LinkManager::~LinkManager() { stop(); }

std::int64_t LinkManager::now_ms() const { return net::now().mono_ns / 1'000'000; }

void LinkManager::attach(ClusterCoordinator& coordinator) { coordinator_ = &coordinator; }

void LinkManager::start() {
  // The links were added to the venue by the composition root in cluster.workers order.
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    peers_[i]->link = static_cast<link::LinkEnd::LinkId>(i);
    connect(i);
  }
  heartbeat();
}

std::size_t LinkManager::add_peer(const app::ClusterPeer& w) {
  auto p = std::make_unique<Peer>(io_, w);
  p->health = health_.add_peer(w.id);
  p->link = venue_.add_link(w.id);
  peers_.push_back(std::move(p));
  return peers_.size() - 1;
}

void LinkManager::on_members(const std::vector<app::ClusterPeer>& members) {
  if (stopped_) return;
  auto log = spdlog::get("main");
  for (auto& p : peers_) p->registered = false;
  for (const auto& w : members) {
    const std::string addr = w.addr.host + ":" + std::to_string(w.addr.port);
    auto it = std::find_if(peers_.begin(), peers_.end(), [&](const auto& p) { return p->config.id == w.id; });
    if (it == peers_.end()) {
      const auto i = add_peer(w);
      peers_[i]->registered = true;
      log->info("{} {} registered at {}: joins as a spare", role_, w.id, addr);
      connect(i);
      continue;
    }
    (*it)->registered = true;
    if ((*it)->config.addr.host != w.addr.host || (*it)->config.addr.port != w.addr.port) {
      log->info("{} {} registered again at {} (was {}:{})", role_, w.id, addr, (*it)->config.addr.host,
                (*it)->config.addr.port);
      (*it)->config.addr = w.addr;
      if ((*it)->conn && !venue_.link((*it)->link).up) {  // a dial to the old address: start over
        const auto i = static_cast<std::size_t>(it - peers_.begin());
        closed(i, (*it)->conn, "address changed");
      }
    }
  }
}

std::vector<std::string> LinkManager::placement() const {
  std::vector<std::string> hosts;
  for (std::uint32_t slot = 0;; ++slot) {
    const auto l = venue_.host_of(slot);
    if (!l) break;
    hosts.push_back(venue_.link(*l).name);
  }
  return hosts;
}

void LinkManager::stop() {
  if (stopped_) return;
  stopped_ = true;
  heartbeat_.cancel();
  for (auto& p : peers_) {
    p->retry.cancel();
    for (auto* c : {&p->conn, &p->fenced}) {
      if (!*c) continue;
      (*c)->open = false;
      boost::system::error_code ignored;
      (*c)->timer.cancel();
      (*c)->socket.close(ignored);
    }
  }
}

void LinkManager::connect(std::size_t i) {
  if (stopped_) return;
  Peer& p = *peers_[i];
  if (!health_.may_connect(p.health, now_ms())) {  // flapping: wait out the backoff
    reconnect_later(i);
    return;
  }
  auto c = std::make_shared<Conn>(io_);
  p.conn = c;
  boost::system::error_code ec;
  const tcp::endpoint ep(asio::ip::make_address(p.config.addr.host, ec), p.config.addr.port);
  if (ec) {
    closed(i, c, "bad address " + p.config.addr.host + ": " + ec.message());
    return;
  }
  c->timer.expires_after(std::chrono::milliseconds(std::max<std::uint32_t>(config_.peer_timeout_ms, 200)));
  c->timer.async_wait([c](const boost::system::error_code& e) {
    if (e || !c->open || c->connected) return;
    boost::system::error_code ignored;
    c->socket.close(ignored);  // the connect fails with operation_aborted
  });
  c->socket.async_connect(ep, [this, i, c](const boost::system::error_code& e) {
    if (!c->open || stopped_) return;
    if (e) {
      closed(i, c, "connect: " + (e == asio::error::operation_aborted ? std::string("timed out") : e.message()));
      return;
    }
    c->connected = true;
    c->timer.cancel();
    boost::system::error_code ignored;
    c->socket.set_option(tcp::no_delay(true), ignored);
    Peer& p = *peers_[i];
    const bool reset = venue_.link(p.link).needs_reset;
    c->writing = venue_.hello(p.link, reset);
    asio::async_write(c->socket, asio::buffer(c->writing), [this, i, c](const boost::system::error_code& e, std::size_t) {
      if (!c->open || stopped_) return;
      c->writing.clear();
      if (e) return closed(i, c, "write: " + e.message());
      flush(i);
    });
    read(i, c);
  });
}

void LinkManager::reconnect_later(std::size_t i) {
  if (stopped_) return;
  Peer& p = *peers_[i];
  p.retry.expires_after(p.backoff);
  p.backoff = std::min(p.backoff * 2, std::chrono::milliseconds(2000));
  p.retry.async_wait([this, i](const boost::system::error_code& e) {
    if (!e) connect(i);
  });
}

void LinkManager::read(std::size_t i, const std::shared_ptr<Conn>& c) {
  c->socket.async_read_some(asio::buffer(c->buf), [this, i, c](const boost::system::error_code& e, std::size_t n) {
    if (!c->open || stopped_) return;
    if (c->fenced) return read_fenced(i, c, e, n);
    if (peers_[i]->conn != c) return;
    if (e) return closed(i, c, e == asio::error::eof ? role_ + " closed the link" : e.message());
    Peer& p = *peers_[i];
    const auto before = venue_.link(p.link);
    const auto now = net::now();
    const bool ok = venue_.on_bytes(p.link, std::string_view(c->buf.data(), n), now);
    const auto after = venue_.link(p.link);
    const std::int64_t ms = now.mono_ns / 1'000'000;
    if (!before.up && after.up) {
      p.backoff = std::chrono::milliseconds(100);
      spdlog::get("main")->info("link {}: up (epoch {}, {} commands re-sent)", p.config.id, config_.epoch,
                                after.counters.resent - before.counters.resent);
      apply(health_.on_connected(p.health, ms));
    } else if (after.counters.pongs != before.counters.pongs) {
      apply(health_.on_heartbeat(p.health, ms));
    } else {
      health_.on_heard(p.health, ms);
    }
    if (after.counters.results != before.counters.results) after_results_();
    if (!ok) return closed(i, c, after.error);
    flush(i);
    read(i, c);
  });
}

// What a fenced worker still sends (results, pongs it made before it learned it was replaced)
// is dropped and counted; the connection closes at EOF, an error, or after kFencedLinger.
void LinkManager::read_fenced(std::size_t i, const std::shared_ptr<Conn>& c, const boost::system::error_code& e,
                              std::size_t n) {
  Peer& p = *peers_[i];
  const auto close = [&] {
    c->open = false;
    boost::system::error_code ignored;
    c->timer.cancel();
    c->socket.close(ignored);
    if (p.fenced == c) p.fenced.reset();
  };
  if (e) return close();
  c->stale.feed(std::string_view(c->buf.data(), n));
  std::uint64_t frames = 0;
  while (c->stale.next()) ++frames;
  if (frames > 0 && c->stale_seen == 0) {  // once per fenced connection
    spdlog::get("main")->warn("{} {}: frames on its fenced link dropped (sent before it learned it was replaced)",
                              role_, p.config.id);
  }
  c->stale_seen += frames;
  stale_frames_ += frames;
  if (!c->stale.error().empty()) return close();
  read(i, c);
}

void LinkManager::flush(std::size_t i) {
  Peer& p = *peers_[i];
  const auto& c = p.conn;
  if (!c || !c->open || !c->connected || !c->writing.empty()) return;  // a write in flight flushes after
  c->writing = venue_.take_output(p.link);
  if (c->writing.empty()) return;
  asio::async_write(c->socket, asio::buffer(c->writing), [this, i, c](const boost::system::error_code& e, std::size_t) {
    if (!c->open || stopped_) return;
    c->writing.clear();
    if (e) return closed(i, c, "write: " + e.message());
    flush(i);
  });
}

void LinkManager::closed(std::size_t i, const std::shared_ptr<Conn>& c, const std::string& why) {
  Peer& p = *peers_[i];
  if (!c->open) return;
  c->open = false;
  boost::system::error_code ignored;
  c->timer.cancel();
  c->socket.close(ignored);
  if (p.conn == c) p.conn.reset();
  venue_.on_link_down(p.link);
  const auto state = health_.peer(p.health).state;
  if (state != link::PeerState::dead) spdlog::get("main")->warn("link {}: {}", p.config.id, why);
  apply(health_.on_closed(p.health, now_ms(), why));
  reconnect_later(i);
}

void LinkManager::heartbeat() {
  heartbeat_.expires_after(std::chrono::milliseconds(config_.heartbeat_ms));
  heartbeat_.async_wait([this](const boost::system::error_code& e) {
    if (e || stopped_) return;
    const auto now = net::now();
    for (std::size_t i = 0; i < peers_.size(); ++i) {
      Peer& p = *peers_[i];
      if (!p.conn || !p.conn->connected) continue;
      std::string ping = venue_.ping(p.link, static_cast<std::uint64_t>(now.mono_ns));
      if (ping.empty()) continue;
      if (p.conn->writing.empty()) {
        p.conn->writing = std::move(ping);
        const auto c = p.conn;
        asio::async_write(c->socket, asio::buffer(c->writing), [this, i, c](const boost::system::error_code& e, std::size_t) {
          if (!c->open || stopped_) return;
          c->writing.clear();
          if (e) return closed(i, c, "write: " + e.message());
          flush(i);
        });
      }
      // (a write in flight: this heartbeat is skipped; the link is busy, which says it is alive)
    }
    apply(health_.tick(now.mono_ns / 1'000'000));
    heartbeat();
  });
}

void LinkManager::apply(const link::HealthDecision& d) {
  auto log = spdlog::get("main");
  if (d.degraded && !was_degraded_) {
    log->error("cluster: most {}s went silent at once; the gateway is the likely culprit: degraded, no failover", role_);
  }
  was_degraded_ = health_.degraded();
  for (const auto i : d.admitted) log->info("{} {}: up", role_, health_.peer(i).id);
  for (const auto i : d.failed) fail_over(i);
  if (d.admitted.empty()) return;
  // Slots left without a home (their process died while no other was up, e.g. refused right at a
  // gateway's takeover before any link was up) go to the peer that is up now.
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    const auto& h = health_.peer(peers_[i]->health);
    if (h.state == link::PeerState::dead && h.deaths > 0 && !venue_.link(peers_[i]->link).slots.empty()) fail_over(i);
  }
}

void LinkManager::fail_over(std::size_t dead) {
  auto log = spdlog::get("main");
  Peer& p = *peers_[dead];
  const auto detect_ms = now_ms();
  if (p.conn) {  // a silent (paused, cut off) worker: fenced from now on; what it still sends is dropped
    if (p.fenced) {
      boost::system::error_code ignored;
      p.fenced->open = false;
      p.fenced->socket.close(ignored);
    }
    p.fenced = std::move(p.conn);
    p.fenced->fenced = true;
    p.fenced->writing.clear();
    p.fenced->timer.expires_after(kFencedLinger);
    p.fenced->timer.async_wait([c = p.fenced](const boost::system::error_code& e) {
      if (e || !c->open) return;
      boost::system::error_code ignored;
      c->socket.close(ignored);  // the pending read ends with an error and closes it
    });
    venue_.on_link_down(p.link);
    reconnect_later(dead);
  }
  const auto slots = venue_.link(p.link).slots;
  if (slots.empty()) {
    log->warn("{} {} dead ({}); it hosted no slot", role_, p.config.id, health_.peer(p.health).reason);
    return;
  }
  // The live worker hosting the fewest slots takes them all.
  std::optional<std::size_t> target;
  std::size_t fewest = SIZE_MAX;
  for (std::size_t i = 0; i < peers_.size(); ++i) {
    if (i == dead || health_.peer(peers_[i]->health).state != link::PeerState::up) continue;
    const auto n = venue_.link(peers_[i]->link).slots.size();
    if (n < fewest) {
      fewest = n;
      target = i;
    }
  }
  if (!target) {
    log->error("{} {} dead ({}); no live {} to take slots {}", role_, p.config.id, health_.peer(p.health).reason,
               role_, fmt::join(slots, ","));
    return;
  }
  venue_.rehome(p.link, peers_[*target]->link);
  ++failovers_;
  last_detect_ms_ = now_ms() - detect_ms;
  last_failover_ = p.config.id + " -> " + peers_[*target]->config.id;
  log->warn("failover: {} {} dead ({}); slots {} -> {}{}", role_, p.config.id, health_.peer(p.health).reason,
            fmt::join(slots, ","), peers_[*target]->config.id,
            role_ == "worker" ? " (books rebuilt from the shadow, unanswered commands re-sent)"
                              : " (their state starts from the next tick)");
  flush(*target);
  after_results_();
  if (coordinator_ != nullptr) coordinator_->assign(role_, placement());
}

nlohmann::json LinkManager::cluster_json() const {
  json members = json::array();
  const auto now = now_ms();
  for (const auto& p : peers_) {
    const auto v = venue_.link(p->link);
    const auto& h = health_.peer(p->health);
    json m{{"id", p->config.id},
           {"role", role_},
           {"addr", p->config.addr.host + ":" + std::to_string(p->config.addr.port)},
           {"state", link::to_string(h.state)},
           {"rtt_us", v.rtt_ns / 1000},
           {"last_seen_ms", h.last_heard_ms == 0 ? json(nullptr) : json(now - h.last_heard_ms)},
           {"epoch", config_.epoch},
           {"registered", coordinator_ == nullptr ? json(nullptr) : json(p->registered)},
           {"slots", v.slots},
           {"in_flight", v.outstanding},
           {"deaths", h.deaths},
           {"commands", v.counters.commands},
           {"resent", v.counters.resent}};
    if (role_ == "node") {
      m["ticks"] = v.counters.ticks;
      m["ticks_dropped"] = v.counters.dropped;
      m["batches_lost"] = v.counters.lost;
    }
    if (!h.reason.empty()) m["reason"] = h.reason;
    members.push_back(std::move(m));
  }
  return json{{"members", std::move(members)},
              {"etcd", coordinator_ == nullptr ? json(nullptr) : coordinator_->to_json()},
              {"failovers", failovers_},
              {"stale_epoch_frames", stale_frames_},
              {"degraded", health_.degraded()},
              {"last_failover", last_failover_.empty() ? json(nullptr) : json(last_failover_)}};
}

std::string LinkManager::health_problem() const {
  if (coordinator_ != nullptr) {
    if (auto p = coordinator_->health_problem(); !p.empty()) return p;
  }
  if (health_.degraded()) return "cluster: most " + role_ + "s silent at once (the gateway is the likely culprit)";
  for (const auto& p : peers_) {
    const auto v = venue_.link(p->link);
    if (!v.slots.empty() && health_.peer(p->health).state == link::PeerState::dead) {
      return "cluster: slots of dead " + role_ + " " + p->config.id + " have no live home";
    }
  }
  return {};
}

void LinkManager::register_metrics(app::MetricsRegistry& m) const {
  const auto per_worker = [this](auto value) {
    return [this, value](const app::MetricsRegistry::Emit& emit) {
      for (const auto& p : peers_) emit(p->config.id, value(*p));
    };
  };
  if (role_ != "worker") {  // node processes: their own names, labelled by node
    const std::string n = "tradeshard_cluster_" + role_ + "_";
    m.gauge(n + "link_up", "1 while the gateway's link to the " + role_ + " process is up.", role_,
            per_worker([this](const Peer& p) {
              return venue_.link(p.link).up && health_.peer(p.health).state == link::PeerState::up ? 1.0 : 0.0;
            }));
    m.gauge(n + "link_rtt_seconds", "The last heartbeat's round trip on the link.", role_,
            per_worker([this](const Peer& p) { return static_cast<double>(venue_.link(p.link).rtt_ns) / 1e9; }));
    m.counter(n + "ticks_dropped_total", "Ticks not sent: too many batches in flight, or the link down.", role_,
              per_worker([this](const Peer& p) { return static_cast<double>(venue_.link(p.link).counters.dropped); }));
    m.counter(n + "failovers_total", "Processes declared dead whose slots moved.",
              [this] { return static_cast<double>(failovers_); });
    return;
  }
  m.gauge("tradeshard_cluster_link_up", "1 while the gateway's link to the worker process is up.", "worker",
          per_worker([this](const Peer& p) {
            return venue_.link(p.link).up && health_.peer(p.health).state == link::PeerState::up ? 1.0 : 0.0;
          }));
  m.gauge("tradeshard_cluster_link_rtt_seconds", "The last heartbeat's round trip on the link.", "worker",
          per_worker([this](const Peer& p) { return static_cast<double>(venue_.link(p.link).rtt_ns) / 1e9; }));
  m.counter("tradeshard_cluster_commands_resent_total", "Commands sent again after a reconnect or a failover.",
            "worker", per_worker([this](const Peer& p) { return static_cast<double>(venue_.link(p.link).counters.resent); }));
  m.counter("tradeshard_cluster_stale_frames_total",
            "Frames a worker sent on a link fenced by its failover (dropped).",
            [this] { return static_cast<double>(stale_frames_); });
  m.counter("tradeshard_cluster_failovers_total", "Worker processes declared dead whose slots moved.",
            [this] { return static_cast<double>(failovers_); });
}

}  // namespace tradeshard::net

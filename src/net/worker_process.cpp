// `tradeshardd --role worker|node` (include/tradeshard/net/worker_process.hpp): a link listener
// in front of a link::PeerHost (WorkerHost: matching engines; NodeHost: processing nodes). One
// gateway link at a time: a newer connection replaces the current one (the gateway reconnected;
// the host's epochs decide whether it may serve). Reads go to the host, its answers are written
// back in order (one write in flight, the rest appended), and queued orders are matched in
// batches on the loop between reads.
#include "tradeshard/net/worker_process.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <array>
#include <csignal>
#include <fstream>
#include <utility>

#include <unistd.h>

#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/membership.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/app/tick_flow.hpp"
#include "tradeshard/link/node_host.hpp"
#include "tradeshard/link/worker_host.hpp"
#include "tradeshard/net/notifier.hpp"
#include "wall_clock.hpp"

namespace tradeshard::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {
// A gateway that stops reading: past this much unwritten, the link is closed (it re-sends).
constexpr std::size_t kMaxUnwritten = 64u << 20;
}  // namespace

struct WorkerProcess::Impl {
  struct Link : std::enable_shared_from_this<Link> {
    Link(Impl& w, tcp::socket s) : owner(w), socket(std::move(s)) {}
    Impl& owner;
    tcp::socket socket;
    std::array<char, 64 * 1024> buf{};
    std::string pending;  // answers not yet handed to a write
    std::string writing;  // the write in flight
    bool open = true;
    bool close_after_write = false;
    // A connection that came while another serves: its bytes wait here until its HELLO is known
    // to be acceptable; only then does it replace the serving link.
    bool candidate = false;
    std::string early;
    link::FrameReader probe;

    void start() { read(); }
    void read() {
      socket.async_read_some(asio::buffer(buf), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                            std::size_t n) {
        if (!self->open) return;
        if (ec) return self->owner.link_closed(self, ec == asio::error::eof ? "gateway closed the link" : ec.message());
        if (self->candidate) {
          self->owner.probe(self, std::string_view(self->buf.data(), n));
          return;
        }
        std::string out;
        const bool keep = self->owner.host.on_bytes(std::string_view(self->buf.data(), n), out);
        self->send(std::move(out));
        if (!keep) {
          self->owner.log->warn("link refused: {}", self->owner.host.error());
          self->close_after_write = true;
          if (self->writing.empty()) self->owner.link_closed(self, "refused");
          return;
        }
        self->owner.schedule_pump();
        self->read();
      });
    }
    void send(std::string bytes) {
      if (bytes.empty() || !open) return;
      pending += bytes;
      if (pending.size() > kMaxUnwritten) {
        owner.link_closed(shared_from_this(), "gateway not reading: over 64 MiB unwritten");
        return;
      }
      if (writing.empty()) write();
    }
    void write() {
      writing.swap(pending);
      asio::async_write(socket, asio::buffer(writing), [self = shared_from_this()](const boost::system::error_code& ec,
                                                                                  std::size_t) {
        if (!self->open) return;
        self->writing.clear();
        if (ec) return self->owner.link_closed(self, ec.message());
        if (self->close_after_write && self->pending.empty()) return self->owner.link_closed(self, "refused");
        if (!self->pending.empty()) self->write();
      });
    }
    void close() {
      open = false;
      boost::system::error_code ignored;
      socket.shutdown(tcp::socket::shutdown_both, ignored);
      socket.close(ignored);
    }
  };

  explicit Impl(const app::Config& c)
      : config(c),
        instruments(c.instruments),
        owned_host(make_host(c, instruments)),
        host(*owned_host),
        acceptor(io),
        signals(io),
        notifier(io),
        log(spdlog::get("main")) {}

  void accept() {
    acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
      if (ec) {
        if (ec != asio::error::operation_aborted) accept();
        return;
      }
      boost::system::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      const auto peer = s.remote_endpoint(ignored);
      auto l = std::make_shared<Link>(*this, std::move(s));
      if (current) {
        // Another gateway connection (a reconnect, or a stray one): it replaces the serving
        // link only once its HELLO would be accepted. One candidate at a time.
        log->info("link: a second connection from {}:{}; checking its HELLO", peer.address().to_string(), peer.port());
        if (candidate) candidate->close();
        l->candidate = true;
        candidate = l;
      } else {
        log->info("link: gateway connected from {}:{}", peer.address().to_string(), peer.port());
        current = l;
      }
      l->start();
      accept();
    });
  }

  // A candidate's bytes: once a whole first frame is there, it is a HELLO the host would accept
  // (then the candidate replaces the serving link and gets all its bytes), or it is refused.
  void probe(const std::shared_ptr<Link>& l, std::string_view bytes) {
    l->early.append(bytes.data(), bytes.size());
    l->probe.feed(bytes);
    const auto f = l->probe.next();
    if (!f) {
      if (!l->probe.error().empty()) return refuse_candidate(l, link::RefuseCode::bad_frame, l->probe.error());
      if (l->early.size() > 4096) return refuse_candidate(l, link::RefuseCode::bad_frame, "no HELLO in 4 KiB");
      l->read();
      return;
    }
    std::string why;
    const auto m = link::decode(*f, why);
    if (!m || !std::holds_alternative<link::Hello>(*m)) {
      return refuse_candidate(l, link::RefuseCode::bad_frame, m ? std::string("expected HELLO") : why);
    }
    if (auto r = host.check_hello(std::get<link::Hello>(*m))) return refuse_candidate(l, r->code, r->reason);
    log->info("link: the second connection's HELLO is acceptable; it replaces the current link");
    if (current) link_closed(current, "replaced by a newer gateway connection");
    candidate.reset();
    l->candidate = false;
    current = l;
    std::string out;
    const bool keep = host.on_bytes(l->early, out);
    l->early.clear();
    l->send(std::move(out));
    if (!keep) {
      l->close_after_write = true;
      return;
    }
    schedule_pump();
    l->read();
  }

  void refuse_candidate(const std::shared_ptr<Link>& l, link::RefuseCode code, const std::string& why) {
    log->warn("link: second connection refused, the current link stays: {}", why);
    std::string out;
    link::append(out, 0, link::Refuse{code, host.epoch(), why});
    l->close_after_write = true;
    l->send(std::move(out));
    if (candidate == l) candidate.reset();
  }

  void link_closed(const std::shared_ptr<Link>& l, const std::string& why) {
    if (!l->open) return;
    l->close();
    if (l == candidate) candidate.reset();
    if (l == current) {
      current.reset();
      host.on_link_closed();
      log->info("link closed: {}", why);
    }
  }

  // Matches queued orders in batches, yielding to reads between batches.
  void schedule_pump() {
    if (pump_scheduled) return;
    pump_scheduled = true;
    asio::post(io, [this] {
      pump_scheduled = false;
      std::string out;
      const bool more = host.pump(net::now(), out);
      if (current) current->send(std::move(out));
      if (more) schedule_pump();
    });
  }


  // A worker runs matching engines for the gateway's worker slots; a node, processing nodes for
  // its node slots. Everything else here (the listener, one link at a time, etcd) is the same.
  static std::unique_ptr<link::PeerHost> make_host(const app::Config& c, const core::InstrumentTable& instruments) {
    if (c.cluster.role == app::Role::node) {
      return std::make_unique<link::NodeHost>(app::node_slot_configs(c), link::NodeHostOptions{c.cluster.id, 256,
                                                                                             link::default_max_payload});
    }
    return std::make_unique<link::WorkerHost>(
        instruments, book::EngineOptions{c.matching.self_trade_prevention, c.matching.market_protection_bps, 0},
        link::WorkerHostOptions{c.cluster.id, instruments.digest(), 1'000'000, 0, c.balancer.batch_size, 8192, 64,
                                link::default_max_payload});
  }
  [[nodiscard]] std::string_view role() const { return app::to_string(config.cluster.role); }

  const app::Config& config;
  asio::io_context io{1};
  core::InstrumentTable instruments;
  std::unique_ptr<link::PeerHost> owned_host;
  link::PeerHost& host;
  tcp::acceptor acceptor;
  asio::signal_set signals;
  Notifier notifier;  // sd_notify: READY, STOPPING, the watchdog
  std::shared_ptr<spdlog::logger> log;
  std::shared_ptr<Link> current;
  std::shared_ptr<Link> candidate;  // a second connection whose HELLO is not known yet
  bool pump_scheduled = false;
  // With cluster.etcd: the member key <prefix>/members/worker/<id>, bound to this process's lease.
  std::unique_ptr<cluster::EtcdClient> etcd;
  std::unique_ptr<cluster::Registration> registration;
};

WorkerProcess::WorkerProcess(const app::Config& config) : impl_(std::make_unique<Impl>(config)) {}
WorkerProcess::~WorkerProcess() = default;

int WorkerProcess::run(const std::string& ports_file) {
  auto& w = *impl_;
  std::signal(SIGPIPE, SIG_IGN);
  const auto& at = w.config.cluster.link;
  const tcp::endpoint ep(asio::ip::make_address(at.host), at.port);
  w.acceptor.open(ep.protocol());
  w.acceptor.set_option(tcp::acceptor::reuse_address(true));
  w.acceptor.bind(ep);
  w.acceptor.listen();
  const auto port = w.acceptor.local_endpoint().port();
  // Ready (ports file, READY=1) once the gateway can find this worker: at once with static
  // membership, after the member key is in etcd with cluster.etcd.
  const auto ready = [&w, ports_file, port, at] {
    if (!ports_file.empty()) {
      const std::string tmp = ports_file + ".tmp";
      std::ofstream(tmp) << "{\"link\":" << port << "}\n";
      std::rename(tmp.c_str(), ports_file.c_str());
    }
    w.notifier.notify("READY=1\nSTATUS=" + std::string(w.role()) + " " + w.config.cluster.id + ": link on port " +
                      std::to_string(port));
    w.notifier.start_watchdog();
    w.log->info("tradeshardd {} {} {} ready: link on {}:{}, {} instruments", TRADESHARD_VERSION, w.role(),
                w.config.cluster.id, at.host, port, w.instruments.size());
  };
  w.signals.add(SIGINT);
  w.signals.add(SIGTERM);
  w.signals.async_wait([&w](const boost::system::error_code& ec, int) {
    if (ec) return;
    w.log->info("signal: stopping");
    w.notifier.notify("STOPPING=1\nSTATUS=stopping");
    w.notifier.stop_watchdog();
    boost::system::error_code ignored;
    w.acceptor.close(ignored);
    if (w.current) w.link_closed(w.current, "stopping");
    if (!w.registration) return w.io.stop();
    // A clean stop takes the member key away now (the lease is revoked), not a TTL later.
    auto deadline = std::make_shared<asio::steady_timer>(w.io, std::chrono::milliseconds(500));
    deadline->async_wait([&w, deadline](const boost::system::error_code&) { w.io.stop(); });
    w.registration->revoke([&w] { w.io.stop(); });
  });
  w.accept();
  const auto& cc = w.config.cluster;
  if (cc.etcd.empty()) {
    ready();
  } else {
    cluster::EtcdOptions o;
    o.endpoints = cc.etcd;
    w.etcd = std::make_unique<cluster::EtcdClient>(w.io, o);
    const cluster::Keys keys{cc.prefix};
    const std::string role(w.role());
    cluster::MemberInfo me{cc.id, role, at.host + ":" + std::to_string(port), static_cast<std::int64_t>(::getpid())};
    w.registration = std::make_unique<cluster::Registration>(w.io, *w.etcd, cc.lease_ttl_s, keys.member(role, cc.id),
                                                             cluster::encode(me));
    w.registration->start(
        [&w, ready, first = true, key = keys.member(role, cc.id)](std::int64_t lease) mutable {
          w.log->info("etcd: registered {} (lease {:x})", key, lease);
          if (std::exchange(first, false)) ready();
        },
        [&w](const std::string& why) { w.log->warn("etcd: member key lost ({}); registering again", why); });
  }
  w.io.run();
  w.log->info("stopped");
  return 0;
}

}  // namespace tradeshard::net

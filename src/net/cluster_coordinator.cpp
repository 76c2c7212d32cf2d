// The gateway's side of etcd (cluster_coordinator.hpp).
#include "cluster_coordinator.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <charconv>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>

namespace tradeshard::net {

namespace asio = boost::asio;
namespace etcd = cluster::etcd;
using nlohmann::json;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

namespace {

cluster::EtcdOptions etcd_options(const app::ClusterConfig& c) {
  cluster::EtcdOptions o;
  o.endpoints = c.etcd;
  return o;
}

std::optional<app::Endpoint> split_addr(const std::string& addr) {
  const auto colon = addr.rfind(':');
  if (colon == std::string::npos || colon == 0) return std::nullopt;
  unsigned port = 0;
  const char* first = addr.data() + colon + 1;
  const char* last = addr.data() + addr.size();
  const auto r = std::from_chars(first, last, port);
  if (r.ec != std::errc{} || r.ptr != last || port == 0 || port > 65535) return std::nullopt;
  return app::Endpoint{addr.substr(0, colon), static_cast<std::uint16_t>(port)};
}

// The registered processes of `role`, by id, their addresses parsed; a value that does not decode
// is logged and left out.
std::vector<app::ClusterPeer> decode_members(const std::vector<etcd::KeyValue>& kvs, const std::string& role) {
  std::vector<app::ClusterPeer> out;
  for (const auto& kv : kvs) {
    std::string error;
    const auto m = cluster::decode_member(kv.value, &error);
    const auto addr = m ? split_addr(m->addr) : std::nullopt;
    if (!m || m->role != role || !addr) {
      spdlog::get("main")->warn("etcd: member key {} ignored: {}", kv.key, m ? "bad addr or role" : error);
      continue;
    }
    out.push_back(app::ClusterPeer{m->id, *addr});
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  return out;
}

// Runs `io` until `call`'s handler has run; the private loop of the bootstrap only.
template <class T, class Call>
etcd::Result<T> await(asio::io_context& io, Call call) {
  std::optional<etcd::Result<T>> out;
  call([&out](etcd::Result<T> r) { out = std::move(r); });
  while (!out) {
    io.restart();  // a loop that ran out of work for a moment is stopped until restarted
    io.run_for(milliseconds(5));
  }
  return std::move(*out);
}

void sleep_on(asio::io_context& io, milliseconds d) {
  asio::steady_timer t(io, d);
  bool done = false;
  t.async_wait([&done](const boost::system::error_code&) { done = true; });
  while (!done) {
    io.restart();
    io.run_for(milliseconds(5));
  }
}

// The head, its snapshot and the log after it, checked (cluster::LogAssembler), all read at one
// revision: a consistent view even if the ledger was being written meanwhile.
// What a standby already holds: the ledger's state at `version`, the next batch's first version.
struct LedgerBase {
  std::uint64_t version = 0;
  const std::string* state = nullptr;
  std::uint64_t next_batch = 0;
};

LedgerLogSeed read_ledger_log_once(asio::io_context& io, cluster::EtcdClient& client, const std::string& prefix,
                                   const LedgerBase& base) {
  const cluster::LedgerKeys keys{prefix};
  LedgerLogSeed out;
  const auto head = await<etcd::RangeResponse>(io, [&](auto done) {
    client.range(etcd::RangeRequest{keys.head(), {}, 0, 0, false, false}, std::move(done));
  });
  if (!head.ok()) throw std::runtime_error("etcd: reading " + keys.head() + ": " + etcd::describe(head.error));
  const auto at = head.value->header.revision;
  if (!head.value->kvs.empty()) {
    std::string error;
    const auto h = cluster::decode_head(head.value->kvs.front().value, &error);
    if (!h) throw std::runtime_error("etcd: " + keys.head() + " does not decode: " + error);
    out.head = *h;
    out.head_mod = head.value->kvs.front().mod_revision;
  }
  // Every key under `from`..`end` at the head's revision, 16 values (at most 16 MB) per read.
  const auto read_all = [&](std::string from, const std::string& end, const auto& each) {
    for (bool more = true; more;) {
      const auto r = await<etcd::RangeResponse>(io, [&](auto done) {
        client.range(etcd::RangeRequest{from, end, 16, at, false, false}, std::move(done));
      });
      if (!r.ok()) throw etcd::Error(r.error);
      for (const auto& kv : r.value->kvs) each(kv);
      more = r.value->more && !r.value->kvs.empty();
      if (more) from = r.value->kvs.back().key + '\0';
    }
  };
  if (out.head.version < base.version) {
    throw std::runtime_error("etcd: the ledger's head is at version " + std::to_string(out.head.version) +
                             " but this gateway followed it to " + std::to_string(base.version));
  }
  // From etcd's snapshot when it is newer than what this gateway holds; else only the tail.
  std::uint64_t start = 0;
  std::string log_from = keys.log_prefix();
  if (out.head.snapshot > base.version) {
    start = out.head.snapshot;
    std::vector<etcd::KeyValue> kvs;
    read_all(keys.snapshot(out.head.snapshot), etcd::prefix_end(keys.snapshot(out.head.snapshot)),
             [&kvs](const etcd::KeyValue& kv) { kvs.push_back(kv); });
    std::vector<cluster::ChunkKV> chunks;
    for (const auto& kv : kvs) chunks.push_back(cluster::ChunkKV{kv.key, kv.value});
    std::string error;
    out.snapshot = cluster::join_snapshot(keys, out.head.snapshot, chunks, &error);
    if (!out.snapshot) throw std::runtime_error("etcd: the ledger's snapshot: " + error);
  } else if (base.state != nullptr && base.version > 0) {
    start = base.version;
    out.snapshot = *base.state;
    if (base.next_batch == base.version + 1) log_from = keys.log(base.next_batch);
  }  // else: no snapshot and no state held: the log from version 1
  cluster::LogAssembler log(keys, start);
  read_all(log_from, etcd::prefix_end(keys.log_prefix()), [&log](const etcd::KeyValue& kv) {
    std::string error;
    if (!log.add(kv.key, kv.value, &error)) throw std::runtime_error("etcd: " + error);
  });
  if (std::string error; !log.ends_at(out.head.version, &error)) throw std::runtime_error("etcd: " + error);
  for (auto& r : log.records()) out.records.push_back(std::move(r.bytes));
  out.batches = log.batches();
  return out;
}

// The same, again when etcd compacted the revision read at meanwhile (auto-compaction).
LedgerLogSeed read_ledger_log(asio::io_context& io, cluster::EtcdClient& client, const std::string& prefix,
                              const LedgerBase& base) {
  for (int attempt = 1;; ++attempt) {
    try {
      return read_ledger_log_once(io, client, prefix, base);
    } catch (const etcd::Error& e) {
      if (e.code != etcd::Code::out_of_range || attempt == 5) {
        throw std::runtime_error("etcd: reading the ledger's log: " + etcd::describe(e));
      }
      spdlog::get("main")->info("etcd: {} while reading the ledger's log; reading again", etcd::describe(e));
    }
  }
}

}  // namespace

ClusterSeed lead_cluster(app::Config& config, std::size_t node_slots, const Promotion& won) {
  auto& cc = config.cluster;
  auto log = spdlog::get("main");
  asio::io_context io{1};
  cluster::EtcdClient client(io, etcd_options(cc));
  const cluster::Keys keys{cc.prefix};
  const auto deadline = Clock::now() + milliseconds(cc.startup_timeout_ms);
  const std::string me = cc.id.empty() ? "gateway" : cc.id;

  // 1. The lease the standby campaigned with, kept alive on this loop until the coordinator
  // takes it over on the daemon's.
  cluster::LeaseKeeper lease(io, client, won.lease_ttl);
  std::string lost;
  lease.adopt(won.leader.lease, won.lease_ttl, [&lost](const std::string& why) { lost = why; });
  ClusterSeed seed;
  seed.leader = won.leader;
  seed.lease_ttl = won.lease_ttl;
  cc.epoch = static_cast<std::uint64_t>(seed.leader.rev);
  log->info("etcd: leading as {} with epoch {} (leader key {})", me, cc.epoch, seed.leader.key);
  // Its status as a standby goes (it was on the same lease).
  (void)await<etcd::DeleteResponse>(io, [&](auto done) {
    client.del(etcd::DeleteRequest{cluster::LedgerKeys{cc.prefix}.follower(me), {}, false}, std::move(done));
  });

  // 2. The ledger: what the standby followed, and what etcd holds after it (read after winning,
  // so nothing is appended meanwhile: every append is fenced on the leader key; this gateway's
  // first one also on the head read here).
  seed.ledger = read_ledger_log(io, client, cc.prefix, LedgerBase{won.version, &won.state, won.next_batch});
  log->info("etcd: ledger log at version {} (snapshot at {}; this gateway followed it to {}; {} change sets to replay)",
            seed.ledger.head.version, seed.ledger.head.snapshot, won.version, seed.ledger.records.size());
  if (!lost.empty()) throw std::runtime_error("etcd: lease lost while taking the lead: " + lost);

  // 3. The registered workers (at least one) and nodes (at least cluster.min_nodes), waiting up
  // to the deadline.
  const auto registered = [&](const std::string& role, std::size_t at_least) {
    std::vector<app::ClusterPeer> found;
    for (;;) {
      const auto r = await<etcd::RangeResponse>(io, [&](auto done) {
        client.range(etcd::RangeRequest{keys.members(role), etcd::prefix_end(keys.members(role)), 0, 0, false, false},
                     std::move(done));
      });
      if (r.ok()) found = decode_members(r.value->kvs, role);
      if (found.size() >= at_least) return found;
      if (Clock::now() > deadline) {
        throw std::runtime_error("etcd: " + std::to_string(found.size()) + " " + role + "s registered under " +
                                 keys.members(role) + ", " + std::to_string(at_least) + " needed, within " +
                                 std::to_string(cc.startup_timeout_ms) + " ms (cluster.startup_timeout_ms)");
      }
      sleep_on(io, milliseconds(100));
    }
  };
  // A placement in etcd means an earlier gateway led: this is a takeover, which must not wait
  // for cluster.min_nodes (a node process may have been lost with it): the registered ones serve.
  const auto current = await<etcd::RangeResponse>(io, [&](auto done) {
    client.range(etcd::RangeRequest{keys.assignments(), {}, 0, 0, false, false}, std::move(done));
  });
  if (!current.ok()) throw std::runtime_error("etcd: reading " + keys.assignments() + ": " + etcd::describe(current.error));
  const bool takeover = !current.value->kvs.empty();
  cc.workers = registered("worker", 1);
  cc.nodes = registered("node", takeover ? 0 : cc.min_nodes);
  const auto& workers = cc.workers;
  const auto& nodes = cc.nodes;
  if (nodes.empty()) log->info("etcd: no node process registered: the processing nodes run in this gateway");

  // 4. The placement, fenced on the leader key and on the key's last write (read above).
  std::int64_t mod = 0;
  std::uint64_t version = 0;
  if (!current.value->kvs.empty()) {
    mod = current.value->kvs.front().mod_revision;
    if (auto a = cluster::decode_assignments(current.value->kvs.front().value)) version = a->version;
  }
  cluster::Assignments a;
  a.epoch = cc.epoch;
  a.version = version + 1;
  a.gateway = me;
  for (std::size_t slot = 0; slot < config.workers.size(); ++slot) a.hosts.push_back(workers[slot % workers.size()].id);
  for (std::size_t slot = 0; !nodes.empty() && slot < node_slots; ++slot) a.nodes.push_back(nodes[slot % nodes.size()].id);
  const auto put = await<etcd::TxnResponse>(io, [&](auto done) {
    client.txn(cluster::fenced_put(seed.leader, keys.assignments(), cluster::encode(a), mod), std::move(done));
  });
  if (!put.ok()) throw std::runtime_error("etcd: writing " + keys.assignments() + ": " + etcd::describe(put.error));
  if (!put.value->succeeded) {
    throw std::runtime_error(cluster::lost_leadership(seed.leader, *put.value)
                                 ? "etcd: lost the leadership before the first write"
                                 : "etcd: " + keys.assignments() + " changed under the new leader");
  }
  seed.assignments = a;
  seed.assignments_mod = put.value->header.revision;
  log->info("etcd: {} version {}: {} slots on {} workers, {} node slots on {} nodes", keys.assignments(), a.version,
            a.hosts.size(), workers.size(), a.nodes.size(), nodes.size());
  // The lease stays: the coordinator keeps it alive on the daemon's loop (stop(), not revoke()).
  if (!lost.empty()) throw std::runtime_error("etcd: lease lost while taking the lead: " + lost);
  lease.stop();
  client.stop();
  return seed;
}

// ---------------------------------------------------------------------------------------------

ClusterCoordinator::ClusterCoordinator(asio::io_context& io, const app::ClusterConfig& config, ClusterSeed seed)
    : io_(io),
      config_(config),
      seed_(std::move(seed)),
      keys_{config.prefix},
      client_(io, etcd_options(config)),
      lease_(io, client_, static_cast<std::int64_t>(config.lease_ttl_s)),
      members_(io, client_, keys_.members("worker")),
      node_members_(io, client_, keys_.members("node")),
      leader_watch_(io, client_, seed_.leader.key),
      followers_(io, client_, cluster::LedgerKeys{config.prefix}.followers()),
      retry_(io) {
  wanted_ = seed_.assignments;
}

ClusterCoordinator::~ClusterCoordinator() { stop(); }

std::uint64_t ClusterCoordinator::epoch() const noexcept { return static_cast<std::uint64_t>(seed_.leader.rev); }

void ClusterCoordinator::start(std::function<void(const std::string&, const Members&)> on_members,
                               std::function<void(const std::string&)> on_fatal) {
  on_fatal_ = std::move(on_fatal);
  on_members_ = std::move(on_members);
  lease_.adopt(seed_.leader.lease, seed_.lease_ttl, [this](const std::string& why) {
    fatal("lease " + fmt::format("{:x}", seed_.leader.lease) + " lost (" + why + "): the leader key is gone");
  });
  // Deleted by hand, revoked, or expired while etcd could not tell us: another gateway may lead.
  leader_watch_.start([this](const cluster::PrefixMirror::State& state) {
    const auto it = state.find(seed_.leader.key);
    if (it == state.end() || it->second.create_revision != seed_.leader.rev) {
      fatal("the leader key " + seed_.leader.key + " is gone from etcd");
    }
  });
  watch(members_, "worker");
  watch(node_members_, "node");
  followers_.start([](const cluster::PrefixMirror::State&) {});  // read when asked (followers())
}

void ClusterCoordinator::proclaim(const std::string& value) {
  client_.proclaim(seed_.leader, value, [this, value](etcd::Result<etcd::Header> r) {
    if (stopped_) return;
    if (!r.ok()) {
      spdlog::get("main")->warn("etcd: proclaiming {} as the leader's value: {}", value, etcd::describe(r.error));
    }
  });
}

std::vector<cluster::FollowerStatus> ClusterCoordinator::followers() const {
  std::vector<cluster::FollowerStatus> out;
  for (const auto& [key, kv] : followers_.state()) {
    if (auto f = cluster::decode_follower(kv.value)) out.push_back(std::move(*f));
  }
  return out;
}

void ClusterCoordinator::watch(cluster::PrefixMirror& mirror, const std::string& role) {
  mirror.start([this, role](const cluster::PrefixMirror::State& state) {
    std::vector<etcd::KeyValue> kvs;
    for (const auto& [key, kv] : state) kvs.push_back(kv);
    const Members m = decode_members(kvs, role);
    (role == "node" ? registered_nodes_ : registered_workers_) = m.size();
    if (on_members_) on_members_(role, m);
  });
}

void ClusterCoordinator::stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_.cancel();
  members_.stop();
  node_members_.stop();
  leader_watch_.stop();
  followers_.stop();
  lease_.stop();
  client_.stop();
}

void ClusterCoordinator::release(std::function<void()> done) {
  if (stopped_) return done();
  members_.stop();
  node_members_.stop();
  leader_watch_.stop();
  followers_.stop();
  auto once = std::make_shared<std::function<void()>>(std::move(done));
  const auto finish = [this, once] {
    if (!*once) return;
    auto f = std::move(*once);
    *once = nullptr;
    stop();
    f();
  };
  retry_.expires_after(milliseconds(500));
  retry_.async_wait([finish](const boost::system::error_code& ec) {
    if (!ec) finish();
  });
  lease_.revoke([finish] { finish(); });
}

void ClusterCoordinator::assign(const std::string& role, std::vector<std::string> hosts) {
  (role == "node" ? wanted_.nodes : wanted_.hosts) = std::move(hosts);
  has_pending_ = true;
  if (!writing_) write();
}

void ClusterCoordinator::write() {
  if (stopped_ || fatal_ || !has_pending_) return;
  has_pending_ = false;
  writing_ = true;
  cluster::Assignments a = wanted_;
  a.epoch = epoch();
  a.version = seed_.assignments.version + 1;
  client_.txn(cluster::fenced_put(seed_.leader, keys_.assignments(), cluster::encode(a), seed_.assignments_mod),
              [this, a](etcd::Result<etcd::TxnResponse> r) {
                if (stopped_) return;
                if (r.ok() && r.value->succeeded) {
                  writing_ = false;
                  ++writes_;
                  seed_.assignments = a;
                  seed_.assignments_mod = r.value->header.revision;
                  last_error_.clear();
                  spdlog::get("main")->info("etcd: {} version {} written", keys_.assignments(), a.version);
                  write();
                  return;
                }
                if (r.ok() && cluster::lost_leadership(seed_.leader, *r.value)) {
                  writing_ = false;
                  return fatal("etcd refused a fenced write: this gateway (epoch " + std::to_string(epoch()) +
                               ") no longer leads");
                }
                last_error_ = r.ok() ? "the assignments changed under this leader" : etcd::describe(r.error);
                spdlog::get("main")->warn("etcd: writing {} version {}: {}; resolving", keys_.assignments(), a.version,
                                          last_error_);
                resolve(a);
              });
}

// After a failed or unknown write: read the key back. Ours (committed after all): done. Not
// ours: write again on top of what is there (still fenced on the leader key).
void ClusterCoordinator::resolve(const cluster::Assignments& attempted) {
  ++write_retries_;
  retry_.expires_after(milliseconds(200));
  retry_.async_wait([this, attempted](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    client_.range(etcd::RangeRequest{keys_.assignments(), {}, 0, 0, false, false},
                  [this, attempted](etcd::Result<etcd::RangeResponse> r) {
                    if (stopped_) return;
                    if (!r.ok()) return resolve(attempted);
                    std::optional<cluster::Assignments> there;
                    std::int64_t mod = 0;
                    if (!r.value->kvs.empty()) {
                      there = cluster::decode_assignments(r.value->kvs.front().value);
                      mod = r.value->kvs.front().mod_revision;
                    }
                    writing_ = false;
                    seed_.assignments_mod = mod;
                    if (there && there->epoch == attempted.epoch && there->version == attempted.version &&
                        there->hosts == attempted.hosts && there->nodes == attempted.nodes) {
                      ++writes_;
                      seed_.assignments = attempted;  // it was committed
                      last_error_.clear();
                    } else {  // not committed: write wanted_ (attempted, or newer) on top of what is there
                      if (there) seed_.assignments.version = std::max(seed_.assignments.version, there->version);
                      has_pending_ = true;
                    }
                    write();
                  });
  });
}

void ClusterCoordinator::fatal(const std::string& why) {
  if (fatal_ || stopped_) return;
  fatal_ = true;
  spdlog::get("main")->critical("cluster: stepping down: {}", why);
  // Not from inside an etcd stream's callback: stopping destroys that stream.
  asio::post(io_, [this, why] {
    if (on_fatal_) on_fatal_(why);
  });
}

json ClusterCoordinator::to_json() const {
  return json{{"endpoints", config_.etcd},
              {"prefix", config_.prefix},
              {"leader_key", seed_.leader.key},
              {"epoch", epoch()},
              {"lease", fmt::format("{:x}", seed_.leader.lease)},
              {"lease_alive", lease_.alive()},
              {"registered_workers", registered_workers_},
              {"registered_nodes", registered_nodes_},
              {"assignments_version", seed_.assignments.version},
              {"assignments_writes", writes_},
              {"assignments_retries", write_retries_},
              {"assignments_pending", writing_ || has_pending_},
              {"last_error", last_error_.empty() ? json(nullptr) : json(last_error_)}};
}

std::string ClusterCoordinator::health_problem() const {
  if (fatal_) return "cluster: this gateway lost its leadership in etcd";
  if (!lease_.alive()) return "cluster: the etcd lease is not confirmed alive";
  if (!last_error_.empty()) return "cluster: assignments not yet written to etcd: " + last_error_;
  return {};
}

}  // namespace tradeshard::net

// Follows the ledger's log in etcd (ledger_follower.hpp).
#include "ledger_follower.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

namespace tradeshard::net {

namespace etcd = cluster::etcd;
using std::chrono::milliseconds;

LedgerFollower::LedgerFollower(boost::asio::io_context& io, cluster::EtcdClient& client, std::string prefix,
                               std::uint64_t applied, Sink sink)
    : client_(client), keys_{std::move(prefix)}, sink_(std::move(sink)), timer_(io), applied_(applied) {}

LedgerFollower::~LedgerFollower() { stop(); }

void LedgerFollower::start() { bootstrap(); }

void LedgerFollower::stop() {
  if (stopped_) return;
  stopped_ = true;
  ++gen_;
  timer_.cancel();
  watch_.reset();
}

void LedgerFollower::later(milliseconds delay, std::function<void()> f) {
  timer_.expires_after(delay);
  timer_.async_wait([this, gen = gen_, f = std::move(f)](const boost::system::error_code& ec) {
    if (ec || stopped_ || gen != gen_) return;
    f();
  });
}

void LedgerFollower::fail(const std::string& why) {
  failed_ = true;
  watching_ = false;
  last_error_ = why;
  spdlog::get("ledger")->critical("ledger follower: {}; following stops (restart this process)", why);
  ++gen_;
  later(milliseconds(0), [this] { watch_.reset(); });  // not from inside the watch's own handler
}

// The head, then (at the head read's revision) the snapshot when it is newer than what this
// process holds, then the log: one consistent view, then a watch from the revision after it.
void LedgerFollower::bootstrap() {
  if (stopped_ || failed_) return;
  const auto gen = ++gen_;
  watch_.reset();
  watching_ = false;
  ++bootstraps_;
  client_.range(etcd::RangeRequest{keys_.head(), {}, 0, 0, false, false}, [this, gen](etcd::Result<etcd::RangeResponse> r) {
    if (gen != gen_ || stopped_) return;
    if (!r.ok()) {
      last_error_ = "reading " + keys_.head() + ": " + etcd::describe(r.error);
      return later(milliseconds(500), [this] { bootstrap(); });
    }
    const auto revision = r.value->header.revision;
    cluster::LedgerHead head;
    std::int64_t mod = 0;
    if (!r.value->kvs.empty()) {
      std::string why;
      const auto h = cluster::decode_head(r.value->kvs.front().value, &why);
      if (!h) return fail(keys_.head() + " does not decode: " + why);
      head = *h;
      mod = r.value->kvs.front().mod_revision;
    }
    if (applied_ > head.version) {
      return fail("this process holds the ledger at version " + std::to_string(applied_) + " but etcd's ends at " +
                  std::to_string(head.version) + " (another cluster, or etcd's data was lost)");
    }
    head_ = head;
    head_mod_ = mod;
    auto log = std::make_shared<std::vector<etcd::KeyValue>>();
    auto read_log = [this, gen, revision, log] {
      read_all(gen, keys_.log_prefix(), etcd::prefix_end(keys_.log_prefix()), revision, log,
               [this, gen, revision, log] { bootstrapped(gen, revision, *log); });
    };
    if (head.snapshot <= applied_) return read_log();
    auto chunks = std::make_shared<std::vector<etcd::KeyValue>>();
    const auto at = head.snapshot;
    read_all(gen, keys_.snapshot(at), etcd::prefix_end(keys_.snapshot(at)), revision, chunks,
             [this, at, chunks, read_log = std::move(read_log)] {
               std::vector<cluster::ChunkKV> parts;
               for (const auto& kv : *chunks) parts.push_back(cluster::ChunkKV{kv.key, kv.value});
               std::string why;
               const auto bytes = cluster::join_snapshot(keys_, at, parts, &why);
               if (!bytes) {
                 last_error_ = "the snapshot at version " + std::to_string(at) + ": " + why;
                 return later(milliseconds(1000), [this] { bootstrap(); });
               }
               if (auto err = sink_.restore(at, *bytes); !err.empty()) {
                 return fail("the snapshot at version " + std::to_string(at) + " does not load: " + err);
               }
               applied_ = at;
               next_batch_ = 0;
               ++snapshots_loaded_;
               spdlog::get("ledger")->info("ledger follower: loaded the snapshot at version {} ({} bytes)", at,
                                           bytes->size());
               read_log();
             });
  });
}

// Every key in [from, end) at `revision`, 16 values per read, into `into`; then done().
void LedgerFollower::read_all(std::uint64_t gen, std::string from, std::string end, std::int64_t revision,
                              std::shared_ptr<std::vector<etcd::KeyValue>> into, std::function<void()> done) {
  etcd::RangeRequest req{from, end, 16, revision, false, false};
  client_.range(std::move(req), [this, gen, end = std::move(end), revision, into,
                                 done = std::move(done)](etcd::Result<etcd::RangeResponse> r) mutable {
    if (gen != gen_ || stopped_) return;
    if (!r.ok()) {
      last_error_ = "reading the ledger: " + etcd::describe(r.error);
      // Compacted meanwhile (auto-compaction): a newer revision at once; anything else: soon.
      const auto delay = r.error.code == etcd::Code::out_of_range ? milliseconds(0) : milliseconds(500);
      return later(delay, [this] { bootstrap(); });
    }
    for (auto& kv : r.value->kvs) into->push_back(std::move(kv));
    if (r.value->more && !r.value->kvs.empty()) {
      return read_all(gen, into->back().key + '\0', std::move(end), revision, into, std::move(done));
    }
    done();
  });
}

void LedgerFollower::bootstrapped(std::uint64_t gen, std::int64_t revision, const std::vector<etcd::KeyValue>& log) {
  if (gen != gen_ || stopped_) return;
  cluster::LogAssembler assembled(keys_, applied_);
  std::string why;
  for (const auto& kv : log) {
    if (!assembled.add(kv.key, kv.value, &why)) break;
  }
  if (why.empty()) (void)assembled.ends_at(head_.version, &why);
  if (!why.empty()) {
    last_error_ = "the ledger's log in etcd: " + why;
    spdlog::get("ledger")->error("ledger follower: {}; reading it again in 1 s", last_error_);
    return later(milliseconds(1000), [this] { bootstrap(); });
  }
  if (!apply_records(assembled.records())) return;
  if (!assembled.batches().empty()) next_batch_ = assembled.batches().back().last + 1;
  last_error_.clear();
  seen_revision_ = revision;
  backoff_ = milliseconds(100);
  spdlog::get("ledger")->info("ledger follower: at version {} (etcd revision {}); watching", applied_, revision);
  watch_from(revision + 1);
}

// The head and the log keys (not the snapshots' chunks: "<prefix>/ledger/head" sorts before
// "<prefix>/ledger/log/", and the range ends where the log's keys do).
void LedgerFollower::watch_from(std::int64_t revision) {
  const auto gen = gen_;
  watching_ = true;
  watch_ = client_.watch(
      etcd::WatchRequest{keys_.head(), etcd::prefix_end(keys_.log_prefix()), revision, false, true},
      [this, gen](etcd::WatchMessage m) { on_message(gen, m); }, [this, gen](etcd::Error e) { on_end(gen, e); });
}

void LedgerFollower::on_message(std::uint64_t gen, const etcd::WatchMessage& m) {
  if (gen != gen_ || stopped_) return;
  if (m.canceled) return;  // on_end follows with the reason
  backoff_ = milliseconds(100);
  if (m.events.empty()) seen_revision_ = std::max(seen_revision_, m.header.revision);  // progress
  for (const auto& e : m.events) {
    seen_revision_ = std::max(seen_revision_, e.kv.mod_revision);
    if (e.type != etcd::WatchEvent::Type::put) continue;  // the switch deletes what a snapshot covers
    if (e.kv.key == keys_.head()) {
      std::string why;
      const auto h = cluster::decode_head(e.kv.value, &why);
      if (!h) return fail(keys_.head() + " does not decode: " + why);
      head_ = *h;
      head_mod_ = e.kv.mod_revision;
      continue;
    }
    cluster::LogAssembler assembled(keys_, applied_);
    std::string why;
    if (!assembled.add(e.kv.key, e.kv.value, &why)) {
      last_error_ = "a batch that does not follow version " + std::to_string(applied_) + ": " + why;
      spdlog::get("ledger")->warn("ledger follower: {}; reading the ledger again", last_error_);
      return later(milliseconds(0), [this] { bootstrap(); });
    }
    ++batches_;
    if (!apply_records(assembled.records())) return;
    if (!assembled.batches().empty()) next_batch_ = assembled.batches().back().last + 1;
  }
}

void LedgerFollower::on_end(std::uint64_t gen, const etcd::Error& e) {
  if (gen != gen_ || stopped_) return;
  watching_ = false;
  last_error_ = "the watch ended: " + etcd::describe(e);
  if (e.code == etcd::Code::out_of_range) {
    // etcd compacted the revision this process had reached: what it missed is gone from the
    // history, so it reads the ledger again (a newer snapshot, if there is one, and the log).
    spdlog::get("ledger")->info("ledger follower: revision {} compacted; reading the ledger again", seen_revision_ + 1);
    return later(milliseconds(0), [this] { bootstrap(); });
  }
  ++rewatches_;
  const auto delay = backoff_;
  backoff_ = std::min(backoff_ * 2, milliseconds(2000));
  later(delay, [this] { watch_from(seen_revision_ + 1); });
}

bool LedgerFollower::apply_records(std::vector<cluster::LogRecord>& records) {
  for (const auto& r : records) {
    if (auto err = sink_.apply(r.version, r.bytes); !err.empty()) {
      fail("version " + std::to_string(r.version) + " does not apply: " + err);
      return false;
    }
    applied_ = r.version;
    ++records_;
  }
  return true;
}

nlohmann::json LedgerFollower::to_json() const {
  return nlohmann::json{{"applied_version", applied_},
                        {"head_version", head_.version},
                        {"snapshot_version", head_.snapshot},
                        {"leader_epoch", head_.epoch},
                        {"lag", head_.version > applied_ ? head_.version - applied_ : 0},
                        {"watching", watching_},
                        {"failed", failed_},
                        {"bootstraps", bootstraps_},
                        {"snapshots_loaded", snapshots_loaded_},
                        {"rewatches", rewatches_},
                        {"batches", batches_},
                        {"records", records_},
                        {"last_error", last_error_.empty() ? nlohmann::json(nullptr) : nlohmann::json(last_error_)}};
}

std::string LedgerFollower::health_problem() const {
  if (failed_) return "ledger follower: " + last_error_;
  if (!watching_) return "ledger follower: not following etcd" + (last_error_.empty() ? "" : ": " + last_error_);
  return {};
}

}  // namespace tradeshard::net

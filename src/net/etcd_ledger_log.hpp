#pragma once
// The ledger's log in etcd (cluster mode with cluster.etcd, issue 18; docs/cluster.md "The
// ledger's log in etcd"): the leading gateway's LedgerLog. Each loop turn's committed change sets
// are staged into a batch; one batch is in flight at a time (one fenced transaction: the leader
// key and the head's revision), and the next one grows meanwhile (group commit). When etcd has
// committed a batch, `durable(v)` runs: with ledger.ack_after "replicated" the Server releases
// the fills up to v then. An unknown outcome (timeout, dropped connection) is resolved by reading
// the head back: committed (go on), not committed (send the same batch again), or another
// gateway's (step down). A refused fence is a lost leadership: `fatal` (the gateway steps down).
// Snapshots (every ledger.snapshot_every change sets) go to etcd in chunks beside the appends;
// once whole and covered by the head, a switch in the appends' pipeline makes them the head's
// and deletes the log before them (ledger_log.hpp). The latest snapshot asked for wins: one is
// written at a time, and one asked for meanwhile waits (a newer one replaces it).
// Health: an append waiting over a second, failing appends, or an etcd alarm (NOSPACE: etcd
// takes no more writes) make the gateway degraded; etcd's alarms (and members) are read every second.
// Loop thread only; its own etcd connections (an append, a chunk and an alarm read at most in
// flight, one connection each), so the log never waits behind a watch or a lease.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tradeshard/app/config.hpp"
#include "tradeshard/app/ledger_service.hpp"
#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/ledger_log.hpp"

namespace tradeshard::net {

// What the bootstrap read of the log (lead_cluster), handed to the writer and to the ledger.
struct LedgerLogSeed {
  cluster::LedgerHead head;          // head.version: the last change set in etcd (0: none)
  std::int64_t head_mod = 0;         // the head key's mod revision (0: absent)
  std::optional<std::string> snapshot;    // the state at head.snapshot (when not 0)
  std::vector<std::string> records;       // the change sets head.snapshot+1..head.version, in order
  std::vector<cluster::BatchSpan> batches;  // the log's batches in etcd
};

class EtcdLedgerLog final : public app::LedgerLog {
 public:
  struct Hooks {
    std::function<void(std::uint64_t version)> durable;  // etcd committed every change set <= version
    std::function<void(const std::string& why)> fatal;   // lost leadership or another writer: step down
  };
  EtcdLedgerLog(boost::asio::io_context& io, const app::ClusterConfig& config, cluster::etcd::LeaderKey leader,
                const LedgerLogSeed& seed, Hooks hooks);
  ~EtcdLedgerLog() override;
  EtcdLedgerLog(const EtcdLedgerLog&) = delete;
  EtcdLedgerLog& operator=(const EtcdLedgerLog&) = delete;

  // app::LedgerLog: stage() adds to the growing batch; flush() sends it unless one is in flight.
  bool stage(std::uint64_t version, std::string_view bytes) override;
  bool flush() override;
  void snapshot(std::uint64_t version, std::string bytes) override;

  void stop();
  [[nodiscard]] std::uint64_t committed_version() const noexcept { return head_.version; }
  [[nodiscard]] std::uint64_t snapshot_version() const noexcept { return head_.snapshot; }
  [[nodiscard]] nlohmann::json to_json() const;      // /replicas "etcd_log"
  [[nodiscard]] std::string health_problem() const;  // "" when healthy
  // etcd's members as last listed (every second): [{"id","name","client_urls","leader","learner"}].
  [[nodiscard]] nlohmann::json etcd_members() const;

 private:
  struct Batch {
    std::uint64_t first = 0, last = 0;
    std::string bytes;
  };
  // What the head pipeline has in flight: a batch, or a snapshot's switch (bytes empty, first 0).
  struct Op {
    Batch batch;
    cluster::LedgerHead target;  // the head once it lands
    std::uint64_t keep_log_from = 0;
    [[nodiscard]] bool is_switch() const noexcept { return batch.first == 0; }
  };
  // The snapshot being written: its chunks go out one at a time, beside the appends.
  struct SnapshotJob {
    std::uint64_t version = 0;
    std::vector<std::string> chunks;
    std::size_t next = 0;   // the next chunk to put
    bool cleared = false;   // what an earlier writer left under this version is gone
  };
  void send();
  void transmit();
  void sent(const cluster::etcd::Result<cluster::etcd::TxnResponse>& r);
  [[nodiscard]] bool landed(const cluster::LedgerHead& there) const;
  void committed(std::int64_t head_mod);
  void resolve();
  void retry_later(std::chrono::milliseconds delay, bool resolve_first);
  void fatal(const std::string& why);
  void start_snapshot(std::uint64_t version, std::string bytes);
  void write_snapshot();
  void poll_alarms();

  boost::asio::io_context& io_;
  const cluster::LedgerKeys keys_;
  const cluster::etcd::LeaderKey leader_;
  cluster::EtcdClient client_;
  Hooks hooks_;
  boost::asio::steady_timer retry_, snapshot_retry_, alarm_timer_;
  cluster::LedgerHead head_;       // what etcd holds (as far as this writer knows)
  std::int64_t head_mod_ = 0;
  cluster::BatchWriter growing_;   // the next batch
  std::deque<Batch> full_;         // batches that filled up while one was in flight
  std::optional<Op> in_flight_;
  std::chrono::steady_clock::time_point in_flight_since_;
  std::deque<cluster::BatchSpan> logged_;  // the batches etcd holds (the switch deletes the old ones)
  std::optional<SnapshotJob> snap_;        // being written
  std::optional<std::pair<std::uint64_t, std::string>> snap_next_;  // asked for meanwhile
  std::uint64_t staged_ = 0;       // the last version staged
  bool stopped_ = false, fatal_ = false;
  std::uint64_t batches_ = 0, records_ = 0, bytes_ = 0, resends_ = 0, resolved_ = 0;
  std::uint64_t snapshots_ = 0, snapshot_bytes_ = 0, snapshots_skipped_ = 0;
  std::string last_error_, snapshot_error_;
  std::vector<std::string> alarms_;  // etcd's alarms, e.g. "NOSPACE on member 8e9e05c52164694d"
  std::vector<cluster::etcd::Member> members_;
  std::uint64_t etcd_leader_ = 0;
  std::int64_t etcd_db_size_ = 0;
};

}  // namespace tradeshard::net

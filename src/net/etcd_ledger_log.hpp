#pragma once
// The ledger's log in etcd (cluster mode with cluster.etcd, issue 18; docs/cluster.md "The
// ledger's log in etcd"): the leading gateway's LedgerLog. Each loop turn's committed change sets
// are staged into a batch; one batch is in flight at a time (one fenced transaction: the leader
// key and the head's revision), and the next one grows meanwhile (group commit). When etcd has
// committed a batch, `durable(v)` runs: with ledger.ack_after "replicated" the Server releases
// the fills up to v then. An unknown outcome (timeout, dropped connection) is resolved by reading
// the head back: committed (go on), not committed (send the same batch again), or another
// gateway's (step down). A refused fence is a lost leadership: `fatal` (the gateway steps down).
// Loop thread only; its own etcd connection, so the log never waits behind a watch or a lease.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <deque>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
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
  std::vector<std::string> records;  // every change set, versions 1..head.version, in order
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
  [[nodiscard]] nlohmann::json to_json() const;      // /replicas "etcd_log"
  [[nodiscard]] std::string health_problem() const;  // "" when healthy

 private:
  struct Batch {
    std::uint64_t first = 0, last = 0;
    std::string bytes;
  };
  void send();
  void transmit();
  void sent(const cluster::etcd::Result<cluster::etcd::TxnResponse>& r);
  void committed(std::int64_t head_mod);
  void resolve();
  void retry_later(std::chrono::milliseconds delay, bool resolve_first);
  void fatal(const std::string& why);

  boost::asio::io_context& io_;
  const cluster::LedgerKeys keys_;
  const cluster::etcd::LeaderKey leader_;
  cluster::EtcdClient client_;
  Hooks hooks_;
  boost::asio::steady_timer retry_;
  cluster::LedgerHead head_;       // what etcd holds (as far as this writer knows)
  std::int64_t head_mod_ = 0;
  cluster::BatchWriter growing_;   // the next batch
  std::deque<Batch> full_;         // batches that filled up while one was in flight
  std::optional<Batch> in_flight_;
  std::uint64_t staged_ = 0;       // the last version staged
  bool stopped_ = false, fatal_ = false, snapshot_warned_ = false;
  std::uint64_t batches_ = 0, records_ = 0, bytes_ = 0, resends_ = 0, resolved_ = 0;
  std::string last_error_;
};

}  // namespace tradeshard::net

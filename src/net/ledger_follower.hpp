#pragma once
// Follows the ledger's log in etcd (docs/cluster.md "Replicas and standby gateways"): what a
// replica process and a standby gateway run. It bootstraps from the head, the snapshot the head
// names (when it is newer than what the follower holds) and the log after it, all read at one
// revision; then it watches `<prefix>/ledger/` from the next revision and applies each batch the
// leader appends, in version order. A watch whose start revision etcd compacted meanwhile, or a
// batch that does not follow (a gap), starts a bootstrap again; a lost connection watches again
// from the last revision seen (backoff 100 ms doubling to 2 s), so nothing is missed or applied
// twice. A change set the sink refuses stops the follower (its state can no longer be trusted):
// health_problem() says why.
// Loop thread only. The EtcdClient must outlive the follower; no handler of ours runs after
// stop() or destruction.
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <string>
#include <vector>

#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/ledger_log.hpp"

namespace tradeshard::net {

class LedgerFollower {
 public:
  struct Sink {
    // Replaces the state by the snapshot's (taken at `version`); error text or empty.
    std::function<std::string(std::uint64_t version, const std::string& bytes)> restore;
    // Applies the next change set (`version` is the follower's applied version + 1); error text or empty.
    std::function<std::string(std::uint64_t version, const std::string& bytes)> apply;
  };
  // `applied`: the version the sink's state is at now (0: empty).
  LedgerFollower(boost::asio::io_context& io, cluster::EtcdClient& client, std::string prefix, std::uint64_t applied,
                 Sink sink);
  ~LedgerFollower();
  LedgerFollower(const LedgerFollower&) = delete;
  LedgerFollower& operator=(const LedgerFollower&) = delete;

  void start();
  void stop();

  [[nodiscard]] std::uint64_t applied() const noexcept { return applied_; }
  // The first version of the next batch in etcd: applied() + 1 once a batch was applied since
  // the last snapshot loaded; 0 when not known.
  [[nodiscard]] std::uint64_t next_batch() const noexcept { return next_batch_; }
  // The head as last read or watched (its version: the log's end in etcd).
  [[nodiscard]] const cluster::LedgerHead& head() const noexcept { return head_; }
  [[nodiscard]] std::int64_t head_mod_revision() const noexcept { return head_mod_; }
  // Caught up: bootstrapped, watching, and nothing in the head it has not applied.
  [[nodiscard]] bool caught_up() const noexcept { return watching_ && applied_ >= head_.version; }
  [[nodiscard]] nlohmann::json to_json() const;      // /stats "ledger_follower"
  [[nodiscard]] std::string health_problem() const;  // "" when following

 private:
  void bootstrap();
  void read_all(std::uint64_t gen, std::string from, std::string end, std::int64_t revision,
                std::shared_ptr<std::vector<cluster::etcd::KeyValue>> into, std::function<void()> done);
  void bootstrapped(std::uint64_t gen, std::int64_t revision, const std::vector<cluster::etcd::KeyValue>& log);
  void watch_from(std::int64_t revision);
  void on_message(std::uint64_t gen, const cluster::etcd::WatchMessage& m);
  void on_end(std::uint64_t gen, const cluster::etcd::Error& e);
  bool apply_records(std::vector<cluster::LogRecord>& records);
  void later(std::chrono::milliseconds delay, std::function<void()> f);
  void fail(const std::string& why);

  cluster::EtcdClient& client_;
  const cluster::LedgerKeys keys_;
  Sink sink_;
  boost::asio::steady_timer timer_;
  std::unique_ptr<cluster::EtcdClient::Stream> watch_;
  std::uint64_t gen_ = 0;  // bumped by each bootstrap and stop: older answers are dropped
  std::uint64_t applied_ = 0;
  std::uint64_t next_batch_ = 0;
  cluster::LedgerHead head_;
  std::int64_t head_mod_ = 0;
  std::int64_t seen_revision_ = 0;  // the last revision the watch (or the bootstrap) covered
  std::chrono::milliseconds backoff_{100};
  bool stopped_ = false, watching_ = false, failed_ = false;
  std::uint64_t bootstraps_ = 0, snapshots_loaded_ = 0, rewatches_ = 0, batches_ = 0, records_ = 0;
  std::string last_error_;
};

}  // namespace tradeshard::net

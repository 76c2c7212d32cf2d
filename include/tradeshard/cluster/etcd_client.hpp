#pragma once
// An etcd v3 client on the event loop: HTTP/1.1 to etcd's JSON gateway with Beast (no gRPC
// dependency), bodies from etcd_codec.hpp. Cluster mode's only way to coordinate (docs/cluster.md).
//
// Requests. Unary calls (range, put, txn, lease, election leader/resign, status…) share a few
// keep-alive connections (EtcdOptions::connections) and are answered in the order each connection
// takes them. Every call's handler runs exactly once, on the loop, never inside the call itself,
// with the decoded answer or an etcd::Error whose kind says whether etcd may have applied it
// (etcd_codec.hpp). A call not yet sent is retried on the next endpoint until its deadline; a
// read (range, leader, status, member list, alarms, keepalive) is also retried after an ambiguous
// failure; a write never is: its handler hears `ambiguous`, and the writer resolves it.
//
// Streams. A watch, an election campaign (which blocks until won) or an observe gets its own
// connection (the gateway answers one stream per request), closed when the returned Stream is
// destroyed. A stream's on_end runs once, when it ends for any reason other than that.
//
// Ownership (the rule the sessions follow too, docs/ARCHITECTURE.md): the client owns its
// connections; stop() (or destruction) closes them, and from then on no handler of the client's
// runs, not even with an error. Everything runs on the loop thread; nothing here is thread-safe.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "tradeshard/cluster/etcd_codec.hpp"

namespace boost::asio {
class io_context;
}

namespace tradeshard::cluster {

struct EtcdOptions {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379" or "127.0.0.1:2379"
  std::chrono::milliseconds request_timeout{2000};  // a unary call's deadline, retries included
  std::chrono::milliseconds connect_timeout{500};   // one connection attempt to one endpoint
  std::string user;                                  // empty: no auth
  std::string password;
  std::size_t connections = 2;                       // for unary calls
  std::size_t max_response_bytes = 64u << 20;        // a range of many keys can be large
};

struct EtcdCounters {
  std::uint64_t requests = 0;     // unary calls made
  std::uint64_t retries = 0;      // attempts after the first (next endpoint, re-authentication)
  std::uint64_t failures = 0;     // calls whose handler heard an error
  std::uint64_t ambiguous = 0;    // of which: sent, outcome unknown
  std::uint64_t connects = 0;     // connections opened (unary and streams)
  std::uint64_t streams = 0;      // streams opened
};

class EtcdClient {
 public:
  template <class T>
  using Handler = std::function<void(etcd::Result<T>)>;

  // A long-lived request; destroying it closes its connection (its handlers never run after).
  class Stream {
   public:
    virtual ~Stream() = default;
  };

  EtcdClient(boost::asio::io_context& io, EtcdOptions options);
  ~EtcdClient();
  EtcdClient(const EtcdClient&) = delete;
  EtcdClient& operator=(const EtcdClient&) = delete;

  void range(etcd::RangeRequest r, Handler<etcd::RangeResponse> done);
  void put(etcd::PutRequest r, Handler<etcd::PutResponse> done);
  void del(etcd::DeleteRequest r, Handler<etcd::DeleteResponse> done);
  // Refused locally (Error::Kind::local) past 128 operations or 1.5 MiB, before a round trip.
  void txn(const etcd::TxnRequest& r, Handler<etcd::TxnResponse> done);
  void compact(std::int64_t revision, Handler<etcd::Header> done);
  void lease_grant(std::int64_t ttl_seconds, Handler<etcd::LeaseGrantResponse> done);
  // One keepalive per request: etcd 3.4's gateway leaves a second one in the same stream unanswered.
  void lease_keepalive(std::int64_t id, Handler<etcd::LeaseKeepAliveResponse> done);
  void lease_revoke(std::int64_t id, Handler<etcd::LeaseRevokeResponse> done);
  void leader(std::string election, Handler<etcd::LeaderResponse> done);
  void resign(const etcd::LeaderKey& leader, Handler<etcd::Header> done);
  void proclaim(const etcd::LeaderKey& leader, std::string value, Handler<etcd::Header> done);
  void member_list(Handler<etcd::MemberListResponse> done);
  void status(Handler<etcd::StatusResponse> done);
  void alarms(Handler<etcd::AlarmResponse> done);

  // Watch: on_message for each message (the first has created=true); on_end once when the stream
  // ends: an etcd error, a compacted start revision (message canceled with compact_revision, then
  // on_end with code out_of_range), or a lost connection (ambiguous). No body limit on the stream.
  [[nodiscard]] std::unique_ptr<Stream> watch(etcd::WatchRequest r, std::function<void(etcd::WatchMessage)> on_message,
                                              std::function<void(etcd::Error)> on_end);
  // Campaign: done once, when this lease's key leads `election` (it may wait for a long time), or
  // with the error that ended the attempt. No deadline: destroy the Stream to give up.
  [[nodiscard]] std::unique_ptr<Stream> campaign(std::string election, std::int64_t lease, std::string value,
                                                 Handler<etcd::CampaignResponse> done);
  // Observe: every leader the election has, in order, starting with the current one.
  [[nodiscard]] std::unique_ptr<Stream> observe(std::string election,
                                                std::function<void(etcd::LeaderResponse)> on_leader,
                                                std::function<void(etcd::Error)> on_end);

  void stop();
  [[nodiscard]] const EtcdCounters& counters() const noexcept;
  [[nodiscard]] const std::vector<std::string>& endpoints() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// Keeps one lease alive: granted at start(), refreshed every ttl/3 with one keepalive per request.
// on_lost runs once when etcd says the lease is gone (keepalive without a TTL) or when no
// keepalive succeeded for a whole TTL (etcd unreachable: the lease must be assumed expired).
// Keys bound to it vanish with it; the owner re-registers with a new LeaseKeeper.
class LeaseKeeper {
 public:
  LeaseKeeper(boost::asio::io_context& io, EtcdClient& client, std::int64_t ttl_seconds);
  ~LeaseKeeper();
  LeaseKeeper(const LeaseKeeper&) = delete;
  LeaseKeeper& operator=(const LeaseKeeper&) = delete;

  // on_granted(id) once the lease exists (retried until it does); on_lost as above.
  void start(std::function<void(std::int64_t)> on_granted, std::function<void(const std::string&)> on_lost);
  // Keeps alive a lease granted elsewhere (by a bootstrap on another loop): a keepalive now,
  // then as after start(). on_lost as above.
  void adopt(std::int64_t id, std::int64_t ttl_seconds, std::function<void(const std::string&)> on_lost);
  // Revokes the lease (its keys vanish now, not at TTL); done when etcd answered or gave up.
  void revoke(std::function<void()> done);
  void stop();
  [[nodiscard]] std::int64_t id() const noexcept;
  [[nodiscard]] bool alive() const noexcept;
  [[nodiscard]] std::int64_t ttl_seconds() const noexcept;

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// One key bound to a lease of this process (a member key): granted, put, kept alive; when the
// lease is lost (etcd said so, or a TTL passed without a keepalive) a new lease is granted and the
// key put again, so the key is there whenever etcd can be reached. on_registered runs after each
// successful put, with the lease; on_lost with the reason each time a lease was lost.
class Registration {
 public:
  Registration(boost::asio::io_context& io, EtcdClient& client, std::int64_t ttl_seconds, std::string key,
               std::string value);
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  void start(std::function<void(std::int64_t)> on_registered, std::function<void(const std::string&)> on_lost);
  // Revokes the lease: the key vanishes now (a clean stop), not a TTL later.
  void revoke(std::function<void()> done);
  void stop();
  [[nodiscard]] bool registered() const noexcept;
  [[nodiscard]] std::uint64_t registrations() const noexcept;  // puts that succeeded

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// The keys under a prefix, mirrored: listed, then watched from the next revision; after the
// watch's start revision was compacted, listed again; after a lost connection, watched again from
// the last revision seen (backoff 100 ms doubling to 2 s), so no change is missed or seen twice.
// on_change runs after every list and every batch of events with the whole state.
class PrefixMirror {
 public:
  using State = std::map<std::string, etcd::KeyValue>;
  PrefixMirror(boost::asio::io_context& io, EtcdClient& client, std::string prefix);
  ~PrefixMirror();
  PrefixMirror(const PrefixMirror&) = delete;
  PrefixMirror& operator=(const PrefixMirror&) = delete;

  void start(std::function<void(const State&)> on_change);
  void stop();
  [[nodiscard]] const State& state() const noexcept;
  [[nodiscard]] std::int64_t revision() const noexcept;  // of the state shown
  [[nodiscard]] std::uint64_t relists() const noexcept;  // lists after the first (compaction)
  [[nodiscard]] std::uint64_t rewatches() const noexcept;  // watches after a lost connection

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace tradeshard::cluster

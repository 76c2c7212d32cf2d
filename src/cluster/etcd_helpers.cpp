// LeaseKeeper and PrefixMirror (include/tradeshard/cluster/etcd_client.hpp): the two patterns
// membership is built from, on top of EtcdClient. The client must outlive both.
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <algorithm>

#include "tradeshard/cluster/etcd_client.hpp"

namespace tradeshard::cluster {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// ---------------------------------------------------------------------------------------------

struct LeaseKeeper::Impl : std::enable_shared_from_this<LeaseKeeper::Impl> {
  Impl(asio::io_context& io, EtcdClient& client, std::int64_t ttl) : client(client), ttl(ttl), tick(io), expiry(io) {}
  EtcdClient& client;
  std::int64_t ttl;  // as asked, then as granted
  std::int64_t id = 0;
  bool alive = false;
  bool stopped = false;
  bool revoked = false;       // revoke() was called: a grant still in flight is revoked on arrival
  asio::steady_timer tick;    // the next keepalive
  asio::steady_timer expiry;  // a whole TTL since the last good keepalive: assume it expired
  std::function<void(std::int64_t)> on_granted;
  std::function<void(const std::string&)> on_lost;

  milliseconds period() const { return milliseconds(std::max<std::int64_t>(ttl * 1000 / 3, 100)); }

  void grant() {
    client.lease_grant(ttl, [w = weak_from_this()](etcd::Result<etcd::LeaseGrantResponse> r) {
      auto self = w.lock();
      if (!self || self->stopped) return;
      if (self->revoked) {  // revoke() came first: this lease must not live
        if (r.ok()) self->client.lease_revoke(r.value->id, [](auto) {});
        return;
      }
      if (!r.ok()) {  // etcd unreachable: try again shortly, nothing is registered yet
        self->tick.expires_after(milliseconds(200));
        self->tick.async_wait([w = self->weak_from_this()](const boost::system::error_code& ec) {
          if (auto s = w.lock(); s && !ec && !s->stopped) s->grant();
        });
        return;
      }
      self->id = r.value->id;
      self->ttl = r.value->ttl;
      self->alive = true;
      self->arm_expiry();
      self->schedule(self->period());
      if (self->on_granted) self->on_granted(self->id);
    });
  }

  void arm_expiry() {
    expiry.expires_after(std::chrono::seconds(ttl));
    expiry.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      if (auto s = w.lock(); s && !ec && !s->stopped) {
        s->lose("no keepalive answered for " + std::to_string(s->ttl) + " s (etcd unreachable)");
      }
    });
  }

  void schedule(milliseconds after) {
    tick.expires_after(after);
    tick.async_wait([w = weak_from_this()](const boost::system::error_code& ec) {
      if (auto s = w.lock(); s && !ec && !s->stopped && s->alive) s->keepalive();
    });
  }

  void keepalive() {
    client.lease_keepalive(id, [w = weak_from_this()](etcd::Result<etcd::LeaseKeepAliveResponse> r) {
      auto self = w.lock();
      if (!self || self->stopped || !self->alive) return;
      if (r.ok() && r.value->ttl <= 0) {
        self->lose("etcd says lease " + std::to_string(self->id) + " is gone (expired or revoked)");
        return;
      }
      if (!r.ok() && r.error.kind == etcd::Error::Kind::etcd && r.error.code == etcd::Code::not_found) {
        self->lose("etcd says lease " + std::to_string(self->id) + " is gone: " + r.error.message);
        return;
      }
      if (r.ok()) {
        self->arm_expiry();
        self->schedule(self->period());
      } else {
        // Try again soon: the expiry timer decides when it is too late.
        self->schedule(std::min(self->period(), milliseconds(250)));
      }
    });
  }

  void lose(const std::string& why) {
    if (!alive) return;
    alive = false;
    tick.cancel();
    expiry.cancel();
    if (on_lost) on_lost(why);
  }
};

LeaseKeeper::LeaseKeeper(asio::io_context& io, EtcdClient& client, std::int64_t ttl_seconds)
    : impl_(std::make_shared<Impl>(io, client, ttl_seconds)) {}
LeaseKeeper::~LeaseKeeper() { stop(); }

void LeaseKeeper::start(std::function<void(std::int64_t)> on_granted, std::function<void(const std::string&)> on_lost) {
  impl_->on_granted = std::move(on_granted);
  impl_->on_lost = std::move(on_lost);
  impl_->grant();
}

void LeaseKeeper::adopt(std::int64_t id, std::int64_t ttl_seconds, std::function<void(const std::string&)> on_lost) {
  impl_->on_lost = std::move(on_lost);
  impl_->id = id;
  impl_->ttl = ttl_seconds;
  impl_->alive = true;
  impl_->arm_expiry();
  impl_->keepalive();
}

void LeaseKeeper::revoke(std::function<void()> done) {
  impl_->revoked = true;
  impl_->tick.cancel();
  impl_->expiry.cancel();
  const bool had = impl_->alive;
  impl_->alive = false;
  if (!had) {
    if (done) done();
    return;
  }
  impl_->client.lease_revoke(impl_->id, [w = impl_->weak_from_this(), done = std::move(done)](auto) {
    if (auto s = w.lock(); s && done) done();
  });
}

void LeaseKeeper::stop() {
  impl_->stopped = true;
  impl_->alive = false;
  impl_->tick.cancel();
  impl_->expiry.cancel();
}

std::int64_t LeaseKeeper::id() const noexcept { return impl_->id; }
bool LeaseKeeper::alive() const noexcept { return impl_->alive; }
std::int64_t LeaseKeeper::ttl_seconds() const noexcept { return impl_->ttl; }

// ---------------------------------------------------------------------------------------------

struct Registration::Impl : std::enable_shared_from_this<Registration::Impl> {
  Impl(asio::io_context& io, EtcdClient& client, std::int64_t ttl, std::string key, std::string value)
      : io(io), client(client), ttl(ttl), key(std::move(key)), value(std::move(value)), retry(io) {}
  asio::io_context& io;
  EtcdClient& client;
  std::int64_t ttl;
  std::string key, value;
  asio::steady_timer retry;
  std::unique_ptr<LeaseKeeper> lease;
  bool stopped = false;
  bool registered = false;
  std::uint64_t registrations = 0;
  std::function<void(std::int64_t)> on_registered;
  std::function<void(const std::string&)> on_lost;

  void begin() {
    registered = false;
    lease = std::make_unique<LeaseKeeper>(io, client, ttl);
    lease->start(
        [w = weak_from_this()](std::int64_t id) {
          if (auto s = w.lock(); s && !s->stopped) s->put(id);
        },
        [w = weak_from_this()](const std::string& why) {
          auto s = w.lock();
          if (!s || s->stopped) return;
          s->registered = false;
          if (s->on_lost) s->on_lost(why);
          // Not from inside the keeper's own callback: its owner replaces it.
          asio::post(s->io, [w] {
            if (auto s2 = w.lock(); s2 && !s2->stopped) s2->begin();
          });
        });
  }

  void put(std::int64_t id) {
    client.put(etcd::PutRequest{key, value, id, false}, [w = weak_from_this(), id](etcd::Result<etcd::PutResponse> r) {
      auto s = w.lock();
      if (!s || s->stopped || !s->lease || s->lease->id() != id || !s->lease->alive()) return;
      if (!r.ok()) {  // put again shortly, on the same lease (the keeper says when it is lost)
        s->retry.expires_after(milliseconds(200));
        s->retry.async_wait([w, id](const boost::system::error_code& ec) {
          if (auto s2 = w.lock(); s2 && !ec && !s2->stopped) s2->put(id);
        });
        return;
      }
      s->registered = true;
      ++s->registrations;
      if (s->on_registered) s->on_registered(id);
    });
  }
};

Registration::Registration(asio::io_context& io, EtcdClient& client, std::int64_t ttl_seconds, std::string key,
                           std::string value)
    : impl_(std::make_shared<Impl>(io, client, ttl_seconds, std::move(key), std::move(value))) {}
Registration::~Registration() { stop(); }

void Registration::start(std::function<void(std::int64_t)> on_registered,
                         std::function<void(const std::string&)> on_lost) {
  impl_->on_registered = std::move(on_registered);
  impl_->on_lost = std::move(on_lost);
  impl_->begin();
}

void Registration::revoke(std::function<void()> done) {
  impl_->retry.cancel();
  impl_->registered = false;
  if (!impl_->lease) {
    if (done) done();
    return;
  }
  impl_->lease->revoke(std::move(done));
}

void Registration::stop() {
  impl_->stopped = true;
  impl_->retry.cancel();
  if (impl_->lease) impl_->lease->stop();
}

bool Registration::registered() const noexcept { return impl_->registered; }
std::uint64_t Registration::registrations() const noexcept { return impl_->registrations; }

// ---------------------------------------------------------------------------------------------

struct PrefixMirror::Impl : std::enable_shared_from_this<PrefixMirror::Impl> {
  Impl(asio::io_context& io, EtcdClient& client, std::string prefix)
      : client(client), prefix(std::move(prefix)), end(etcd::prefix_end(this->prefix)), pause(io) {}
  EtcdClient& client;
  std::string prefix;
  std::string end;
  State state;
  std::int64_t revision = 0;
  std::uint64_t relists = 0;
  std::uint64_t rewatches = 0;
  bool listed_once = false;
  bool stopped = false;
  milliseconds backoff{100};
  asio::steady_timer pause;
  std::unique_ptr<EtcdClient::Stream> stream;
  std::function<void(const State&)> on_change;

  void after_backoff(void (Impl::*then)()) {
    pause.expires_after(backoff);
    backoff = std::min(backoff * 2, milliseconds(2000));
    pause.async_wait([w = weak_from_this(), then](const boost::system::error_code& ec) {
      if (auto s = w.lock(); s && !ec && !s->stopped) ((*s).*then)();
    });
  }

  void list() {
    stream.reset();
    client.range(etcd::RangeRequest{prefix, end, 0, 0, false, false},
                 [w = weak_from_this()](etcd::Result<etcd::RangeResponse> r) {
                   auto self = w.lock();
                   if (!self || self->stopped) return;
                   if (!r.ok()) {
                     self->after_backoff(&Impl::list);
                     return;
                   }
                   if (self->listed_once) ++self->relists;
                   self->listed_once = true;
                   self->state.clear();
                   for (auto& kv : r.value->kvs) {
                     std::string key = kv.key;
                     self->state.emplace(std::move(key), std::move(kv));
                   }
                   self->revision = r.value->header.revision;
                   if (self->on_change) self->on_change(self->state);
                   if (!self->stopped) self->watch();
                 });
  }

  void watch() {
    etcd::WatchRequest req{prefix, end, revision + 1, false, false};
    stream = client.watch(
        std::move(req),
        [w = weak_from_this()](etcd::WatchMessage m) {
          auto self = w.lock();
          if (!self || self->stopped) return;
          self->backoff = milliseconds(100);  // the stream works
          if (m.created || m.canceled) return;
          for (auto& e : m.events) {
            self->revision = std::max(self->revision, e.kv.mod_revision);
            if (e.type == etcd::WatchEvent::Type::del) {
              self->state.erase(e.kv.key);
            } else {
              std::string key = e.kv.key;
              self->state.insert_or_assign(std::move(key), std::move(e.kv));
            }
          }
          if (m.events.empty()) {  // a progress notification: nothing below this revision is left
            self->revision = std::max(self->revision, m.header.revision);
            return;
          }
          if (self->on_change) self->on_change(self->state);
        },
        [w = weak_from_this()](etcd::Error e) {
          auto self = w.lock();
          if (!self || self->stopped) return;
          if (e.kind == etcd::Error::Kind::etcd && e.code == etcd::Code::out_of_range) {
            self->list();  // what happened since `revision` is gone: start over from a list
            return;
          }
          ++self->rewatches;
          self->after_backoff(&Impl::watch);
        });
  }
};

PrefixMirror::PrefixMirror(asio::io_context& io, EtcdClient& client, std::string prefix)
    : impl_(std::make_shared<Impl>(io, client, std::move(prefix))) {}
PrefixMirror::~PrefixMirror() { stop(); }

void PrefixMirror::start(std::function<void(const State&)> on_change) {
  impl_->on_change = std::move(on_change);
  impl_->list();
}

void PrefixMirror::stop() {
  impl_->stopped = true;
  impl_->pause.cancel();
  impl_->stream.reset();
}

const PrefixMirror::State& PrefixMirror::state() const noexcept { return impl_->state; }
std::int64_t PrefixMirror::revision() const noexcept { return impl_->revision; }
std::uint64_t PrefixMirror::relists() const noexcept { return impl_->relists; }
std::uint64_t PrefixMirror::rewatches() const noexcept { return impl_->rewatches; }

}  // namespace tradeshard::cluster

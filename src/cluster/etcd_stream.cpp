// The etcd client's streams (include/tradeshard/cluster/etcd_client.hpp): a watch, an election
// campaign or observe, each on its own connection, its answer read chunk by chunk as it comes.
#include "etcd_client_impl.hpp"

namespace tradeshard::cluster {

// ---------------------------------------------------------------------------------------------
// Streams: one connection each, the answer read as it comes (chunk by chunk).

namespace {

struct StreamState : std::enable_shared_from_this<StreamState> {
  StreamState(std::shared_ptr<EtcdClient::Impl> client, std::string path, std::string body)
      : client(std::move(client)),
        socket(this->client->io),
        resolver(this->client->io),
        timer(this->client->io),
        path(std::move(path)),
        body(std::move(body)) {}

  std::shared_ptr<EtcdClient::Impl> client;
  tcp::socket socket;
  tcp::resolver resolver;
  asio::steady_timer timer;
  std::string path;
  std::string body;
  beast::flat_buffer buffer;
  std::optional<http::response_parser<http::string_body>> parser;
  http::request<http::string_body> req;
  etcd::StreamSplitter splitter;
  // Beast keeps a reference to the chunk callback: it lives here, as long as the parser.
  std::function<std::size_t(std::uint64_t, std::string_view, boost::system::error_code&)> on_chunk =
      [this](std::uint64_t, std::string_view data, boost::system::error_code&) {
        splitter.feed(data);
        return data.size();
      };
  std::size_t endpoint = 0;
  std::size_t tried = 0;
  bool closed = false;
  bool sent = false;
  // Each message of a streamed answer; or, for a single answer (campaign), its whole body.
  std::function<void(std::string&&)> on_message;
  std::function<void(unsigned status, std::string&&)> on_body;
  std::function<void(Error)> on_end;

  bool dead() const { return closed || client->stopped; }

  void close() {
    closed = true;
    boost::system::error_code ignored;
    timer.cancel();
    resolver.cancel();
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
  }

  void end(Error e) {
    if (dead()) return;
    close();
    if (on_end) on_end(std::move(e));
  }

  void start() {
    auto self = shared_from_this();
    ++client->counters.streams;
    client->with_token([self](std::optional<Error> error) {
      if (self->dead()) return;
      if (error) {
        self->end(*error);
        return;
      }
      self->endpoint = self->client->next_endpoint % self->client->endpoints.size();
      self->connect();
    });
  }

  void connect() {
    auto self = shared_from_this();
    const Endpoint& ep = client->endpoints[endpoint];
    timer.expires_after(client->options.connect_timeout);
    timer.async_wait([self](const boost::system::error_code& ec) {
      if (!ec && !self->dead() && !self->sent) {
        boost::system::error_code ignored;
        self->resolver.cancel();
        self->socket.close(ignored);
      }
    });
    resolver.async_resolve(ep.host, ep.port,
                           [self](const boost::system::error_code& ec, const tcp::resolver::results_type& results) {
                             if (self->dead()) return;
                             if (ec) {
                               self->next(ec.message());
                               return;
                             }
                             asio::async_connect(self->socket, results,
                                                 [self](const boost::system::error_code& ec, const tcp::endpoint&) {
                                                   if (self->dead()) return;
                                                   if (ec) {
                                                     self->next(ec.message());
                                                     return;
                                                   }
                                                   ++self->client->counters.connects;
                                                   self->send();
                                                 });
                           });
  }

  void next(const std::string& why) {
    boost::system::error_code ignored;
    socket.close(ignored);
    if (++tried < client->endpoints.size()) {
      endpoint = (endpoint + 1) % client->endpoints.size();
      connect();
      return;
    }
    end(make_error(Error::Kind::not_sent,
                   "no etcd endpoint reachable (last: " + client->endpoints[endpoint].text + ": " + why + ")"));
  }

  void send() {
    auto self = shared_from_this();
    sent = true;
    timer.cancel();
    req = make_request(client->endpoints[endpoint], path, body, client->token);
    parser.emplace();
    // A stream's answer never ends by itself: no limit. (Not boost::none: Beast 1.74 compares a
    // Content-Length against the optional and refuses every length when it is none.)
    parser->body_limit(std::numeric_limits<std::uint64_t>::max());
    // A streamed (chunked) answer's bytes go to the splitter, not into the body. (The parser is
    // this state's own: `this` outlives every call it makes.)
    if (on_message) parser->on_chunk_body(on_chunk);
    http::async_write(socket, req, [self](const boost::system::error_code& ec, std::size_t) {
      if (self->dead()) return;
      if (ec) {
        self->end(make_error(Error::Kind::ambiguous, "etcd stream: " + ec.message()));
        return;
      }
      self->read();
    });
  }

  void read() {
    auto self = shared_from_this();
    http::async_read_some(socket, buffer, *parser, [self](const boost::system::error_code& ec, std::size_t) {
      if (self->dead()) return;
      if (!self->deliver()) return;
      if (ec) {
        self->end(make_error(Error::Kind::ambiguous, "etcd stream to " + self->client->endpoints[self->endpoint].text +
                                                         " lost: " + ec.message()));
        return;
      }
      if (self->parser->is_done()) {
        auto res = self->parser->release();
        if (self->on_body) {
          auto done = std::move(self->on_body);
          self->close();
          done(res.result_int(), std::move(res.body()));
          return;
        }
        // A stream the gateway ended: an error answer (perhaps without its final '\n'), or the end.
        std::string last = res.body().empty() ? self->splitter.take_rest() : std::move(res.body());
        auto r = etcd::decode_header_only(last);
        self->end(!r.ok() && r.error.kind == Error::Kind::etcd
                      ? r.error
                      : make_error(Error::Kind::ambiguous, "etcd ended the stream (HTTP " +
                                                               std::to_string(res.result_int()) + ")"));
        return;
      }
      self->read();
    });
  }

  // Hands every whole message to on_message; false when the stream is done for.
  bool deliver() {
    while (on_message) {
      auto m = splitter.next();
      if (!m) break;
      if (m->empty()) continue;
      on_message(std::move(*m));
      if (dead()) return false;
    }
    if (splitter.overflowed()) {
      end(make_error(Error::Kind::protocol, "etcd stream message over 64 MiB"));
      return false;
    }
    return true;
  }
};

class StreamHandle final : public EtcdClient::Stream {
 public:
  explicit StreamHandle(std::shared_ptr<StreamState> s) : s_(std::move(s)) {}
  // Only closes: the callbacks may be running this very destructor; none runs after it.
  ~StreamHandle() override { s_->close(); }

 private:
  std::shared_ptr<StreamState> s_;
};

}  // namespace

std::unique_ptr<EtcdClient::Stream> EtcdClient::watch(etcd::WatchRequest r,
                                                      std::function<void(etcd::WatchMessage)> on_message,
                                                      std::function<void(etcd::Error)> on_end) {
  auto s = std::make_shared<StreamState>(impl_, std::string(etcd::watch_path), etcd::encode(r));
  StreamState* raw = s.get();  // the callbacks are the state's own: cleared before it goes
  s->on_end = std::move(on_end);
  s->on_message = [raw, on_message = std::move(on_message)](std::string&& m) {
    auto w = etcd::decode_watch(m);
    if (!w.ok()) {
      raw->end(w.error);
      return;
    }
    const bool canceled = w.value->canceled;
    Error why{Error::Kind::etcd, w.value->compact_revision > 0 ? etcd::Code::out_of_range : etcd::Code::cancelled,
              w.value->compact_revision > 0
                  ? "watch start revision compacted (compact_revision " + std::to_string(w.value->compact_revision) + ")"
                  : "watch canceled by etcd: " + w.value->cancel_reason};
    on_message(std::move(*w.value));
    if (canceled) raw->end(std::move(why));
  };
  s->start();
  return std::make_unique<StreamHandle>(std::move(s));
}

std::unique_ptr<EtcdClient::Stream> EtcdClient::campaign(std::string election, std::int64_t lease, std::string value,
                                                         Handler<etcd::CampaignResponse> done) {
  auto s = std::make_shared<StreamState>(impl_, std::string(etcd::campaign_path),
                                         etcd::encode_campaign(election, lease, value));
  auto shared_done = std::make_shared<Handler<etcd::CampaignResponse>>(std::move(done));
  s->on_body = [shared_done](unsigned status, std::string&& body) {
    auto r = etcd::decode_campaign(body);
    if (r.ok() && status != 200) {
      r = etcd::Result<etcd::CampaignResponse>::failure(
          make_error(Error::Kind::protocol, "campaign: HTTP " + std::to_string(status)));
    }
    (*shared_done)(std::move(r));
  };
  s->on_end = [shared_done](Error e) { (*shared_done)(etcd::Result<etcd::CampaignResponse>::failure(std::move(e))); };
  s->start();
  return std::make_unique<StreamHandle>(std::move(s));
}

std::unique_ptr<EtcdClient::Stream> EtcdClient::observe(std::string election,
                                                        std::function<void(etcd::LeaderResponse)> on_leader,
                                                        std::function<void(etcd::Error)> on_end) {
  auto s = std::make_shared<StreamState>(impl_, std::string(etcd::observe_path), etcd::encode_election_name(election));
  StreamState* raw = s.get();
  s->on_end = std::move(on_end);
  s->on_message = [raw, on_leader = std::move(on_leader)](std::string&& m) {
    auto l = etcd::decode_leader(m);
    if (!l.ok()) {
      raw->end(l.error);
      return;
    }
    on_leader(std::move(*l.value));
  };
  s->start();
  return std::make_unique<StreamHandle>(std::move(s));
}

}  // namespace tradeshard::cluster

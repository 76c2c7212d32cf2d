// The etcd client's unary calls (include/tradeshard/cluster/etcd_client.hpp); the connections and
// queue they share are EtcdClient::Impl (etcd_client_impl.hpp), the streams are etcd_stream.cpp.
#include "etcd_client_impl.hpp"

namespace tradeshard::cluster {

// ---------------------------------------------------------------------------------------------

EtcdClient::EtcdClient(asio::io_context& io, EtcdOptions options)
    : impl_(std::make_shared<Impl>(io, std::move(options))) {}

EtcdClient::~EtcdClient() { impl_->stop(); }

void EtcdClient::stop() { impl_->stop(); }
const EtcdCounters& EtcdClient::counters() const noexcept { return impl_->counters; }
const std::vector<std::string>& EtcdClient::endpoints() const noexcept { return impl_->options.endpoints; }

void EtcdClient::range(etcd::RangeRequest r, Handler<etcd::RangeResponse> done) {
  impl_->unary<etcd::RangeResponse>(etcd::range_path, etcd::encode(r), true, std::move(done), etcd::decode_range);
}
void EtcdClient::put(etcd::PutRequest r, Handler<etcd::PutResponse> done) {
  impl_->unary<etcd::PutResponse>(etcd::put_path, etcd::encode(r), false, std::move(done), etcd::decode_put);
}
void EtcdClient::del(etcd::DeleteRequest r, Handler<etcd::DeleteResponse> done) {
  impl_->unary<etcd::DeleteResponse>(etcd::delete_path, etcd::encode(r), false, std::move(done), etcd::decode_delete);
}
void EtcdClient::txn(const etcd::TxnRequest& r, Handler<etcd::TxnResponse> done) {
  std::string body = etcd::encode(r);
  if (auto refused = etcd::check_txn(r, body.size())) {
    asio::post(impl_->io, [impl = impl_, refused = *refused, done = std::move(done)] {
      if (impl->stopped) return;
      ++impl->counters.requests;
      ++impl->counters.failures;
      done(etcd::Result<etcd::TxnResponse>::failure(refused));
    });
    return;
  }
  impl_->unary<etcd::TxnResponse>(etcd::txn_path, std::move(body), false, std::move(done), etcd::decode_txn);
}
void EtcdClient::compact(std::int64_t revision, Handler<etcd::Header> done) {
  impl_->unary<etcd::Header>(etcd::compact_path, etcd::encode_compact(revision, false), false, std::move(done),
                             etcd::decode_header_only);
}
void EtcdClient::lease_grant(std::int64_t ttl_seconds, Handler<etcd::LeaseGrantResponse> done) {
  impl_->unary<etcd::LeaseGrantResponse>(etcd::lease_grant_path, etcd::encode_lease_grant(ttl_seconds), false,
                                         std::move(done), etcd::decode_lease_grant);
}
void EtcdClient::lease_keepalive(std::int64_t id, Handler<etcd::LeaseKeepAliveResponse> done) {
  impl_->unary<etcd::LeaseKeepAliveResponse>(etcd::lease_keepalive_path, etcd::encode_lease_id(id), true,
                                             std::move(done), etcd::decode_lease_keepalive);
}
void EtcdClient::lease_revoke(std::int64_t id, Handler<etcd::LeaseRevokeResponse> done) {
  impl_->unary<etcd::LeaseRevokeResponse>(etcd::lease_revoke_path, etcd::encode_lease_id(id), false,
                                          std::move(done), etcd::decode_lease_revoke);
}
void EtcdClient::leader(std::string election, Handler<etcd::LeaderResponse> done) {
  impl_->unary<etcd::LeaderResponse>(etcd::leader_path, etcd::encode_election_name(election), true, std::move(done),
                                     etcd::decode_leader);
}
void EtcdClient::resign(const etcd::LeaderKey& leader, Handler<etcd::Header> done) {
  impl_->unary<etcd::Header>(etcd::resign_path, etcd::encode_resign(leader), false, std::move(done),
                             etcd::decode_header_only);
}
void EtcdClient::proclaim(const etcd::LeaderKey& leader, std::string value, Handler<etcd::Header> done) {
  impl_->unary<etcd::Header>(etcd::proclaim_path, etcd::encode_proclaim(leader, value), false, std::move(done),
                             etcd::decode_header_only);
}
void EtcdClient::member_list(Handler<etcd::MemberListResponse> done) {
  impl_->unary<etcd::MemberListResponse>(etcd::member_list_path, "{}", true, std::move(done),
                                         etcd::decode_member_list);
}
void EtcdClient::status(Handler<etcd::StatusResponse> done) {
  impl_->unary<etcd::StatusResponse>(etcd::status_path, "{}", true, std::move(done), etcd::decode_status);
}
void EtcdClient::alarms(Handler<etcd::AlarmResponse> done) {
  impl_->unary<etcd::AlarmResponse>(etcd::alarm_path, etcd::encode_alarm_get(), true, std::move(done),
                                    etcd::decode_alarms);
}


}  // namespace tradeshard::cluster

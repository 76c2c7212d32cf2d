#pragma once
// Tests only: runs an etcd call on a loop of the test's own until its handler has run (at most
// 10 s), for tests that drive EtcdClient directly.
#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "tradeshard/cluster/etcd_client.hpp"
#include "tradeshard/cluster/etcd_codec.hpp"

namespace tradeshard::testing {

template <class T, class Call>
cluster::etcd::Result<T> await_etcd(boost::asio::io_context& io, Call call) {
  std::optional<cluster::etcd::Result<T>> out;
  call([&out](cluster::etcd::Result<T> r) { out = std::move(r); });
  for (const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(10);
       !out && std::chrono::steady_clock::now() < end;) {
    io.restart();  // a loop that ran out of work for a moment is stopped until restarted
    io.run_for(std::chrono::milliseconds(5));
  }
  REQUIRE(out);
  return std::move(*out);
}

// A lease (TTL 5 s) and `election` won with it: what a leading gateway holds.
struct WonElection {
  WonElection(boost::asio::io_context& io, cluster::EtcdClient& client, const std::string& election) {
    const auto lease = await_etcd<cluster::etcd::LeaseGrantResponse>(
        io, [&](auto done) { client.lease_grant(5, std::move(done)); });
    REQUIRE(lease.ok());
    lease_id = lease.value->id;
    const auto won = await_etcd<cluster::etcd::CampaignResponse>(io, [&](auto done) {
      campaign = client.campaign(election, lease_id, "gw-1", std::move(done));
    });
    REQUIRE(won.ok());
    leader = won.value->leader;
  }
  std::int64_t lease_id = 0;
  cluster::etcd::LeaderKey leader;
  std::unique_ptr<cluster::EtcdClient::Stream> campaign;
};

}  // namespace tradeshard::testing

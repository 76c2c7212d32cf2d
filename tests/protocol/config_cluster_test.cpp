// The cluster section of the config: the etcd keys and the rules between them, each refusal
// naming its key.
#include <doctest/doctest.h>

#include <string>

#include "config_text.hpp"
#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;

namespace {
std::string with_cluster(const std::string& cluster) { return testing::config_with("cluster", cluster); }
std::string refusal(const std::string& cluster) { return testing::refusal_of(with_cluster(cluster)); }
}  // namespace

TEST_CASE("cluster: a gateway on etcd needs no worker list; its defaults") {
  const auto c = protocol::parse_config(with_cluster(R"({"role":"gateway","etcd":["http://127.0.0.40:2379"]})"));
  CHECK(c.cluster.etcd.size() == 1);
  CHECK(c.cluster.workers.empty());
  CHECK(c.cluster.prefix == "/tradeshard");
  CHECK(c.cluster.lease_ttl_s == 5);
  CHECK(c.cluster.startup_timeout_ms == 10'000);
  CHECK(c.cluster.min_nodes == 0);
  CHECK(protocol::parse_config(with_cluster(R"({"role":"gateway","etcd":["http://127.0.0.40:2379"],"min_nodes":2})"))
            .cluster.min_nodes == 2);
}

TEST_CASE("cluster: bad etcd settings are refused, naming the key") {
  CHECK(refusal(R"({"role":"gateway"})").find("cluster.workers") != std::string::npos);
  CHECK(refusal(R"({"role":"node"})").find("cluster.id: a node needs an id") != std::string::npos);
  CHECK(refusal(R"({"role":"worker"})").find("cluster.id: a worker needs an id") != std::string::npos);
  CHECK(refusal(R"({"role":"node","id":"node-1"})").empty());
  CHECK(refusal(R"({"etcd":["https://e:2379"]})").find("cluster.etcd[0]") != std::string::npos);
  CHECK(refusal(R"({"etcd":["nohost"]})").find("cluster.etcd[0]") != std::string::npos);
  CHECK(refusal(R"({"etcd":[""]})").find("cluster.etcd[0]") != std::string::npos);
  CHECK(refusal(R"({"etcd":"http://e:2379"})").find("cluster.etcd") != std::string::npos);
  CHECK(refusal(R"({"etcd":["http://127.0.0.1:2379"],"workers":[{"id":"w","addr":"127.0.0.3:7101"}]})")
            .find("cluster.workers") != std::string::npos);
  CHECK(refusal(R"({"etcd":["http://127.0.0.1:2379"],"nodes":[{"id":"n","addr":"127.0.0.6:7101"}]})")
            .find("cluster.nodes: with cluster.etcd") != std::string::npos);
  CHECK(refusal(R"({"role":"gateway","workers":[{"id":"w","addr":"127.0.0.3:7101"}],"min_nodes":1})")
            .find("cluster.min_nodes: only with cluster.etcd") != std::string::npos);
  CHECK(refusal(R"({"etcd":["http://127.0.0.1:2379"],"min_nodes":-1})").find("cluster.min_nodes") != std::string::npos);
  CHECK(refusal(R"({"prefix":"tradeshard"})").find("cluster.prefix") != std::string::npos);
  CHECK(refusal(R"({"prefix":"/tradeshard/"})").find("cluster.prefix") != std::string::npos);
  CHECK(refusal(R"({"lease_ttl_s":1})").find("cluster.lease_ttl_s") != std::string::npos);
  CHECK(refusal(R"({"startup_timeout_ms":5})").find("cluster.startup_timeout_ms") != std::string::npos);
  CHECK(refusal(R"({"etcd":["http://127.0.0.1:2379"],"prefix":"/p","lease_ttl_s":2})").empty());
}

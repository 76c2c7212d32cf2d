// The ledger section of the config: ack_after and the rules between it and the other keys.
#include <doctest/doctest.h>

#include <string>

#include "config_text.hpp"
#include "tradeshard/protocol/config_loader.hpp"

using namespace tradeshard;

namespace {
std::string with_ledger(const std::string& ledger) { return testing::config_with("ledger", ledger); }
std::string refusal(const std::string& ledger) { return testing::refusal_of(with_ledger(ledger)); }
}  // namespace

TEST_CASE("ledger: ack_after is write by default; fsync with a durable log") {
  CHECK(protocol::parse_config(with_ledger(R"({"data_dir":"d"})")).ledger.ack_after == app::AckAfter::write);
  const auto c = protocol::parse_config(with_ledger(R"({"data_dir":"d","ack_after":"fsync","fsync":"every_commit"})"));
  CHECK(c.ledger.ack_after == app::AckAfter::fsync);
  CHECK(c.ledger.fsync == app::FsyncMode::every_commit);
}

TEST_CASE("ledger: ack_after refusals name the key and the reason") {
  CHECK(refusal(R"({"data_dir":"d","ack_after":"fsync","durable":false})")
            .find("ledger.ack_after: \"fsync\" needs ledger.durable") != std::string::npos);
  CHECK(refusal(R"({"data_dir":"d","ack_after":"replicated"})").find("ledger.ack_after: \"replicated\" needs") !=
        std::string::npos);
  CHECK(refusal(R"({"data_dir":"d","ack_after":"sometimes"})")
            .find("ledger.ack_after: must be one of write, fsync, replicated") != std::string::npos);
  CHECK(refusal(R"({"data_dir":"d","ack_after":1})").find("ledger.ack_after: must be a string") != std::string::npos);
}

TEST_CASE("ledger: a cluster gateway on etcd waits for etcd by default; fsync is refused there") {
  const std::string gw = R"(,"cluster":{"role":"gateway","etcd":["http://127.0.0.40:2379"]})";
  const auto parse = [](const std::string& text) { return protocol::parse_config(with_ledger(text)); };
  CHECK(parse(R"({"data_dir":"d"})" + gw).ledger.ack_after == app::AckAfter::replicated);
  CHECK(parse(R"({"data_dir":"d","ack_after":"write"})" + gw).ledger.ack_after == app::AckAfter::write);
  CHECK(parse(R"({"data_dir":"d","ack_after":"replicated"})" + gw).ledger.ack_after == app::AckAfter::replicated);
  CHECK(refusal(R"({"data_dir":"d","ack_after":"fsync"})" + gw)
            .find("ledger.ack_after: a gateway on etcd keeps the ledger's log in etcd") != std::string::npos);
}

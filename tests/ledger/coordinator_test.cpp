#include <doctest/doctest.h>

#include <random>

#include "ledger_fixture.hpp"
#include "tradeshard/ledger/coordinator.hpp"

using namespace tradeshard;
using namespace tradeshard::ledger;
using namespace tradeshard::ledger::test;

namespace {

// Commits a deposit to `name` (opening it on first use).
ProposeResult deposit(Coordinator& c, std::string_view name, CashUnits amount) {
  ChangeSet cs;
  const auto id = c.resolve_account(cs, name);
  REQUIRE(id.has_value());
  REQUIRE(cs.deposit(*id, usdt, amount) == LedgerError::ok);
  return c.propose(cs);
}

bool states_equal(Coordinator& c) {
  const LedgerState& first = c.find("node-1")->view();
  for (const auto& r : c.replicas()) {
    if (!(c.find(r.node_id)->view() == first)) return false;
  }
  return true;
}

}  // namespace

// Ensure every commit takes exactly the next version and all replicas apply it in order.
TEST_CASE("Coordinator: versions increase by one per committed set") {
  Coordinator c(&rules(), CoordinatorConfig{});
  CHECK(c.replica_count() == 3);
  CHECK(c.quorum() == 2);
  for (std::uint64_t v = 1; v <= 5; ++v) {
    const ProposeResult r = deposit(c, "alice", 10);
    CHECK(r.committed);
    CHECK(r.version == v);
    CHECK(r.acks == 3);
  }
  CHECK(c.committed_version() == 5);
  CHECK(c.committed_state()->account(0).cash[usdt].balance == 50);
  CHECK(c.log_entry(3)->version == 3);
  CHECK(c.consistency().is_consistent);
}

// Ensure 2 of 3 replicas commit, and 1 of 3 refuses without applying anything anywhere.
TEST_CASE("Coordinator: quorum commit and clean refusal") {
  Coordinator c(&rules(), CoordinatorConfig{});
  REQUIRE(deposit(c, "alice", 10).committed);
  REQUIRE(c.set_replica_state("node-3", ReplicaState::failed));
  const ProposeResult two = deposit(c, "alice", 10);
  CHECK(two.committed);
  CHECK(two.acks == 2);
  CHECK(c.has_quorum());
  REQUIRE(c.set_replica_state("node-2", ReplicaState::paused));
  CHECK_FALSE(c.has_quorum());
  ChangeSet cs;
  REQUIRE(cs.deposit(0, usdt, 99) == LedgerError::ok);
  const ProposeResult one = c.propose(cs);
  CHECK_FALSE(one.committed);
  CHECK(one.error == ProposeError::no_quorum);
  CHECK(one.acks == 0);
  CHECK(c.committed_version() == 2);
  CHECK(c.find("node-1")->version() == 2);  // the healthy replica did not apply it either
  CHECK(c.find("node-1")->view().account(0).cash[usdt].balance == 20);
  // Quorum back: the next commit takes version 3, the refused one never consumed it.
  REQUIRE(c.set_replica_state("node-2", ReplicaState::active));
  const ProposeResult again = c.propose(cs);
  CHECK(again.committed);
  CHECK(again.version == 3);
}

// Ensure quorum is configurable: all-of-3 refuses when one replica is down.
TEST_CASE("Coordinator: configurable quorum") {
  Coordinator c(&rules(), CoordinatorConfig{3, 3, 16});
  CHECK(deposit(c, "a", 1).committed);
  REQUIRE(c.set_replica_state("node-1", ReplicaState::paused));
  CHECK_FALSE(c.has_quorum());
  CHECK(deposit(c, "a", 1).error == ProposeError::no_quorum);
}

// Ensure a replica offered a version past its next one refuses it and reports the gap.
TEST_CASE("Replica: gap detection") {
  MemoryReplica r("n", &rules());
  ChangeSet cs;
  REQUIRE(cs.open(0, "a") == LedgerError::ok);
  cs.version = 1;
  REQUIRE(r.apply(cs).ok());
  cs.clear();
  REQUIRE(cs.deposit(0, usdt, 5) == LedgerError::ok);
  cs.version = 3;
  const ApplyResult g = r.apply(cs);
  CHECK(g.status == ApplyStatus::gap);
  CHECK(g.expected == 2);
  CHECK(g.got == 3);
  CHECK(r.version() == 1);
  CHECK(r.last_error().status == ApplyStatus::gap);
  cs.version = 1;
  CHECK(r.apply(cs).status == ApplyStatus::gap);  // replays are refused too
  r.set_state(ReplicaState::failed);
  cs.version = 2;
  CHECK(r.apply(cs).status == ApplyStatus::failed);
}

// Ensure a paused replica lags (visible in the reports) and catches up from the log on resync.
TEST_CASE("Coordinator: paused replica syncs from the log") {
  Coordinator c(&rules(), CoordinatorConfig{});
  REQUIRE(deposit(c, "alice", 1).committed);
  REQUIRE(c.set_replica_state("node-2", ReplicaState::paused));
  for (int i = 0; i < 4; ++i) REQUIRE(deposit(c, "bob", 1).committed);
  const ConsistencyReport rep = c.consistency();
  CHECK(rep.replica_count == 3);
  CHECK_FALSE(rep.is_consistent);
  CHECK(rep.version_lag == 4);
  CHECK(rep.versions[1].node_id == "node-2");
  CHECK(rep.versions[1].version == 1);
  const auto infos = c.replicas();
  CHECK(infos[1].state == ReplicaState::paused);
  CHECK(infos[1].lag == 4);
  CHECK(c.sync("node-2").error == SyncError::not_active);
  // Resumed but not synced, it refuses the next version with a gap and does not ack.
  REQUIRE(c.set_replica_state("node-2", ReplicaState::active));
  const ProposeResult r = deposit(c, "bob", 1);
  CHECK(r.acks == 2);
  CHECK(c.find("node-2")->last_error().status == ApplyStatus::gap);
  const SyncResult s = c.sync("node-2");
  CHECK(s.error == SyncError::ok);
  CHECK(s.applied == 5);
  CHECK_FALSE(s.from_snapshot);
  CHECK(c.consistency().is_consistent);
  CHECK(states_equal(c));
}

// Ensure the log stays bounded and a replica behind the truncated log syncs from the snapshot.
TEST_CASE("Coordinator: snapshot plus log after truncation") {
  Coordinator c(&rules(), CoordinatorConfig{3, 0, 4});
  REQUIRE(deposit(c, "alice", 1).committed);
  REQUIRE(c.set_replica_state("node-3", ReplicaState::paused));
  for (int i = 0; i < 20; ++i) REQUIRE(deposit(c, i % 2 ? "bob" : "carol", 1).committed);
  CHECK(c.log_size() <= 8);
  CHECK(c.log_first_version() > 2);
  CHECK(c.log_entry(1) == nullptr);
  REQUIRE(c.snapshot() != nullptr);
  CHECK(c.snapshot()->version() >= c.log_first_version() - 1);
  const SyncResult s = c.resync("node-3");
  CHECK(s.error == SyncError::ok);
  CHECK(s.from_snapshot);
  CHECK(s.version == 21);
  CHECK(states_equal(c));
  CHECK(c.find("node-3")->view().account(1).name == "carol");
}

// Ensure every version the log holds reads back as itself while its ring fills (lazily, within
// the reserved capacity), wraps around, and starts over after a restore from a snapshot.
TEST_CASE("Coordinator: log entries across ring fill, wrap-around and restore") {
  Coordinator c(&rules(), CoordinatorConfig{3, 0, 3});  // ring of 6 sets
  const auto check_log = [&c] {
    const std::uint64_t first = c.log_first_version();
    for (std::uint64_t v = first; v < first + c.log_size(); ++v) {
      REQUIRE(c.log_entry(v) != nullptr);
      CHECK(c.log_entry(v)->version == v);
    }
    CHECK(c.log_entry(first + c.log_size()) == nullptr);
    CHECK(c.log_size() <= 6);
  };
  for (int i = 0; i < 4; ++i) {
    REQUIRE(deposit(c, "alice", 1).committed);
    check_log();
  }
  CHECK(c.log_size() == 4);
  const LedgerState snap = *c.committed_state();
  REQUIRE(c.restore(snap));
  CHECK(c.log_size() == 0);
  for (int i = 0; i < 17; ++i) {
    REQUIRE(deposit(c, i % 3 ? "bob" : "alice", 1).committed);
    check_log();
  }
  CHECK(c.committed_version() == 21);
  CHECK(c.log_entry(21)->version == 21);
  CHECK(states_equal(c));
}

// Ensure an invalid set is refused without consuming a version or touching any replica.
TEST_CASE("Coordinator: invalid change set is refused") {
  Coordinator c(&rules(), CoordinatorConfig{});
  REQUIRE(deposit(c, "alice", 1).committed);
  ChangeSet cs;
  REQUIRE(cs.deposit(0, usdt, 1) == LedgerError::ok);
  REQUIRE(cs.deposit(42, usdt, 1) == LedgerError::ok);
  const ProposeResult r = c.propose(cs);
  CHECK_FALSE(r.committed);
  CHECK(r.error == ProposeError::invalid);
  CHECK(r.ledger_error == LedgerError::unknown_account);
  CHECK(c.committed_version() == 1);
  CHECK(c.consistency().is_consistent);
  CHECK(c.committed_state()->account(0).cash[usdt].balance == 1);
}

// Ensure accounts are created on first use and a refused set does not burn the new id.
TEST_CASE("Coordinator: accounts are created on first use") {
  Coordinator c(&rules(), CoordinatorConfig{});
  ChangeSet cs;
  const auto a = c.resolve_account(cs, "alice");
  const auto b = c.resolve_account(cs, "bob");
  CHECK(c.resolve_account(cs, "alice") == a);
  CHECK_FALSE(c.resolve_account(cs, "carol").has_value());  // only two opens per set
  CHECK_FALSE(c.resolve_account(cs, "").has_value());
  REQUIRE(add_fill(cs, rules(), *a, *b, btc, 100, 1) == LedgerError::ok);
  REQUIRE(c.propose(cs).committed);
  CHECK(c.committed_state()->find_account("bob") == 1u);
  ChangeSet again;
  CHECK(c.resolve_account(again, "bob") == 1u);
  CHECK(again.open_count() == 0);
}

// Ensure recovery (restore a snapshot, replay the later sets) rebuilds identical books.
TEST_CASE("Coordinator: restore and replay rebuild the same books") {
  Coordinator live(&rules(), CoordinatorConfig{});
  std::vector<ChangeSet> sets;
  std::mt19937_64 rng(42);
  for (int i = 0; i < 200; ++i) {
    ChangeSet cs;
    const auto buyer = live.resolve_account(cs, "acct" + std::to_string(rng() % 7));
    const auto seller = live.resolve_account(cs, "acct" + std::to_string(rng() % 7));
    REQUIRE(add_fill(cs, rules(), *buyer, *seller, static_cast<core::InstrumentId>(rng() % 3),
                     static_cast<core::Ticks>(1 + rng() % 1000),
                     static_cast<core::Lots>(1 + rng() % 50)) == LedgerError::ok);
    REQUIRE(live.propose(cs).committed);
    sets.push_back(cs);
  }
  CHECK(books_balance(*live.committed_state()));
  // A snapshot at version 120 plus sets 121..200.
  Coordinator partial(&rules(), CoordinatorConfig{});
  for (std::size_t i = 0; i < 120; ++i) REQUIRE(partial.replay(sets[i]).committed);
  const LedgerState snap = *partial.committed_state();
  Coordinator recovered(&rules(), CoordinatorConfig{});
  REQUIRE(recovered.restore(snap));
  CHECK(recovered.replay(sets[150]).error == ProposeError::bad_version);
  for (std::size_t i = 120; i < sets.size(); ++i) REQUIRE(recovered.replay(sets[i]).committed);
  CHECK(*recovered.committed_state() == *live.committed_state());
  CHECK(states_equal(recovered));
}

#pragma once
// Domain state rendered as JSON for the HTTP API, in one place (routes parse requests, call the
// app layer and reply with these). Pure functions of what they are given.
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "tradeshard/cluster/ledger_log.hpp"
#include "tradeshard/core/instrument.hpp"
#include "tradeshard/market/bar_series.hpp"
#include "tradeshard/partition/partitioner.hpp"

namespace tradeshard::app {
class Gateway;
class TickFlow;
class LedgerService;
}  // namespace tradeshard::app
namespace tradeshard::ledger {
struct Account;
}
namespace tradeshard::partition {
class SymbolMap;
struct MovePlan;
}  // namespace tradeshard::partition

namespace tradeshard::net::views {

// A market-data value (1e-8 scale) as the wire prints it: decimal, no trailing zeros.
[[nodiscard]] std::string md(std::int64_t v);

// Order path: GET /workers, /book/{symbol}, /orders/{account}; /stats "balancer" and "matching".
[[nodiscard]] nlohmann::json workers(const app::Gateway& g);
[[nodiscard]] nlohmann::json book(const app::Gateway& g, core::InstrumentId instrument, std::size_t levels);
[[nodiscard]] nlohmann::json open_orders(const app::Gateway& g, std::string_view account);
[[nodiscard]] nlohmann::json balancer_stats(const app::Gateway& g);
[[nodiscard]] nlohmann::json matching_stats(const app::Gateway& g);

// Tick path: GET /partitions, /processors, /bars/{symbol}; a rebalance plan; /stats "ticks".
[[nodiscard]] nlohmann::json plan(const partition::MovePlan& p, const partition::SymbolMap& map);
[[nodiscard]] nlohmann::json partitions(const app::TickFlow& t);
[[nodiscard]] nlohmann::json processors(const app::TickFlow& t);
[[nodiscard]] nlohmann::json bars(std::string_view symbol, market::Interval iv, const std::vector<market::Bar>& bars);
[[nodiscard]] nlohmann::json tick_stats(const app::TickFlow& t, nlohmann::json feeds);

// Ledger: GET /accounts/{account} (a pure function of committed state), /replicas,
// /replicas/consistency; /stats "ledger".
[[nodiscard]] nlohmann::json account(const app::LedgerService& l, const core::InstrumentTable& instruments,
                                     const ledger::Account& a);
[[nodiscard]] nlohmann::json replicas(const app::LedgerService& ledger);
[[nodiscard]] nlohmann::json consistency(const app::LedgerService& ledger);
// Cluster mode (the leading gateway): the follower processes beside the in-process replicas
// (`"process"`: "replica" or "standby"; the in-process ones say "in-process") and etcd's members
// in /replicas; in /replicas/consistency their versions and, per follower, its digest against the
// leader's at a common version: its applied version when it equals the leader's committed one,
// else its last checkpoint if the leader still has that one (`"matches"`: null when neither).
void add_followers(nlohmann::json& replicas, const app::LedgerService& ledger,
                   const std::vector<cluster::FollowerStatus>& followers, nlohmann::json etcd_members);
void add_follower_digests(nlohmann::json& consistency, const app::LedgerService& ledger,
                          const std::vector<cluster::FollowerStatus>& followers);
[[nodiscard]] nlohmann::json ledger_stats(const app::LedgerService& ledger);

}  // namespace tradeshard::net::views

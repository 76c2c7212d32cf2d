// HTTP views and admin actions of the replicated ledger.
#include "http_api.hpp"
#include "routes.hpp"
#include "views.hpp"
#include "tradeshard/app/gateway.hpp"
#include "tradeshard/ledger/ledger_state.hpp"

namespace tradeshard::net {
using nlohmann::json;

namespace {

HttpResponse replica_action(app::Gateway& g, std::string_view node, std::string_view action) {
  auto& c = g.ledger().coordinator();
  if (!c.find(node)) return HttpApi::error(404, "unknown_replica", "no such replica");
  if (action == "resync" || action == "resume" || action == "recover") {
    if (action != "resync" && !c.set_replica_state(node, ledger::ReplicaState::active)) {
      return HttpApi::error(400, "bad_state", "cannot change replica state");
    }
    const auto r = action == "resync" ? c.resync(node) : c.sync(node);
    if (r.error != ledger::SyncError::ok) return HttpApi::error(409, "sync_failed", "replica could not catch up");
    g.retry_held();  // quorum may be back: commit and send what waited for it
    return HttpApi::reply(200, {{"ok", true}, {"replica", node}, {"action", action}, {"version", r.version},
                                {"applied", r.applied}, {"from_snapshot", r.from_snapshot}});
  }
  const auto state = action == "pause" ? ledger::ReplicaState::paused : ledger::ReplicaState::failed;
  if (!c.set_replica_state(node, state)) return HttpApi::error(400, "bad_state", "cannot change replica state");
  return HttpApi::reply(200, {{"ok", true}, {"replica", node}, {"action", action}});
}

HttpResponse transfer(app::Gateway& g, const HttpRequest& req, std::string_view account, bool deposit) {
  const json body = json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object() || !body.contains("currency") || !body["currency"].is_string() ||
      !body.contains("amount") || !(body["amount"].is_string() || body["amount"].is_number())) {
    return HttpApi::error(400, "bad_field", "need {\"currency\": \"USDT\", \"amount\": \"1000.00\"}");
  }
  const std::string text = body["amount"].is_string() ? body["amount"].get<std::string>() : body["amount"].dump();
  const auto amount = core::parse_decimal(text);
  if (!amount.ok()) return HttpApi::error(400, "bad_amount", core::to_string(amount.error));
  std::uint64_t version = 0;
  // Written at the Gateway's release point, before the reply: a deposit the caller was told of is in the log.
  const auto err = g.transfer(account, body["currency"].get<std::string>(), amount.value, deposit, version);
  if (err == "ledger_write_failed") return HttpApi::error(503, "ledger_unavailable", "the ledger's log write failed");
  if (!err.empty()) return HttpApi::error(err == "ledger_unavailable" ? 503 : 400, err, "transfer refused");
  return HttpApi::reply(200, {{"ok", true}, {"account", account}, {"version", version}});
}

}  // namespace

void add_ledger_routes(HttpApi& api, app::Gateway& g) {
  api.route("GET", "/replicas", false, [&g, &api](const HttpRequest&, const HttpApi::Params&) {
    auto body = views::replicas(g.ledger());
    if (api.replica_extras().replicas) api.replica_extras().replicas(body);
    return HttpApi::reply(200, body);
  });
  api.route("GET", "/replicas/consistency", false, [&g, &api](const HttpRequest&, const HttpApi::Params&) {
    auto body = views::consistency(g.ledger());
    if (api.replica_extras().consistency) api.replica_extras().consistency(body);
    return HttpApi::reply(200, body);
  });
  api.route("GET", "/accounts/{}", false, [&g](const HttpRequest&, const HttpApi::Params& p) {
    const auto* st = g.ledger().coordinator().committed_state();
    const auto id = st ? st->find_account(p[0]) : std::nullopt;
    if (!id) return HttpApi::error(404, "unknown_account", "no committed change for this account");
    json body = views::account(g.ledger(), g.instruments(), st->account(*id));
    body["version"] = st->version();
    return HttpApi::reply(200, body);
  });
  for (const char* action : {"pause", "resume", "fail", "recover", "resync"}) {
    api.route("POST", std::string("/admin/replicas/{}/") + action, true,
              [&g, action](const HttpRequest&, const HttpApi::Params& p) { return replica_action(g, p[0], action); });
  }
  api.route("POST", "/admin/accounts/{}/deposit", true,
            [&g](const HttpRequest& req, const HttpApi::Params& p) { return transfer(g, req, p[0], true); });
  api.route("POST", "/admin/accounts/{}/withdraw", true,
            [&g](const HttpRequest& req, const HttpApi::Params& p) { return transfer(g, req, p[0], false); });
  api.add_stats_section("ledger", [&g] { return views::ledger_stats(g.ledger()); });
  auto& m = api.metrics();
  const auto& ledger = g.ledger();
  m.counter("tradeshard_ledger_commits_total", "Change sets committed by quorum.",
            [&ledger] { return static_cast<double>(ledger.stats().commits); });
  m.gauge("tradeshard_ledger_replica_lag", "Versions a replica is behind the committed version.", "replica",
          [&ledger](const auto& emit) {
            for (const auto& r : ledger.coordinator().replicas()) emit(r.node_id, static_cast<double>(r.lag));
          });
  m.gauge("tradeshard_ledger_quorum", "1 while the ledger has quorum.",
          [&ledger] { return ledger.coordinator().has_quorum() ? 1.0 : 0.0; });
}

}  // namespace tradeshard::net

#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "tradeshard/balance/load_balancer.hpp"
#include "tradeshard/core/hash.hpp"

using namespace tradeshard;
using namespace tradeshard::balance;

namespace {

WorkerSpec spec(std::string id, std::uint32_t capacity, double latency_us = 0.0) {
  WorkerSpec s;
  s.address = "inproc://" + id;
  s.id = std::move(id);
  s.capacity = capacity;
  s.latency_us_seed = latency_us;
  return s;
}

RouteRequest order(std::string_view symbol, std::string_view cls = "crypto") {
  return RouteRequest{symbol, core::stable_hash(symbol), cls, core::Priority::normal};
}

LoadBalancer three_workers(Strategy strategy, std::uint32_t capacity = 100) {
  LoadBalancer lb(Config{.strategy = strategy});
  for (const char* id : {"worker-1", "worker-2", "worker-3"}) REQUIRE(lb.add_worker(spec(id, capacity)).error == ManageError::ok);
  return lb;
}

std::uint32_t load_of(const LoadBalancer& lb, std::string_view id) {
  return lb.worker(*lb.find(id))->current_load;
}

WorkerId route_ok(LoadBalancer& lb, const RouteRequest& r) {
  const RouteResult res = lb.route(r);
  REQUIRE(res.ok());
  return res.worker;
}

}  // namespace

// Ensure strategy names round-trip exactly and unknown names are refused.
TEST_CASE("Strategy: parse and to_string") {
  for (Strategy s : all_strategies) CHECK(parse_strategy(to_string(s)) == s);
  CHECK_FALSE(parse_strategy("Hash").has_value());
  CHECK_FALSE(parse_strategy("").has_value());
}

std::string sym(int i) { return "SYM" + std::to_string(i); }

// Ensure round robin places 15 new symbols 5/5/5 over three workers in add order.
TEST_CASE("LoadBalancer: round robin places 15 symbols 5/5/5") {
  LoadBalancer lb = three_workers(Strategy::round_robin);
  std::vector<std::uint32_t> sequence;
  for (int i = 0; i < 15; ++i) sequence.push_back(route_ok(lb, order(sym(i))).value);
  CHECK(sequence[0] == 0);
  CHECK(sequence[1] == 1);
  CHECK(sequence[2] == 2);
  CHECK(sequence[3] == 0);
  CHECK(load_of(lb, "worker-1") == 5);
  CHECK(load_of(lb, "worker-2") == 5);
  CHECK(load_of(lb, "worker-3") == 5);
  CHECK(lb.stats().orders_routed == 15);
}

// Ensure least connections places new symbols on the worker that just released orders.
TEST_CASE("LoadBalancer: least connections follows releases") {
  LoadBalancer lb = three_workers(Strategy::least_connections);
  std::vector<WorkerId> routed;
  for (int i = 0; i < 6; ++i) routed.push_back(route_ok(lb, order(sym(i))));
  CHECK(load_of(lb, "worker-2") == 2);
  const WorkerId w2 = *lb.find("worker-2");
  for (int i = 0; i < 6; ++i) {
    if (routed[static_cast<std::size_t>(i)] == w2) CHECK(lb.release(w2, core::stable_hash(sym(i))) == ManageError::ok);
  }
  CHECK(load_of(lb, "worker-2") == 0);
  CHECK(route_ok(lb, order(sym(10))) == w2);
  CHECK(route_ok(lb, order(sym(11))) == w2);
  // All tied at 2 again: the lowest WorkerId wins, deterministically.
  CHECK(route_ok(lb, order(sym(12))) == *lb.find("worker-1"));
}

// Ensure weighted capacity keeps each worker's load proportional to its capacity.
TEST_CASE("LoadBalancer: weighted capacity follows capacity") {
  LoadBalancer lb(Config{.strategy = Strategy::weighted_capacity, .priority_reserve_pct = 0});
  REQUIRE(lb.add_worker(spec("small", 100)).error == ManageError::ok);
  REQUIRE(lb.add_worker(spec("medium", 200)).error == ManageError::ok);
  REQUIRE(lb.add_worker(spec("large", 300)).error == ManageError::ok);
  for (int i = 0; i < 60; ++i) (void)route_ok(lb, order(sym(i)));
  CHECK(load_of(lb, "small") == 10);
  CHECK(load_of(lb, "medium") == 20);
  CHECK(load_of(lb, "large") == 30);
  for (int i = 60; i < 600; ++i) (void)route_ok(lb, order(sym(i)));
  CHECK(load_of(lb, "small") == 100);
  CHECK(load_of(lb, "large") == 300);
  CHECK(lb.route(order(sym(600))).error == RouteError::no_capacity);
}

// Ensure lowest latency picks the fastest worker and moves when measurements say it slowed down.
TEST_CASE("LoadBalancer: lowest latency follows measured latency") {
  LoadBalancer lb(Config{.strategy = Strategy::lowest_latency, .latency_alpha = 0.5});
  REQUIRE(lb.add_worker(spec("worker-1", 100, 50.0)).error == ManageError::ok);
  REQUIRE(lb.add_worker(spec("worker-2", 100, 20.0)).error == ManageError::ok);
  REQUIRE(lb.add_worker(spec("worker-3", 100, 80.0)).error == ManageError::ok);
  const WorkerId w1 = *lb.find("worker-1");
  const WorkerId w2 = *lb.find("worker-2");
  CHECK(route_ok(lb, order(sym(1))) == w2);
  CHECK(route_ok(lb, order(sym(2))) == w2);
  CHECK(lb.record_latency(w2, 100.0) == ManageError::ok);  // EWMA 20 -> 60
  CHECK(lb.worker(w2)->latency_us == doctest::Approx(60.0));
  CHECK(route_ok(lb, order(sym(3))) == w1);
  CHECK(route_ok(lb, order(sym(1))) == w2);  // a symbol with live orders stays on its home
  CHECK(lb.record_latency(w1, 90.0) == ManageError::ok);  // 50 -> 70: worker-2 (60) is fastest again
  CHECK(route_ok(lb, order(sym(4))) == w2);
  CHECK(lb.record_latency(w2, -1.0) == ManageError::bad_value);
  CHECK(lb.record_latency(WorkerId{99}, 1.0) == ManageError::unknown_worker);
}

// Ensure every strategy keeps all live orders of a symbol on one worker (one book per symbol),
// while it places new symbols by its own rule, and keeps them there across a strategy switch.
TEST_CASE("LoadBalancer: every strategy keeps a symbol's live orders on one worker") {
  for (Strategy s : all_strategies) {
    CAPTURE(to_string(s));
    LoadBalancer lb = three_workers(s, 1000);
    std::vector<WorkerId> home;
    for (int i = 0; i < 30; ++i) home.push_back(route_ok(lb, order(sym(i))));
    std::vector<std::uint32_t> symbols_on(3, 0);
    for (const WorkerId w : home) ++symbols_on[w.value];
    if (s != Strategy::lowest_latency) {  // equal latency seeds: it places by fewest live orders
      for (std::uint32_t n : symbols_on) CHECK(n > 3);  // new symbols spread
    }
    for (int round = 0; round < 20; ++round) {
      for (int i = 0; i < 30; ++i) CHECK(route_ok(lb, order(sym(i))) == home[static_cast<std::size_t>(i)]);
    }
    const Strategy other = s == Strategy::hash ? Strategy::round_robin : Strategy::hash;
    lb.set_strategy(other);
    for (int i = 0; i < 30; ++i) CHECK(route_ok(lb, order(sym(i))) == home[static_cast<std::size_t>(i)]);
    CHECK(lb.live_orders(home[0], core::stable_hash(sym(0))) == 22);
  }
}

// Ensure the hash strategy keeps every order of a symbol on one worker while others spread.
TEST_CASE("LoadBalancer: hash keeps a symbol on one worker") {
  LoadBalancer lb = three_workers(Strategy::hash, 1000);
  const WorkerId btc = route_ok(lb, order("BTCUSDT"));
  std::vector<std::uint32_t> seen(3, 0);
  for (int i = 0; i < 100; ++i) {
    CHECK(route_ok(lb, order("BTCUSDT")) == btc);
    ++seen[route_ok(lb, order("SYM" + std::to_string(i))).value];
  }
  CHECK(lb.live_orders(btc, core::stable_hash("BTCUSDT")) == 101);
  for (std::uint32_t n : seen) CHECK(n > 10);  // the other symbols do spread
}

// Priority is a lane, not a place: VIP and emergency orders go to the symbol's home like any
// other and may use the reserved share of its capacity; normal orders stop short of it.
TEST_CASE("LoadBalancer: priority orders share the home and may use the reserve") {
  for (const Strategy strategy : all_strategies) {
    CAPTURE(to_string(strategy));
    LoadBalancer lb(Config{.strategy = strategy, .priority_reserve_pct = 20});
    for (const char* id : {"worker-1", "worker-2"}) REQUIRE(lb.add_worker(spec(id, 10)).error == ManageError::ok);
    const WorkerId home = route_ok(lb, order("BTCUSDT"));
    RouteRequest vip = order("BTCUSDT");
    vip.priority = core::Priority::vip;
    RouteRequest emergency = order("BTCUSDT");
    emergency.priority = core::Priority::emergency;
    CHECK(route_ok(lb, vip) == home);
    CHECK(route_ok(lb, emergency) == home);
    for (int i = 3; i < 8; ++i) CHECK(route_ok(lb, order("BTCUSDT")) == home);
    CHECK(lb.route(order("BTCUSDT")).error == RouteError::no_capacity);  // 8 of 10: the rest is reserved
    CHECK(route_ok(lb, vip) == home);
    CHECK(route_ok(lb, emergency) == home);
    CHECK(lb.route(emergency).error == RouteError::no_capacity);  // the reserve is used up too
    CHECK(lb.worker(home)->current_load == 10);
  }
  CHECK(validate(Config{.priority_reserve_pct = 51}) == ConfigError::bad_reserve);
}

// The rebalance plan moves whole books off the busiest worker until it is under the target,
// never splits a symbol, and leaves a balanced set alone.
TEST_CASE("LoadBalancer: rebalance plan") {
  LoadBalancer lb(Config{.strategy = Strategy::round_robin});
  for (const char* id : {"worker-1", "worker-2", "worker-3", "worker-4"}) REQUIRE(lb.add_worker(spec(id, 1000)).error == ManageError::ok);
  // Round robin over 4 workers: symbol i lives on worker i % 4. Make worker-1's symbols hot.
  std::vector<std::string> names;
  std::vector<SymbolLoad> loads;
  for (int i = 0; i < 16; ++i) names.push_back("S" + std::to_string(i));
  for (int i = 0; i < 16; ++i) {
    const WorkerId w = route_ok(lb, order(names[i]));
    CHECK(w.value == static_cast<std::uint32_t>(i % 4));
    loads.push_back({core::stable_hash(names[i]), "crypto", i % 4 == 0 ? 100.0 : 10.0});
  }
  // worker-1: 400, others 40 each: mean 130, before 3.08.
  const auto plan = lb.plan_rebalance(loads, RebalanceOptions{.max_over_avg = 1.3});
  CHECK(plan.mean == doctest::Approx(130.0));
  CHECK(plan.before == doctest::Approx(400.0 / 130.0));
  CHECK(plan.after <= 1.15 + 1e-9);
  CHECK(plan.moves.size() == 3);  // one hot book to each other worker: 100 / 140 / 140 / 140
  for (const auto& m : plan.moves) {
    CHECK(m.from.value == 0);
    CHECK(m.load == 100.0);
  }
  // A plan changes nothing by itself; move_symbol applies one move.
  CHECK(lb.worker(WorkerId{0})->current_load == 4);
  CHECK(lb.move_symbol(plan.moves[0].symbol_hash, plan.moves[0].from, plan.moves[0].to) == ManageError::ok);
  CHECK(lb.home(plan.moves[0].symbol_hash) == plan.moves[0].to);
  CHECK(lb.worker(WorkerId{0})->current_load == 3);

  // One symbol hotter than everything else together: it never splits, and nothing gains from
  // moving it, so only lighter books move off its worker (here: none are left).
  LoadBalancer hot(Config{.strategy = Strategy::round_robin});
  for (const char* id : {"worker-1", "worker-2"}) REQUIRE(hot.add_worker(spec(id, 1000)).error == ManageError::ok);
  (void)route_ok(hot, order("HOT"));
  (void)route_ok(hot, order("COLD"));
  const SymbolLoad two[] = {{core::stable_hash("HOT"), "crypto", 1000.0}, {core::stable_hash("COLD"), "crypto", 10.0}};
  const auto none = hot.plan_rebalance(two, RebalanceOptions{});
  CHECK(none.before > 1.9);
  CHECK(none.moves.empty());

  // Balanced: nothing moves.
  CHECK(lb.move_symbol(plan.moves[0].symbol_hash, plan.moves[0].to, plan.moves[0].from) == ManageError::ok);
  for (auto& l : loads) l.load = 10.0;
  CHECK(lb.plan_rebalance(loads, RebalanceOptions{}).moves.empty());
}

// The trigger fires only after the imbalance held for after_ms, with the mean above min_load,
// and not again within the cool-down.
TEST_CASE("RebalanceTrigger: hold time, minimum load, cool-down") {
  RebalanceTrigger t({.max_over_avg = 1.3, .min_load = 50.0, .after_ms = 1000, .cooldown_ms = 5000});
  CHECK_FALSE(t.due(0, 2.0, 100.0));
  CHECK_FALSE(t.due(500, 2.0, 100.0));
  CHECK_FALSE(t.due(900, 1.2, 100.0));  // a break resets the hold
  CHECK_FALSE(t.due(1000, 2.0, 100.0));
  CHECK_FALSE(t.due(1500, 2.0, 10.0));  // too little load to bother
  CHECK_FALSE(t.due(1600, 2.0, 100.0));
  CHECK(t.due(2600, 2.0, 100.0));
  t.ran(2600);
  CHECK_FALSE(t.due(3000, 2.0, 100.0));
  CHECK_FALSE(t.due(4100, 2.0, 100.0));  // held, but cooling down
  CHECK(t.due(7600, 2.0, 100.0));
}

// Ensure orders only reach workers serving the instrument's class, and the reject names it.
TEST_CASE("LoadBalancer: class filtering") {
  LoadBalancer lb(Config{.strategy = Strategy::round_robin});
  WorkerSpec fx = spec("fx-1", 10);
  fx.classes = {"forex"};
  WorkerSpec crypto = spec("crypto-1", 10);
  crypto.classes = {"crypto", "futures"};
  const WorkerId fx_id = lb.add_worker(fx).worker;
  const WorkerId crypto_id = lb.add_worker(crypto).worker;
  for (int i = 0; i < 4; ++i) {
    CHECK(route_ok(lb, order("EURUSD", "forex")) == fx_id);
    CHECK(route_ok(lb, order("BTCUSDT", "crypto")) == crypto_id);
  }
  CHECK(lb.route(order("AAPL", "equity")).error == RouteError::no_worker_for_class);
  const WorkerId any_id = lb.add_worker(spec("any-1", 10)).worker;  // no classes = all classes
  CHECK(route_ok(lb, order("AAPL", "equity")) == any_id);
}

// Ensure a full worker set rejects with no_capacity and a release makes room again.
TEST_CASE("LoadBalancer: capacity exhaustion and release") {
  for (Strategy s : all_strategies) {
    CAPTURE(to_string(s));
    LoadBalancer lb(Config{.strategy = s});
    REQUIRE(lb.add_worker(spec("worker-1", 2)).error == ManageError::ok);
    REQUIRE(lb.add_worker(spec("worker-2", 2)).error == ManageError::ok);
    // Distinct symbols, so hash affinity does not pin them all to one worker.
    std::vector<WorkerId> routed;
    for (int i = 0; i < 4; ++i) routed.push_back(route_ok(lb, order("SYM" + std::to_string(i))));
    const RouteResult full = lb.route(order("SYM9"));
    CHECK(full.error == RouteError::no_capacity);
    CHECK_FALSE(full.worker.valid());
    CHECK(lb.stats().total_load == 4);
    CHECK(lb.release(routed[0], core::stable_hash("SYM0")) == ManageError::ok);
    CHECK(route_ok(lb, order("SYM9")) == routed[0]);
    CHECK(lb.stats().rejects[static_cast<std::size_t>(RouteError::no_capacity)] == 1);
  }
}

// Ensure a bad release changes nothing: loads never go negative or drift.
TEST_CASE("LoadBalancer: release of an order never routed is refused") {
  LoadBalancer lb = three_workers(Strategy::round_robin);
  const WorkerId w = route_ok(lb, order("BTCUSDT"));
  CHECK(lb.release(w, core::stable_hash("ETHUSDT")) == ManageError::not_routed);
  CHECK(lb.release(WorkerId{7}, core::stable_hash("BTCUSDT")) == ManageError::unknown_worker);
  CHECK(lb.release(w, core::stable_hash("BTCUSDT")) == ManageError::ok);
  CHECK(lb.release(w, core::stable_hash("BTCUSDT")) == ManageError::not_routed);
  CHECK(lb.stats().total_load == 0);
  CHECK(lb.stats().orders_released == 1);
}

// Ensure a draining worker takes no new orders and reports drained once its last order ends.
TEST_CASE("LoadBalancer: drain") {
  LoadBalancer lb = three_workers(Strategy::round_robin);
  const WorkerId w1 = route_ok(lb, order("BTCUSDT"));
  CHECK(lb.drain("worker-1") == ManageError::ok);
  CHECK(lb.drain("nobody") == ManageError::unknown_worker);
  CHECK_FALSE(lb.is_drained("worker-1"));
  for (int i = 0; i < 10; ++i) CHECK(route_ok(lb, order("ETHUSDT")) != w1);
  CHECK(lb.worker(w1)->state == WorkerState::draining);
  CHECK(lb.release(w1, core::stable_hash("BTCUSDT")) == ManageError::ok);
  CHECK(lb.is_drained("worker-1"));
  const RemoveResult removed = lb.remove("worker-1");
  CHECK(removed.error == ManageError::ok);
  CHECK(removed.live_orders == 0);
  CHECK_FALSE(lb.find("worker-1").has_value());
  CHECK(lb.workers().size() == 2);
}

// Ensure unhealthy workers are skipped and come back when marked healthy.
TEST_CASE("LoadBalancer: unhealthy skipped") {
  for (Strategy s : all_strategies) {
    CAPTURE(to_string(s));
    LoadBalancer lb = three_workers(s);
    const WorkerId w2 = *lb.find("worker-2");
    CHECK(lb.set_healthy("worker-2", false) == ManageError::ok);
    for (int i = 0; i < 30; ++i) CHECK(route_ok(lb, order("SYM" + std::to_string(i))) != w2);
    CHECK(lb.worker(w2)->state == WorkerState::unhealthy);
    CHECK(lb.set_healthy("worker-2", true) == ManageError::ok);
    CHECK(lb.stats().routable_workers == 3);
  }
}

// Ensure no routable worker at all gives no_healthy_worker, not no_capacity.
TEST_CASE("LoadBalancer: all unhealthy gives no_healthy_worker") {
  for (Strategy s : all_strategies) {
    CAPTURE(to_string(s));
    LoadBalancer lb = three_workers(s);
    for (const char* id : {"worker-1", "worker-2", "worker-3"}) CHECK(lb.set_healthy(id, false) == ManageError::ok);
    CHECK(lb.route(order("BTCUSDT")).error == RouteError::no_healthy_worker);
    LoadBalancer empty(Config{.strategy = s});
    CHECK(empty.route(order("BTCUSDT")).error == RouteError::no_healthy_worker);
  }
}

// Ensure bad worker specs and duplicate ids are refused without changing the balancer.
TEST_CASE("LoadBalancer: add_worker validation") {
  LoadBalancer lb = three_workers(Strategy::round_robin);
  CHECK(lb.add_worker(spec("worker-1", 5)).error == ManageError::duplicate_id);
  CHECK(lb.add_worker(spec("", 5)).error == ManageError::invalid_spec);
  CHECK(lb.add_worker(spec("worker-9", 0)).error == ManageError::invalid_spec);
  CHECK(lb.add_worker(spec("worker-9", 5, -3.0)).error == ManageError::invalid_spec);
  WorkerSpec many = spec("worker-9", 5);
  for (int i = 0; i < 64; ++i) many.classes.push_back("class-" + std::to_string(i));
  CHECK(lb.add_worker(many).error == ManageError::too_many_classes);
  CHECK(lb.workers().size() == 3);
}

// Ensure config validation names each bad key and the constructor falls back to defaults.
TEST_CASE("LoadBalancer: config validation") {
  CHECK(validate(Config{}) == ConfigError::ok);
  CHECK(validate(Config{.hash_balance_factor = 0.5}) == ConfigError::bad_balance_factor);
  CHECK(validate(Config{.hash_balance_factor = 1.25}) == ConfigError::ok);
  CHECK(validate(Config{.points_per_worker = 0}) == ConfigError::bad_points);
  CHECK(validate(Config{.latency_alpha = 0.0}) == ConfigError::bad_latency_alpha);
  const LoadBalancer lb(Config{.hash_balance_factor = -2.0, .points_per_worker = 0});
  CHECK(lb.config().hash_balance_factor == 0.0);
  CHECK(lb.config().points_per_worker == 2048);
  LoadBalancer runtime;
  CHECK(runtime.set_hash_balance_factor(0.9) == ManageError::bad_value);
  CHECK(runtime.set_hash_balance_factor(1.1) == ManageError::ok);
}

// Ensure views and stats report what the HTTP endpoints need.
TEST_CASE("LoadBalancer: workers view and stats") {
  LoadBalancer lb = three_workers(Strategy::round_robin, 10);
  for (int i = 0; i < 6; ++i) (void)route_ok(lb, order(sym(i)));
  (void)route_ok(lb, order(sym(6)));
  const std::vector<WorkerView> views = lb.workers();
  REQUIRE(views.size() == 3);
  CHECK(views[0].id == "worker-1");
  CHECK(views[0].address == "inproc://worker-1");
  CHECK(views[0].current_load == 3);
  CHECK(views[0].available_capacity == 7);
  CHECK(views[0].load_pct == doctest::Approx(30.0));
  CHECK(views[0].orders_routed == 3);
  const BalancerStats st = lb.stats();
  CHECK(st.total_capacity == 30);
  CHECK(st.total_load == 7);
  CHECK(st.utilization_pct == doctest::Approx(100.0 * 7 / 30));
  CHECK(st.imbalance == doctest::Approx(3.0 / (7.0 / 3.0)));
  CHECK(to_string(st.strategy) == "round_robin");
}

// Ensure a moved book takes its accounting along: loads, the (worker, symbol) counts and the home.
TEST_CASE("LoadBalancer: move_symbol and place") {
  LoadBalancer lb = three_workers(Strategy::least_connections, 10);
  const WorkerId w1 = route_ok(lb, order("BTCUSDT"));
  (void)route_ok(lb, order("BTCUSDT"));
  (void)route_ok(lb, order("BTCUSDT"));
  const std::uint64_t h = core::stable_hash("BTCUSDT");
  const WorkerId w3 = *lb.find("worker-3");
  // least connections would place a new symbol on an empty worker (worker-2: lowest id)
  CHECK(lb.place(order("ETHUSDT")) == *lb.find("worker-2"));
  CHECK(lb.stats().total_load == 3);  // place() counts nothing
  CHECK(lb.move_symbol(h, w1, w3) == ManageError::ok);
  CHECK(load_of(lb, "worker-1") == 0);
  CHECK(load_of(lb, "worker-3") == 3);
  CHECK(lb.live_orders(w3, h) == 3);
  CHECK(lb.live_orders(w1, h) == 0);
  CHECK(route_ok(lb, order("BTCUSDT")) == w3);  // the home moved too
  CHECK(lb.release(w3, h) == ManageError::ok);
  CHECK(lb.release(w1, h) == ManageError::not_routed);
  CHECK(lb.move_symbol(h, w1, w3) == ManageError::not_routed);
  CHECK(lb.move_symbol(h, w3, w3) == ManageError::bad_value);
  CHECK(lb.move_symbol(h, w3, WorkerId{9}) == ManageError::unknown_worker);
  CHECK(lb.stats().total_load == 3);
}

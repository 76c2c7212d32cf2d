#!/usr/bin/env bash
# Smoke run of the end-to-end load generator: `tradeshard-bench --suite smoke` (a few seconds)
# must start the daemon and its baselines and write a report whose headline figures are positive.
# Performance targets are NOT asserted here: the machine is shared and noisy.
#   $1 path to tradeshardd (tradeshard-bench sits next to it)   $2 source dir
set -euo pipefail
daemon="$1"
src="$2"
bench="$(dirname "$daemon")/tradeshard-bench"
[ -x "$bench" ] || { echo "FAIL: $bench not built"; exit 1; }
out="$(mktemp -d /tmp/bench-smoke-XXXXXX)"
trap 'rm -rf "$out"' EXIT
# ASan builds are far slower; the smoke suite has no timing assertions, only its own 30 s barrier limits.
"$bench" --suite smoke --daemon "$daemon" --source-dir "$src" --json "$out/smoke.json" > "$out/log.txt" 2>&1 || {
  cat "$out/log.txt"; echo "FAIL: tradeshard-bench --suite smoke exited non-zero"; exit 1; }
python3 - "$out/smoke.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
def positive(path):
    v = r
    for k in path.split("."):
        v = v[k]
    assert isinstance(v, (int, float)) and v > 0, f"{path} = {v!r}, want a positive number"
for p in ("order_rtt_us.p50", "order_rtt_us.p99", "order_rtt_us.p999", "echo_rtt_us.p50", "echo_rtt_us.p99",
          "echo_rtt_us.p999", "ticks_per_s", "discard_ticks_per_s", "parse_floor_ticks_per_s", "nproc",
          "orders.orders_sent", "open_loop.echo_rtt_us.p99", "open_loop.echo_wal_rtt_us.p99",
          "open_loop.order_rtt_us.p99"):
    positive(p)
for k in ("commit", "date", "cpu_model", "placement", "targets"):
    assert k in r, f"missing key {k}"
for k in ("order_rtt_p50_vs_echo", "order_rtt_p999_vs_echo", "ticks_per_s_one_connection", "ticks_vs_discard",
          "open_loop_p99_vs_echo", "open_loop_p99_vs_echo_wal"):
    assert isinstance(r["targets"][k]["ok"], bool), f"targets.{k}.ok is not a boolean"
assert r["orders"]["timeouts"] == 0, f"{r['orders']['timeouts']} orders got no reply"
assert r["ticks"]["daemon_counted_incl_warmup"] >= r["ticks"]["ticks"], "daemon counted fewer ticks than were sent"
print("ok: smoke report has positive headline figures")
PY

#!/usr/bin/env bash
# The order path through worker processes (cluster mode, docs/cluster.md) against the embedded
# daemon and a plain echo server, all in the same run (docs/benchmarks.md):
#   echo          tradeshard-bench --serve echo: one loopback round trip, no domain code
#   embedded      tradeshardd as `make run` starts it (history off here: not the subject)
#   cluster N     scripts/cluster.sh with N worker processes: client -> gateway -> worker -> gateway
#                 (REPLICAS=0 STANDBY=0: no replica or standby following the ledger on these 2 cores)
# Each: tradeshard-bench --mode orders (closed loop, CONNECTIONS connections, window 1) for SECONDS
# seconds; prints submit->ack p50/p99 and acks/s, and the ratios to echo and to embedded.
# Then ticks: tradeshard-bench --mode ticks (firehose) into the embedded daemon and into the
# 1-worker cluster, whose 2 node processes run the strategies: ticks/s the gateway took, how many
# went to the node processes, and how many were dropped (market data past 64 batches in flight).
#   scripts/bench-cluster.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
secs="${2:-5}"
conns="${CONNECTIONS:-4}"
bench="$build/tradeshard-bench"
bin="$(cd "$build" && pwd)/tradeshardd"
tmp="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for d in "$tmp"/c*; do [ -d "$d" ] && TRADESHARDD="$bin" bash scripts/cluster.sh stop "$d" >/dev/null 2>&1 || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_file() { for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "bench-cluster: $1 missing"; exit 1; }
port_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
run() {  # name target mode
  "$bench" --tcp "$2" --mode "$3" --connections "$conns" --duration "$secs" --warmup 1 --json "$tmp/$1.json" >/dev/null
}

# echo
"$bench" --serve echo --port 0 --ports-file "$tmp/echo.ports" >/dev/null 2>&1 &
pids+=($!)
wait_file "$tmp/echo.ports"
run echo "127.0.0.1:$(port_of "$tmp/echo.ports" tcp)" echo

# embedded
python3 - config/tradeshard.json "$tmp" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = {"tcp": "127.0.0.1:0", "http": "127.0.0.1:0"}
c["history"] = {"enabled": False}
c["ledger"] = dict(c.get("ledger", {}), data_dir=sys.argv[2] + "/ledger")
json.dump(c, open(sys.argv[2] + "/embedded.json", "w"))
EOF
"$bin" --config "$tmp/embedded.json" --ports-file "$tmp/embedded.ports" >/dev/null 2>"$tmp/embedded.log" &
pids+=($!)
wait_file "$tmp/embedded.ports"
run embedded "127.0.0.1:$(port_of "$tmp/embedded.ports" tcp)" orders
run embedded_ticks "127.0.0.1:$(port_of "$tmp/embedded.ports" tcp)" ticks
kill -TERM "${pids[-1]}"

# cluster with 1, 2 and 3 worker processes
for n in 1 2 3; do
  REPLICAS=0 STANDBY=0 TRADESHARDD="$bin" bash scripts/cluster.sh start "$tmp/c$n" "$n" >/dev/null
  run "cluster$n" "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["tcp"])' "$tmp/c$n/cluster.json")" orders
  if [ "$n" -eq 1 ]; then
    run cluster_ticks "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["tcp"])' "$tmp/c$n/cluster.json")" ticks
    sleep 0.5  # the last batches come back
    curl -sf "http://$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["http"])' "$tmp/c$n/cluster.json")/cluster" >"$tmp/cluster_ticks.cluster"
  fi
  TRADESHARDD="$bin" bash scripts/cluster.sh stop "$tmp/c$n" >/dev/null
done

python3 - "$tmp" "$secs" "$conns" <<'EOF'
import json, os, sys
tmp, secs, conns = sys.argv[1], sys.argv[2], sys.argv[3]
rt = {n: json.load(open(f"{tmp}/{n}.json"))["round_trips"] for n in ["echo", "embedded", "cluster1", "cluster2", "cluster3"]}
base = rt["embedded"]["submit_to_ack_us"]["p50"]
print(f"{os.cpu_count()} CPUs; {conns} connections, closed loop (window 1), {secs} s each; nothing pinned")
print("| path | round trips | p50 us | p99 us | per s | p50 / embedded |")
print("|---|---|---|---|---|---|")
for name, r in rt.items():
    lat = r["submit_to_ack_us"]  # echo: the line's round trip; orders: submit -> ack
    per_s = round(lat["count"] / r["seconds"]) if r["seconds"] else 0
    print(f"| {name} | {lat['count']} | {lat['p50']} | {lat['p99']} | {per_s} | {lat['p50'] / base:.2f} |")
emb = json.load(open(f"{tmp}/embedded_ticks.json"))["ticks"]
clu = json.load(open(f"{tmp}/cluster_ticks.json"))["ticks"]
nodes = [m for m in json.load(open(f"{tmp}/cluster_ticks.cluster"))["members"] if m["role"] == "node"]
done, dropped = sum(m["ticks"] for m in nodes), sum(m["ticks_dropped"] for m in nodes)
print()
print("| ticks into | ticks/s taken by the gateway | / embedded | sent to node processes | dropped |")
print("|---|---|---|---|---|")
print(f"| embedded | {emb['ticks_per_s']:.0f} | 1.00 | (in the daemon) | 0 |")
print(f"| cluster, 2 node processes | {clu['ticks_per_s']:.0f} | {clu['ticks_per_s'] / emb['ticks_per_s']:.2f} | {done} ({done / clu['seconds']:.0f}/s) | {dropped} |")
EOF

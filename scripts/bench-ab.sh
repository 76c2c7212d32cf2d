#!/usr/bin/env bash
# A same-run A/B of the embedded default (docs/benchmarks.md): two tradeshardd binaries (or one
# binary with two configs) started in turn on config/tradeshard.json (history off, the ledger in
# a scratch directory), PAIRS alternated rounds of tradeshard-bench against each:
#   orders  --mode orders, CONNECTIONS connections, closed loop: submit->ack and submit->fill
#   ticks   --mode ticks, one connection, firehose: ticks/s
# then the median of each figure over the rounds and new/old. Alternating in pairs keeps a noisy,
# shared machine's drift out of the ratio as far as it can be.
#   scripts/bench-ab.sh OLD_TRADESHARDD NEW_TRADESHARDD [PAIRS] [SECONDS]
# MODES: "orders ticks" (default), or one of them. BENCH: tradeshard-bench (default
# build/tradeshard-bench). PATCH: JSON merged into both configs;
# NEW_PATCH: into the new one's only (A/B of a setting with one binary), e.g.
#   NEW_PATCH='{"ledger":{"ack_after":"fsync","fsync":"every_commit"}}' \
#     scripts/bench-ab.sh build/tradeshardd build/tradeshardd
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { sed -n 2,15p "$0"; exit 2; }
old="$(realpath "$1")"
new="$(realpath "$2")"
pairs="${3:-4}"
secs="${4:-2}"
conns="${CONNECTIONS:-4}"
modes="${MODES:-orders ticks}"
bench="${BENCH:-build/tradeshard-bench}"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

for side in old new; do
  python3 - config/tradeshard.json "$tmp" "$side" "${PATCH:-{\}}" "$([ "$side" = new ] && echo "${NEW_PATCH:-{\}}" || echo '{}')" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
tmp, side = sys.argv[2], sys.argv[3]
def merge(a, b):
    for k, v in b.items():
        a[k] = merge(a.get(k, {}), v) if isinstance(v, dict) and isinstance(a.get(k), dict) else v
    return a
c["listen"] = {"tcp": "127.0.0.1:0", "http": "127.0.0.1:0"}
c["history"] = {"enabled": False}
c["ledger"] = dict(c.get("ledger", {}), data_dir=f"{tmp}/ledger-{side}")
merge(c, json.loads(sys.argv[4]))
merge(c, json.loads(sys.argv[5]))
json.dump(c, open(f"{tmp}/{side}.json", "w"))
PY
done

wait_file() { for _ in $(seq 1 200); do [ -s "$1" ] && return 0; sleep 0.05; done; echo "bench-ab: $1 missing"; exit 1; }
round() {  # side binary round
  rm -rf "$tmp/ledger-$1" "$tmp/$1.ports"
  "$2" --config "$tmp/$1.json" --ports-file "$tmp/$1.ports" >/dev/null 2>"$tmp/$1.log" &
  pid=$!
  wait_file "$tmp/$1.ports"
  local port
  port=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcp"])' "$tmp/$1.ports")
  if [[ " $modes " == *" orders "* ]]; then
    "$bench" --tcp "127.0.0.1:$port" --mode orders --connections "$conns" --duration "$secs" --warmup 1 \
      --json "$tmp/$1-orders-$3.json" >/dev/null
  fi
  if [[ " $modes " == *" ticks "* ]]; then
    "$bench" --tcp "127.0.0.1:$port" --mode ticks --connections 1 --duration "$secs" --warmup 1 \
      --json "$tmp/$1-ticks-$3.json" >/dev/null
  fi
  kill -TERM "$pid"
  wait "$pid" 2>/dev/null || true
  pid=""
}
for r in $(seq 1 "$pairs"); do
  if [ $((r % 2)) -eq 1 ]; then round old "$old" "$r"; round new "$new" "$r"; else round new "$new" "$r"; round old "$old" "$r"; fi
done

python3 - "$tmp" "$pairs" "$secs" "$conns" "$old" "$new" "${PATCH:-}" "${NEW_PATCH:-}" <<'PY'
import json, os, statistics, sys
tmp, pairs, secs, conns, old, new, patch, new_patch = sys.argv[1:9]
rounds = {}
def figures(side):
    out = {k: [] for k in ["ack_p50", "ack_p99", "fill_p50", "fill_p99", "orders_per_s", "ticks_per_s"]}
    for r in range(1, int(pairs) + 1):
        if os.path.exists(f"{tmp}/{side}-orders-{r}.json"):
            o = json.load(open(f"{tmp}/{side}-orders-{r}.json"))["round_trips"]
            out["ack_p50"].append(o["submit_to_ack_us"]["p50"])
            out["ack_p99"].append(o["submit_to_ack_us"]["p99"])
            out["fill_p50"].append(o["submit_to_fill_us"]["p50"])
            out["fill_p99"].append(o["submit_to_fill_us"]["p99"])
            out["orders_per_s"].append(o["submit_to_ack_us"]["count"] / o["seconds"] if o["seconds"] else 0)
        if os.path.exists(f"{tmp}/{side}-ticks-{r}.json"):
            out["ticks_per_s"].append(json.load(open(f"{tmp}/{side}-ticks-{r}.json"))["ticks"]["ticks_per_s"])
    rounds[side] = out
    return {k: statistics.median(v) for k, v in out.items() if v}
a, b = figures("old"), figures("new")
print(f"{os.cpu_count()} CPUs; old {old}, new {new}{' (new patched: ' + new_patch + ')' if new_patch else ''}"
      f"{'; both patched: ' + patch if patch else ''}")
print(f"{pairs} alternated pairs; orders: {conns} connections closed loop, ticks: 1 connection; {secs} s each; medians; nothing pinned")
print("| figure | old | new | new / old |")
print("|---|---|---|---|")
for k, unit in [("ack_p50", "µs"), ("ack_p99", "µs"), ("fill_p50", "µs"), ("fill_p99", "µs"),
                ("orders_per_s", "/s"), ("ticks_per_s", "/s")]:
    if k not in a or k not in b:
        continue
    ratio = b[k] / a[k] if a[k] else float("nan")
    print(f"| {k} ({unit}) | {a[k]:,.1f} | {b[k]:,.1f} | {ratio:.2f} |")
for k in ["orders_per_s", "ticks_per_s"]:
    if rounds["old"][k]:
        print(f"{k} by round: old " + " ".join(f"{x:,.0f}" for x in rounds["old"][k]) +
              "; new " + " ".join(f"{x:,.0f}" for x in rounds["new"][k]))
PY

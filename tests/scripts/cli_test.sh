#!/usr/bin/env bash
# The `tradeshard` CLI against a real daemon: status (tables; exit 0 when answered, 2 with a clear
# message when the daemon is not reachable), top, replay of a 100,000-tick JSON-lines file with
# its progress and summary (rejects by reason), a CSV replay (docs/matching.md), order and cancel.
#   $1 path to tradeshardd (tradeshard sits next to it)   $2 source dir
set -euo pipefail
daemon="$1"
src="$2"
cli="$(dirname "$daemon")/tradeshard"
[ -x "$cli" ] || { echo "FAIL: $cli not built"; exit 1; }
work="$(mktemp -d /tmp/cli-test-XXXXXX)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

python3 - "$src/config/tradeshard.json" "$work" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = {"tcp": "127.0.0.1:0", "http": "127.0.0.1:0"}
c["ledger"]["data_dir"] = sys.argv[2] + "/ledger"
if "history" in c: c["history"].update(dir=sys.argv[2] + "/history", archive_dir=sys.argv[2] + "/history-archive")
json.dump(c, open(sys.argv[2] + "/config.json", "w"))
PY
"$daemon" --config "$work/config.json" --ports-file "$work/ports.json" 2>"$work/daemon.log" &
pid=$!
for _ in $(seq 100); do [ -s "$work/ports.json" ] && break; sleep 0.1; done
[ -s "$work/ports.json" ] || fail "daemon did not start: $(cat "$work/daemon.log")"
http="127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["http"])' "$work/ports.json")"
tcp="127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["tcp"])' "$work/ports.json")"

# status: tables of workers, partitions, replicas.
"$cli" status --http "$http" >"$work/status.txt" || fail "status exited $?"
for want in "ok" "worker-1" "worker-3" "node-1" "replica-1" "consistent"; do
  grep -q -- "$want" "$work/status.txt" || { cat "$work/status.txt"; fail "status does not show $want"; }
done
# Not reachable: exit 2 and a message that says what to do.
set +e
"$cli" status --http 127.0.0.1:1 >/dev/null 2>"$work/err.txt"
rc=$?
set -e
[ "$rc" = 2 ] || fail "status against nothing exited $rc, want 2"
grep -q "cannot reach tradeshard's HTTP listener at 127.0.0.1:1" "$work/err.txt" || fail "unclear error: $(cat "$work/err.txt")"

# order, then cancel it from another connection by account.
"$cli" order --tcp "$tcp" --symbol BTCUSDT --side buy --price 100 --qty 0.001 --account cli-acct --id cli-1 --wait 0.2 \
  >"$work/order.txt" 2>/dev/null || fail "order exited $?"
grep -q '"type":"ack".*"id":"cli-1"' "$work/order.txt" || fail "no ack: $(cat "$work/order.txt")"
set +e
"$cli" order --tcp "$tcp" --symbol NOPE --side buy --price 1 --qty 1 --id cli-2 --wait 0.1 >"$work/bad.txt" 2>/dev/null
rc=$?
set -e
[ "$rc" = 1 ] && grep -q '"reason":"unknown_symbol"' "$work/bad.txt" || fail "a rejected order: exit $rc, $(cat "$work/bad.txt")"

# replay: 100,000 ticks as fast as possible, one bad line; progress on stderr, summary on stdout.
python3 - "$work/ticks.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    ts = 1700000000000
    for i in range(100000):
        ts += i % 10 == 0
        f.write('{"type":"tick","symbol":"SYM%d","bid":"99.5","ask":"100.5","bid_size":"2","ask_size":"1","ts":%d}\n' % (i % 500, ts))
    f.write('{"type":"order","id":"bad-1","symbol":"NOPE","side":"buy","price":"1","qty":"1"}\n')
PY
"$cli" replay "$work/ticks.jsonl" --tcp "$tcp" --max >"$work/replay.txt" 2>"$work/progress.txt" || fail "replay exited $?"
grep -q "100001 messages sent" "$work/replay.txt" || fail "replay summary: $(cat "$work/replay.txt")"
grep -q "all answered" "$work/replay.txt" || fail "replay did not wait for the answers"
grep -q "unknown_symbol *1" "$work/replay.txt" || fail "rejects by reason missing: $(cat "$work/replay.txt")"
grep -q "100.0%  100001/100001" "$work/progress.txt" || fail "no final progress line: $(tr '\r' '\n' <"$work/progress.txt" | tail -2)"
grep -q "msg/s  ETA" "$work/progress.txt" || fail "progress without rate and ETA"
ticks=$(curl -s "http://$http/stats" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ticks"]["ticks_processed"])')
[ "$ticks" -ge 100000 ] || fail "the daemon processed $ticks ticks, want 100000"
# Recorded speed x N: 1,000 ticks over 100 ms of recorded time at x0.5 take at least 0.2 s.
head -1000 "$work/ticks.jsonl" >"$work/short.jsonl"
start=$(date +%s%N)
"$cli" replay "$work/short.jsonl" --tcp "$tcp" --speed 0.5 >/dev/null 2>&1 || fail "paced replay exited $?"
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed_ms" -ge 190 ] || fail "paced replay took $elapsed_ms ms, want >= 200 (recorded 100 ms at x0.5)"

# CSV (docs/matching.md) onto one instrument, tick and lot from the config.
"$cli" replay "$src/tests/bench/data/book_sample.csv" --tcp "$tcp" --config "$work/config.json" --symbol BTCUSDT --max \
  >"$work/csv.txt" 2>/dev/null || fail "CSV replay exited $?"
grep -q "^ack " "$work/csv.txt" || fail "CSV replay got no acks: $(cat "$work/csv.txt")"

# top: two refreshes, the second with rates.
"$cli" top --http "$http" --iterations 2 --interval-ms 200 >"$work/top.txt" || fail "top exited $?"
grep -q "orders/s" "$work/top.txt" || fail "top shows no rates: $(cat "$work/top.txt")"
echo "cli: ok"

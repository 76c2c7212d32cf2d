#!/usr/bin/env bash
# `make soak`: the full-size chaos soak and connection hold of issue 14 (items 4 and 6) with
# tradeshard-chaos against a fresh tradeshardd each (default config, ports 0, ledger in a temp dir).
# Prints the tables docs/benchmarks.md ("Chaos soak and 10,000 connections") records.
#   $1                build dir (default: build)
#   SOAK_SECONDS      length of each of the two soak rounds on one daemon (default 30: 60 s of chaos
#                     after a 7.5 s warm-up; the RSS after round 2 must be near the RSS after round 1)
#   SOAK_CONNECTIONS  chaos connections (default 1000)
#   HOLD_CONNECTIONS  held connections, canary included (default 10000)
#   HOLD_SECONDS      how long they are held (default 10)
#   CHAOS_ARGS        extra tradeshard-chaos arguments for both runs (e.g. bounds)
set -euo pipefail
build="${1:-build}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
seconds="${SOAK_SECONDS:-30}"
conns="${SOAK_CONNECTIONS:-1000}"
hold="${HOLD_CONNECTIONS:-10000}"
hold_s="${HOLD_SECONDS:-10}"
extra="${CHAOS_ARGS:-}"
daemon="$build/tradeshardd"
chaos="$build/tradeshard-chaos"
for b in "$daemon" "$chaos"; do [ -x "$b" ] || { echo "soak: $b is not built (make build)"; exit 1; }; done
work="$(mktemp -d /tmp/tradeshard-soak-XXXXXX)"
pid=""
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid"; wait "$pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

start_daemon() {  # $1: run name
  local dir="$work/$1"
  mkdir -p "$dir"
  python3 - "$root/config/tradeshard.json" "$dir" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = {"tcp": "127.0.0.1:0", "http": "127.0.0.1:0"}
c["ledger"]["data_dir"] = sys.argv[2] + "/ledger"
if "history" in c: c["history"].update(dir=sys.argv[2] + "/history", archive_dir=sys.argv[2] + "/history-archive")
json.dump(c, open(sys.argv[2] + "/config.json", "w"), indent=2)
PY
  "$daemon" --config "$dir/config.json" --ports-file "$dir/ports.json" 2> "$dir/daemon.log" &
  pid=$!
  for _ in $(seq 200); do [ -s "$dir/ports.json" ] && return 0; sleep 0.05; done
  echo "soak: the daemon did not start; log:"; cat "$dir/daemon.log"; exit 1
}

stop_daemon() {  # $1: run name; fails unless the daemon exits 0 on SIGTERM
  local rc=0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" || rc=$?
  pid=""
  if [ "$rc" -ne 0 ]; then echo "soak: FAIL: the daemon exited $rc on SIGTERM after the $1; log tail:"; tail -n 30 "$work/$1/daemon.log"; return 1; fi
}

echo "soak: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')); client and daemon share them"
echo "soak: commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown), $(date -u +%Y-%m-%dT%H:%M:%SZ)"
status=0
start_daemon soak
echo "soak: [1/2] tradeshard-chaos --soak $seconds --rounds 2 --connections $conns $extra"
# shellcheck disable=SC2086
"$chaos" --soak "$seconds" --rounds 2 --connections "$conns" --ports-file "$work/soak/ports.json" --pid "$pid" \
  --daemon-log "$work/soak/daemon.log" --json "$build/soak.json" $extra || status=1
if kill -0 "$pid" 2>/dev/null; then stop_daemon soak || status=1; else pid=""; fi
start_daemon hold
echo "soak: [2/2] tradeshard-chaos --hold $hold --hold-seconds $hold_s $extra"
# shellcheck disable=SC2086
"$chaos" --hold "$hold" --hold-seconds "$hold_s" --ports-file "$work/hold/ports.json" --pid "$pid" \
  --daemon-log "$work/hold/daemon.log" --json "$build/hold.json" $extra || status=1
if kill -0 "$pid" 2>/dev/null; then stop_daemon hold || status=1; else pid=""; fi
grep -h "open files limit" "$work"/*/daemon.log | head -n 1 | sed 's/^/soak: daemon log: /' || true
if [ "$status" -ne 0 ]; then echo "soak: FAILED (see above); JSON in $build/soak.json, $build/hold.json"; exit 1; fi
echo "soak: ok; JSON in $build/soak.json and $build/hold.json"

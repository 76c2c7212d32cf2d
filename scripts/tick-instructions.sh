#!/usr/bin/env bash
# Instructions per tick of the tick-ingest path, counted by valgrind's callgrind (deterministic,
# unlike wall-clock figures on a shared VM): each daemon given runs under callgrind on
# config/tradeshard.json while 300,000 seeded JSON ticks (the bench's shape: string prices and
# sizes, integer ts) arrive over one TCP connection; prints total instructions / ticks and the top
# functions. Use it for old/new A/B of the decoder: scripts/tick-instructions.sh OLD_BIN NEW_BIN
# With --orders first, the order path instead: 60,000 seeded orders and cancels (limit orders
# around a mid price from 8 accounts, so about half trade; a cancel of an earlier order every
# fifth message) over one TCP connection that reads its replies as they come; prints
# instructions per message: scripts/tick-instructions.sh --orders OLD_BIN NEW_BIN
# TICK_CONFIG=file uses that config instead of config/tradeshard.json (an A/B across a config
# change needs one both binaries accept).
# Needs valgrind (apt install valgrind) and python3; not part of `make test`.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
command -v valgrind >/dev/null || { echo "tick-instructions: valgrind is not installed"; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ticks=300000
what=tick
if [ "${1:-}" = "--orders" ]; then
  shift
  what=message
  ticks=60000
  python3 - "$work/ticks.txt" "$ticks" <<'PY'
import random, sys
random.seed(7)
n = int(sys.argv[2])
with open(sys.argv[1], "w") as f:
    for i in range(n):
        if i % 5 == 4 and i > 10:
            f.write('{"type":"cancel","id":"o%d","account":"a%d"}\n' % (i - 7, (i - 7) % 8))
            continue
        side = random.choice(("buy", "sell"))
        cents = 6500000 + random.randrange(-40, 41)
        f.write('{"type":"order","id":"o%d","account":"a%d","symbol":"BTCUSDT","side":"%s","price":"%d.%02d","qty":"0.%05d"}\n'
                % (i, i % 8, side, cents // 100, cents % 100, 1 + random.randrange(500)))
PY
else
python3 - "$work/ticks.txt" "$ticks" <<'PY'
import random, sys, time
random.seed(1)
syms = [("BTCUSDT", 6500000, 2), ("ETHUSDT", 345000, 2), ("SOLUSDT", 14500, 2)]
fx = lambda v, d: f"{v // 10**d}.{v % 10**d:0{d}d}"
ts = int(time.time() * 1000) - 600000  # recent, as a live feed: the history keeps them
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        n, mid, d = random.choice(syms)
        bid = mid + random.randrange(200) - 100
        ask = bid + 1 + random.randrange(20)
        ts += random.randrange(3)
        f.write('{"type":"tick","symbol":"%s","bid":"%s","ask":"%s","bid_size":"%s","ask_size":"%s","ts":%d}\n'
                % (n, fx(bid, d), fx(ask, d), fx(1 + random.randrange(5000), 3), fx(1 + random.randrange(5000), 3), ts))
PY
fi
for arg in "$@"; do
  bin="$(realpath "$arg")"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  run="$work/run"; rm -rf "$run"; mkdir -p "$run"
  python3 - "${TICK_CONFIG:-$root/config/tradeshard.json}" "$run/cfg.json" "$port" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["listen"] = {"tcp": f"127.0.0.1:{sys.argv[3]}", "http": "127.0.0.1:0"}
c.setdefault("ledger", {})["data_dir"] = sys.argv[2].rsplit("/", 1)[0] + "/ledger"
if "history" in c: c["history"].update(dir=sys.argv[2].rsplit("/", 1)[0] + "/history", archive_dir=sys.argv[2].rsplit("/", 1)[0] + "/history-archive")
json.dump(c, open(sys.argv[2], "w"))
PY
  (cd "$run" && exec valgrind --tool=callgrind --callgrind-out-file="$run/cg.out" "$bin" --config cfg.json >"$run/log" 2>&1) &
  pid=$!
  for _ in $(seq 150); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.2
  done
  python3 - "$port" "$work/ticks.txt" <<'PY'
import socket, sys, threading
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
def send():  # replies are read meanwhile: the daemon never sees a slow consumer
    s.sendall(open(sys.argv[2], "rb").read())
    s.sendall(b'{"type":"ping"}\n')
t = threading.Thread(target=send)
t.start()
tail = b""
while True:
    chunk = s.recv(1 << 20)
    if not chunk:
        break
    tail = (tail + chunk)[-64:]
    if b'"pong"' in tail:
        break
t.join()
s.settimeout(2.0)  # replies of orders still queued behind the pong (the pump runs after reads)
try:
    while s.recv(1 << 20):
        pass
except socket.timeout:
    pass
PY
  kill -TERM "$pid" 2>/dev/null; wait "$pid" || true
  [ -s "$run/cg.out" ] || { echo "tick-instructions: $bin produced no profile; its log:"; cat "$run/log"; exit 1; }
  total=$(callgrind_annotate "$run/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
  echo "== $bin: $total instructions, $(( total / ticks )) per $what ($ticks ${what}s, start-up included)"
  callgrind_annotate "$run/cg.out" 2>/dev/null | grep -E '^ *[0-9,]+ \(' | sed -n 2,9p | cut -c1-140
done

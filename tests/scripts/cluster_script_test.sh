#!/usr/bin/env bash
# scripts/cluster.sh: start writes cluster.json as docs/cluster.md says (etcd, nodes, gateways and
# replicas included), the replica follows the ledger (a fill reaches it; the leader lists it),
# kill -9 of the leading gateway: the standby serves within 3 s with the fill kept,
# /cluster's member ids are cluster.json's and registered in etcd (nodes found there too), an
# order crosses through the workers, a tick is processed in a node process, kill -9 of a worker
# and of a node process fail over and each new placement is in etcd, stop stops every process.
# $1 = built tradeshardd, $2 = source dir.
set -euo pipefail
bin="$1"; src="$2"
dir=$(mktemp -d); trap 'TRADESHARDD="$bin" bash "$src/scripts/cluster.sh" stop "$dir" >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
TRADESHARDD="$bin" bash "$src/scripts/cluster.sh" start "$dir" 2 >/dev/null
python3 - "$dir" <<'PY'
import json, socket, sys, time, urllib.request, os, signal
d = sys.argv[1]
c = json.load(open(f"{d}/cluster.json"))
assert set(c) == {"etcd", "gateway", "gateways", "workers", "nodes", "replicas"}, c
assert c["gateways"][0] == dict(id="gw-1", **c["gateway"]) and len(c["gateways"]) == 2, c
assert c["gateways"][1]["id"] == "gw-2" and c["gateways"][1]["http"].startswith("127.0.0.20:"), c
assert [r["id"] for r in c["replicas"]] == ["r-1"] and c["replicas"][0]["http"].startswith("127.0.0.11:"), c
assert [n["id"] for n in c["nodes"]] == ["node-1", "node-2"], c
assert all(n["addr"].startswith(f"127.0.0.{5 + i}:") for i, n in enumerate(c["nodes"])), c
assert c["etcd"].startswith("http://127.0.0.10:"), c
assert set(c["gateway"]) == {"pid", "tcp", "http"}, c
assert [w["id"] for w in c["workers"]] == ["worker-1", "worker-2"], c
assert all(w["addr"].startswith(f"127.0.0.{3 + i}:") for i, w in enumerate(c["workers"])), c
http = c["gateway"]["http"]
get = lambda p: json.load(urllib.request.urlopen(f"http://{http}{p}", timeout=5))
members = get("/cluster")["members"]
assert [m["id"] for m in members] == ["worker-1", "worker-2", "node-1", "node-2"], members
assert [m["role"] for m in members] == ["worker", "worker", "node", "node"], members
assert all(m["state"] == "up" for m in members), members
assert all(m["registered"] for m in members), members
import base64
def etcd_get(key):
    body = json.dumps({"key": base64.b64encode(key.encode()).decode()}).encode()
    r = json.load(urllib.request.urlopen(urllib.request.Request(c["etcd"] + "/v3/kv/range", data=body), timeout=5))
    return [json.loads(base64.b64decode(kv["value"])) for kv in r.get("kvs", [])]
placement = etcd_get("/tradeshard/assignments")[0]
assert placement["version"] == 1 and set(placement["hosts"]) == {"worker-1", "worker-2"}, placement
assert placement["nodes"] == ["node-1", "node-2"], placement
host, port = c["gateway"]["tcp"].split(":")
s = socket.create_connection((host, int(port)), timeout=5)
f = s.makefile("rw")
def send(o): f.write(json.dumps(o) + "\n"); f.flush()
def until(t, i):
    while True:
        m = json.loads(f.readline())
        if m.get("type") == t and m.get("id") == i: return m
send({"type": "order", "id": "s-1", "account": "a", "symbol": "BTCUSDT", "side": "sell", "price": "100", "qty": "1"})
until("ack", "s-1")
send({"type": "order", "id": "b-1", "account": "b", "symbol": "BTCUSDT", "side": "buy", "price": "100", "qty": "0.5"})
assert until("fill", "b-1")["price"] == "100.00"
rget = lambda p: json.load(urllib.request.urlopen(f"http://{c['replicas'][0]['http']}{p}", timeout=5))
deadline = time.time() + 3
while time.time() < deadline and rget("/stats")["ledger_follower"]["applied_version"] < 1: time.sleep(0.02)
assert rget("/accounts/b") == get("/accounts/b"), (rget("/accounts/b"), get("/accounts/b"))
deadline = time.time() + 3
while time.time() < deadline and not any(r["node_id"] == "r-1" and r["version"] == 1 for r in get("/replicas")["replicas"]):
    time.sleep(0.05)
assert [r["process"] for r in get("/replicas")["replicas"] if r["node_id"] == "r-1"] == ["replica"], get("/replicas")
assert rget("/leader")["id"] == "gw-1" and rget("/leader")["tcp"] == c["gateway"]["tcp"], rget("/leader")
get_b_positions = get("/accounts/b")["positions"]
send({"type": "tick", "symbol": "BTCUSDT", "bid": 100.0, "ask": 100.5, "bid_size": 1, "ask_size": 1})
deadline = time.time() + 3
while time.time() < deadline and sum(m.get("ticks", 0) for m in get("/cluster")["members"]) < 1: time.sleep(0.01)
assert sum(m.get("ticks", 0) for m in get("/cluster")["members"]) == 1, get("/cluster")  # processed in a node process
os.kill(c["workers"][0]["pid"], signal.SIGKILL)
deadline = time.time() + 3
while time.time() < deadline:
    cl = get("/cluster")
    if cl["members"][0]["state"] == "dead" and cl["failovers"] == 1: break
    time.sleep(0.01)
else:
    raise SystemExit(f"no failover: {cl}")
assert get("/book/BTCUSDT")["best_ask"] == "100.00"  # the rest of s-1 survived
deadline = time.time() + 3
while time.time() < deadline and etcd_get("/tradeshard/assignments")[0]["version"] < 2: time.sleep(0.01)
placement = etcd_get("/tradeshard/assignments")[0]
assert placement["version"] == 2 and set(placement["hosts"]) == {"worker-2"}, placement
os.kill(c["nodes"][0]["pid"], signal.SIGKILL)
deadline = time.time() + 3
while time.time() < deadline and etcd_get("/tradeshard/assignments")[0]["version"] < 3: time.sleep(0.01)
placement = etcd_get("/tradeshard/assignments")[0]
assert placement["version"] == 3 and placement["nodes"] == ["node-2", "node-2"], placement
assert set(placement["hosts"]) == {"worker-2"}, placement
# The leading gateway is lost: the standby takes over and serves within 3 s; the fill is kept.
os.kill(c["gateway"]["pid"], signal.SIGKILL)
killed = time.time()
g2 = c["gateways"][1]
host2, port2 = g2["tcp"].split(":")
served = None
while time.time() < killed + 10 and served is None:
    try:
        s2 = socket.create_connection((host2, int(port2)), timeout=1)
        f2 = s2.makefile("rw")
        f2.write(json.dumps({"type": "order", "id": "p-1", "account": "p", "symbol": "ETHUSDT", "side": "sell", "price": "3000", "qty": "1"}) + "\n"); f2.flush()
        while True:
            m = json.loads(f2.readline())
            if m.get("id") == "p-1" and m.get("type") == "ack": served = time.time() - killed; break
    except (OSError, ValueError):
        time.sleep(0.02)
assert served is not None and served <= (4.0 if os.environ.get("TRADESHARD_SANITIZED") else 3.0), (served, open(f"{d}/gateway-2.log").read()[-4000:])
g2get = lambda p: json.load(urllib.request.urlopen(f"http://{g2['http']}{p}", timeout=5))
assert g2get("/leader")["id"] == "gw-2", g2get("/leader")
assert g2get("/accounts/b")["positions"] == get_b_positions, (g2get("/accounts/b"), get_b_positions)
print(f"cluster.sh ok: failovers {cl['last_failover']}; gateway kill -9 -> the standby served after {served * 1000:.0f} ms")
PY
pids="$(cat "$dir/pids") $(cat "$dir/etcd.pid")"
TRADESHARDD="$bin" bash "$src/scripts/cluster.sh" stop "$dir" >/dev/null
for p in $pids; do
  if kill -0 "$p" 2>/dev/null; then echo "process $p still running after stop"; exit 1; fi
done
echo "cluster script ok"

#!/usr/bin/env bash
# A local tradeshard cluster on loopback (docs/cluster.md): etcd, a gateway, worker processes,
# node processes and ledger replicas, each on its own 127.0.0.x address, from config/tradeshard.json.
#
#   scripts/cluster.sh start DIR [WORKERS]   start (default 3 workers, a node process per
#                                            processing-node slot of the config: 2, REPLICAS
#                                            replica processes: 1, and STANDBY standby gateways:
#                                            1, at most 1); returns
#                                            once the leading gateway serves orders, every link is
#                                            up and the replicas and the standby follow
#   scripts/cluster.sh stop DIR              SIGTERM everything started in DIR (etcd last)
#
# DIR/cluster.json then says where everything is:
#   {"etcd":"http://…","gateway":{"pid","tcp","http"},"gateways":[{"id","pid","tcp","http"}],
#    "workers":[{"id","pid","addr"}],"nodes":[{"id","pid","addr"}],"replicas":[{"id","pid","http"}]}
# ("gateway" is the leader at start, gw-1; "gateways" lists every gateway, the leader included:
# gw-2 on 127.0.0.20 is a standby that takes over when gw-1 is lost; lease TTL 2 s.)
# Each process logs to DIR/<id>.log; configs are DIR/<id>.json; etcd's data is DIR/etcd.
# The workers register in etcd and the gateway finds them there (cluster.etcd). TRADESHARDD
# overrides the binary (default build/tradeshardd), ETCD etcd's (default: etcd on the PATH).
# The nodes register in etcd too; the gateway waits for all of them (cluster.min_nodes). The
# replicas and the standby follow the ledger's log in etcd. GATEWAY_LEDGER: JSON merged into the
# gateways' "ledger" section, e.g. '{"ack_after":"write"}'.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$(pwd)"
bin="${TRADESHARDD:-$root/build/tradeshardd}"

usage() { sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"
dir="$2"

stop_pids() {  # file: SIGTERM, up to 5 s, then SIGKILL
  [ -f "$1" ] || return 0
  while read -r pid; do kill -TERM "$pid" 2>/dev/null || true; done <"$1"
  for _ in $(seq 1 50); do
    alive=0
    while read -r pid; do kill -0 "$pid" 2>/dev/null && alive=1; done <"$1"
    [ "$alive" -eq 0 ] && break
    sleep 0.1
  done
  while read -r pid; do kill -KILL "$pid" 2>/dev/null || true; done <"$1"
  rm -f "$1"
}
stop() {
  [ -f "$dir/pids" ] || [ -f "$dir/etcd.pid" ] || { echo "cluster.sh: nothing started in $dir"; return 0; }
  stop_pids "$dir/pids"      # the gateway gives up its leader key, workers their member keys
  stop_pids "$dir/etcd.pid"
  echo "cluster.sh: stopped"
}

case "$cmd" in
  stop) stop; exit 0 ;;
  start) ;;
  *) usage ;;
esac

workers="${3:-3}"
replicas="${REPLICAS:-1}"
standby="${STANDBY:-1}"
etcd_bin="${ETCD:-$(command -v etcd || true)}"
[ -x "$bin" ] || { echo "cluster.sh: $bin not found (make build first, or set TRADESHARDD)"; exit 1; }
[ -n "$etcd_bin" ] && [ -x "$etcd_bin" ] || { echo "cluster.sh: etcd not found (scripts/install-deps.sh installs it, or set ETCD)"; exit 1; }
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
[ ! -f "$dir/pids" ] && [ ! -f "$dir/etcd.pid" ] || { echo "cluster.sh: a cluster is already running in $dir (stop it first)"; exit 1; }

# Configs: free ports picked now, one 127.0.0.x per process (the gateway on .2, workers from .3,
# then the nodes, etcd on .10).
python3 - "$root/config/tradeshard.json" "$dir" "$workers" "$replicas" <<'EOF'
import json, os, socket, sys
base, out, n, nrep = json.load(open(sys.argv[1])), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])

def free_port(ip):
    s = socket.socket()
    s.bind((ip, 0))
    port = s.getsockname()[1]
    s.close()
    return port

etcd = {"client": f"127.0.0.10:{free_port('127.0.0.10')}", "peer": f"127.0.0.10:{free_port('127.0.0.10')}"}
endpoints = [f"http://{etcd['client']}"]
peers = []
for i in range(n):
    ip = f"127.0.0.{3 + i}"
    wid = f"worker-{i + 1}"
    peers.append({"id": wid, "addr": f"{ip}:{free_port(ip)}"})
    cfg = dict(base)
    cfg["cluster"] = {"role": "worker", "id": wid, "link": peers[-1]["addr"], "etcd": endpoints}
    cfg["history"] = {"enabled": False}
    json.dump(cfg, open(f"{out}/{wid}.json", "w"), indent=2)
nodes = []
for i, _ in enumerate(base.get("partitioning", {}).get("nodes", [{"id": "node-1"}])):
    ip = f"127.0.0.{3 + n + i}"
    nid = f"node-{i + 1}"
    nodes.append({"id": nid, "addr": f"{ip}:{free_port(ip)}"})
    cfg = dict(base)
    cfg["cluster"] = {"role": "node", "id": nid, "link": nodes[-1]["addr"], "etcd": endpoints}
    cfg["history"] = {"enabled": False}
    json.dump(cfg, open(f"{out}/{nid}.json", "w"), indent=2)
gateways = []
for gid, ip, name in (("gw-1", "127.0.0.2", "gateway"), ("gw-2", "127.0.0.20", "gateway-2")):
    gw = dict(base)
    gw["listen"] = {"tcp": f"{ip}:{free_port(ip)}", "http": f"{ip}:{free_port(ip)}"}
    gw["cluster"] = {"role": "gateway", "id": gid, "etcd": endpoints, "min_nodes": len(nodes), "lease_ttl_s": 2}
    gw["ledger"] = dict(base.get("ledger", {}), data_dir=f"{out}/{name}/ledger")
    gw["ledger"].update(json.loads(os.environ.get("GATEWAY_LEDGER", "{}")))
    gw["history"] = dict(base.get("history", {}), dir=f"{out}/{name}/history", archive_dir=f"{out}/{name}/history-archive")
    json.dump(gw, open(f"{out}/{name}.json", "w"), indent=2)
    gateways.append(dict(id=gid, file=name, **gw["listen"]))
gw = json.load(open(f"{out}/gateway.json"))
replicas = []
for i in range(nrep):  # replicas from 127.0.0.11
    ip = f"127.0.0.{11 + i}"
    rid = f"r-{i + 1}"
    cfg = dict(base)
    cfg["listen"] = {"tcp": f"{ip}:{free_port(ip)}", "http": f"{ip}:{free_port(ip)}"}  # tcp: not opened
    cfg["cluster"] = {"role": "replica", "id": rid, "etcd": endpoints}
    cfg["history"] = {"enabled": False}
    cfg.pop("feeds", None)
    replicas.append({"id": rid, "http": cfg["listen"]["http"]})
    json.dump(cfg, open(f"{out}/{rid}.json", "w"), indent=2)
json.dump({"etcd": etcd, "workers": peers, "nodes": nodes, "gateway": gw["listen"], "gateways": gateways,
           "replicas": replicas}, open(f"{out}/plan.json", "w"))
EOF
plan() { python3 -c 'import json,sys; p=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"p": p}))' "$dir/plan.json" "$1"; }

etcd_client="$(plan 'p["etcd"]["client"]')"
etcd_peer="$(plan 'p["etcd"]["peer"]')"
"$etcd_bin" --name e1 --data-dir "$dir/etcd" \
  --listen-client-urls "http://$etcd_client" --advertise-client-urls "http://$etcd_client" \
  --listen-peer-urls "http://$etcd_peer" --initial-advertise-peer-urls "http://$etcd_peer" \
  --initial-cluster "e1=http://$etcd_peer" --initial-cluster-state new \
  --auto-compaction-mode periodic --auto-compaction-retention 1m >/dev/null 2>"$dir/etcd.log" &
echo $! >"$dir/etcd.pid"
for _ in $(seq 1 200); do
  curl -sf "http://$etcd_client/health" 2>/dev/null | grep -q '"true"' && break
  sleep 0.05
done
curl -sf "http://$etcd_client/health" 2>/dev/null | grep -q '"true"' || { echo "cluster.sh: etcd did not start; its log:"; cat "$dir/etcd.log"; stop; exit 1; }

: >"$dir/pids"
start_process() {  # id, role
  "$bin" --role "$2" --config "$dir/$1.json" --ports-file "$dir/$1.ports" >/dev/null 2>"$dir/$1.log" &
  echo $! >>"$dir/pids"
  echo $!
}
wait_ports() {  # id
  for _ in $(seq 1 200); do
    [ -s "$dir/$1.ports" ] && return 0
    sleep 0.05
  done
  echo "cluster.sh: $1 did not start; its log:"; cat "$dir/$1.log"; stop; exit 1
}

worker_pids=()
for i in $(seq 1 "$workers"); do
  worker_pids+=("$(start_process "worker-$i" worker)")
done
node_ids=($(plan '" ".join(n["id"] for n in p["nodes"])'))
node_pids=()
for id in "${node_ids[@]}"; do node_pids+=("$(start_process "$id" node)"); done
for i in $(seq 1 "$workers"); do wait_ports "worker-$i"; done
for id in "${node_ids[@]}"; do wait_ports "$id"; done
wait_leading() {  # id: its ports file says it leads (a gateway on etcd is a standby until it wins)
  for _ in $(seq 1 400); do
    python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])).get("role") == "gateway" else 1)' "$dir/$1.ports" 2>/dev/null && return 0
    sleep 0.05
  done
  echo "cluster.sh: $1 did not take the lead; its log:"; cat "$dir/$1.log"; stop; exit 1
}
gw_pid="$(start_process gateway gateway)"
wait_leading gateway
gw2_pid=""
if [ "$standby" -gt 0 ]; then
  gw2_pid="$(start_process gateway-2 gateway)"
  wait_ports gateway-2
fi
replica_ids=($(plan '" ".join(r["id"] for r in p["replicas"])'))
replica_pids=()
for id in "${replica_ids[@]}"; do replica_pids+=("$(start_process "$id" replica)"); done
for id in "${replica_ids[@]}"; do wait_ports "$id"; done

http="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["http"])' "$dir/plan.json")"
for _ in $(seq 1 200); do
  if curl -sf "http://$http/cluster" 2>/dev/null | python3 -c '
import json, sys
c = json.load(sys.stdin)
sys.exit(0 if c["members"] and all(m["state"] == "up" for m in c["members"]) else 1)'; then
    break
  fi
  sleep 0.05
done
followers="$(plan '" ".join(r["http"] for r in p["replicas"])')"
[ -n "$gw2_pid" ] && followers="$followers $(plan 'p["gateways"][1]["http"]')"
for rhttp in $followers; do
  # following: bootstrapped from etcd and watching (the replicas and the standby)
  for _ in $(seq 1 200); do
    curl -sf "http://$rhttp/stats" 2>/dev/null | python3 -c 'import json,sys; sys.exit(0 if json.load(sys.stdin)["ledger_follower"]["watching"] else 1)' && break
    sleep 0.05
  done
done

python3 - "$dir" "$gw_pid $gw2_pid" "${node_pids[*]}" "${replica_pids[*]}" "${worker_pids[@]}" <<'EOF'
import json, sys
out, pids = sys.argv[1], [int(p) for p in sys.argv[5:]]
gpids = [int(p) for p in sys.argv[2].split()]
npids = [int(p) for p in sys.argv[3].split()]
rpids = [int(p) for p in sys.argv[4].split()]
plan = json.load(open(f"{out}/plan.json"))
gateways = [{"id": g["id"], "pid": pid, "tcp": g["tcp"], "http": g["http"]} for g, pid in zip(plan["gateways"], gpids)]
cluster = {
    "etcd": f"http://{plan['etcd']['client']}",
    "gateway": {k: v for k, v in gateways[0].items() if k != "id"},
    "gateways": gateways,
    "workers": [{"id": w["id"], "pid": pid, "addr": w["addr"]} for w, pid in zip(plan["workers"], pids)],
    "nodes": [{"id": n["id"], "pid": pid, "addr": n["addr"]} for n, pid in zip(plan["nodes"], npids)],
    "replicas": [{"id": r["id"], "pid": pid, "http": r["http"]} for r, pid in zip(plan["replicas"], rpids)],
}
json.dump(cluster, open(f"{out}/cluster.json", "w"), indent=2)
print(json.dumps(cluster))
EOF
curl -sf "http://$http/cluster" >/dev/null || { echo "cluster.sh: the gateway does not answer; see $dir/gateway.log"; stop; exit 1; }
echo "cluster.sh: gateway on $http (HTTP), $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gateway"]["tcp"])' "$dir/plan.json") (TCP); $standby standby gateway(s); $workers workers, ${#node_ids[@]} nodes, ${#replica_ids[@]} replicas"

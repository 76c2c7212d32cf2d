#!/usr/bin/env bash
# `make bench` step: tick ingest over TCP with the market-data history on (config/tradeshard.json)
# against the same config with history off, alternating on/off/on/off in one run (the machine is
# shared and noisy: each figure also has its read-and-discard baseline beside it).
#   $1 build dir (default: build); ROUNDS (default 2)
set -euo pipefail
build="${1:-build}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
rounds="${ROUNDS:-2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
python3 - "$root/config/tradeshard.json" "$work/off.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c.setdefault("history", {})["enabled"] = False
json.dump(c, open(sys.argv[2], "w"), indent=2)
PY
for r in $(seq 1 "$rounds"); do
  for mode in on off; do
    cfg="$root/config/tradeshard.json"; [ "$mode" = off ] && cfg="$work/off.json"
    "$build/tradeshard-bench" --suite quick --only ticks --config-base "$cfg" --json "$work/$mode-$r.json" > "$work/$mode-$r.txt" 2>&1 ||
      { cat "$work/$mode-$r.txt"; exit 1; }
  done
done
python3 - "$work" "$rounds" <<'PY'
import json, sys, statistics
work, rounds = sys.argv[1], int(sys.argv[2])
def tcp(mode, r):
    j = json.load(open(f"{work}/{mode}-{r}.json"))
    for k in ("results", "steps"):
        if k in j: j = j[k]
    def find(o):
        if isinstance(o, dict):
            if "ticks_per_s" in o and "discard_ticks_per_s" in o: return o
            for v in o.values():
                f = find(v)
                if f: return f
        return None
    return find(j)
on = [tcp("on", r) for r in range(1, rounds + 1)]
off = [tcp("off", r) for r in range(1, rounds + 1)]
on_t = statistics.median(x["ticks_per_s"] for x in on)
off_t = statistics.median(x["ticks_per_s"] for x in off)
on_d = statistics.median(x["discard_ticks_per_s"] for x in on)
off_d = statistics.median(x["discard_ticks_per_s"] for x in off)
print(f"history on:  {on_t:,.0f} ticks/s over TCP (discard baseline {on_d:,.0f}/s, ratio {on_t/on_d:.2f})")
print(f"history off: {off_t:,.0f} ticks/s over TCP (discard baseline {off_d:,.0f}/s, ratio {off_t/off_d:.2f})")
print(json.dumps({"bench": "history_ingest", "rounds": rounds, "on_ticks_per_s": round(on_t), "off_ticks_per_s": round(off_t),
                  "on_over_off": round(on_t / off_t, 3), "on_discard_per_s": round(on_d), "off_discard_per_s": round(off_d)}))
PY

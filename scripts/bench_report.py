#!/usr/bin/env python3
"""Regenerates the tables of docs/benchmarks.md between the GENERATED markers from the
end-to-end JSON (tradeshard-bench --json) and the component benchmarks' last-line JSON."""
import argparse
import glob
import json
import os
import sys

BEGIN, END = "<!-- BEGIN GENERATED -->", "<!-- END GENERATED -->"


def lat(row, name, d):
    return f"| {name} | {d['p50']} | {d['p90']} | {d['p99']} | {d['p999']} | {d['max']} | {d['count']} |"


def ratio(a, b):
    return f"{a / b:.2f}" if b else "n/a"


def e2e_tables(r):
    env = (f"Commit `{r['commit']}`, {r['date']}, {r['nproc']} CPUs ({r['cpu_model']}), suite `{r['suite']}`"
           f"{' --only ' + r['only'] if 'only' in r else ''} ({r['duration_s']:.0f} s). Placement: client on CPU {r['placement']['client_cpu']}, daemon and "
           f"baselines on CPU {r['placement']['server_cpu']} (same CPU: {r['placement']['same_cpu']}).")
    out = [env]
    if "order_rtt_us" in r:
        out += round_trip_table(r)
    out += tick_table(r)
    out += targets_table(r)
    return out


def round_trip_table(r):
    out = ["", "### Round trips (µs; closed loop, 1 connection, 1 in flight)", "",
           "| measurement | p50 | p90 | p99 | p99.9 | max | samples |", "|---|---|---|---|---|---|---|",
           lat(None, "order submit → ack (daemon)", r["order_rtt_us"]),
           lat(None, "order submit → taker fill (daemon)", r["order_fill_us"]),
           lat(None, "same line via echo baseline", r["echo_rtt_us"])]
    if "ping_rtt_us" in r:
        out.append(lat(None, "ping → pong (daemon)", r["ping_rtt_us"]))
    ol = r.get("open_loop")
    if ol:
        out.append(lat(None, f"order → ack, open loop {ol['rate_per_s']:.0f}/s", ol["order_rtt_us"]))
        out.append(lat(None, f"echo, open loop {ol['rate_per_s']:.0f}/s", ol["echo_rtt_us"]))
        if "echo_wal_rtt_us" in ol:
            out.append(lat(None, f"echo behind the log (flush every {ol['fsync_interval_ms']} ms), open loop "
                                 f"{ol['rate_per_s']:.0f}/s", ol["echo_wal_rtt_us"]))
    for key, label in (("same_cpu", "same CPU"), ("connections_4", "4 connections"), ("websocket", "WebSocket")):
        if key in r and "order_rtt_us" in r[key]:
            out.append(lat(None, f"order → ack, {label}", r[key]["order_rtt_us"]))
            if "echo_rtt_us" in r[key]:
                out.append(lat(None, f"echo, {label}", r[key]["echo_rtt_us"]))
    if "open_loop_high" in r:
        h = r["open_loop_high"]
        out.append(lat(None, f"order → ack, open loop {h['rate_per_s']:.0f}/s", h["order_rtt_us"]))
        out.append(lat(None, f"echo, open loop {h['rate_per_s']:.0f}/s", h["echo_rtt_us"]))
        if "echo_wal_rtt_us" in h:
            out.append(lat(None, f"echo behind the log, open loop {h['rate_per_s']:.0f}/s", h["echo_wal_rtt_us"]))
    return out


def tick_table(r):
    out = ["", "### Tick ingest (JSON ticks/s, one connection unless noted)", "",
            "| measurement | daemon | discard baseline | ratio |", "|---|---|---|---|",
            f"| TCP, different CPUs | {r['ticks_per_s']:.0f} | {r['discard_ticks_per_s']:.0f} | "
            f"{ratio(r['ticks_per_s'], r['discard_ticks_per_s'])} |"]
    for key, label in (("same_cpu", "TCP, same CPU"), ("connections_4", "TCP, 4 connections")):
        if key in r:
            out.append(f"| {label} | {r[key]['ticks_per_s']:.0f} | {r[key]['discard_ticks_per_s']:.0f} | "
                       f"{ratio(r[key]['ticks_per_s'], r[key]['discard_ticks_per_s'])} |")
    # WebSocket rows: the baseline is plain Beast reading and dropping the same frames.
    placements = [("different CPUs", r)] + ([("same CPU", r["same_cpu"])] if "same_cpu" in r else [])
    for label, w in placements:
        if "ws_ticks_per_s" in w:
            out.append(f"| WebSocket, {label} (baseline: plain Beast discard) | {w['ws_ticks_per_s']:.0f} | "
                       f"{w['ws_beast_discard_ticks_per_s']:.0f} | "
                       f"{ratio(w['ws_ticks_per_s'], w['ws_beast_discard_ticks_per_s'])} |")
    out += floor_table(r)
    t = r["ticks"]
    cpu = f"Daemon CPU: {t['daemon_cpu_ns_per_tick']:.0f} ns per tick over TCP"
    if "ws_ticks" in r:
        cpu += f", {r['ws_ticks']['daemon_cpu_ns_per_tick']:.0f} ns per tick over WebSocket"
    cpu += f"; {r['daemon_cpu_s']['total']:.2f} s over the whole suite."
    if "orders" in r:
        cpu += (f" Orders: {r['orders']['orders_sent']} sent, {r['orders']['rejects']} rejected "
                f"({', '.join(f'{k}: {v}' for k, v in r['orders']['reject_reasons'].items()) or 'none'}), "
                f"{r['orders']['fills']} fills, {r['orders']['timeouts']} timeouts.")
    return out + ["", cpu]


def floor_table(r):
    """The parse-only floor: the discard server plus one simdjson pass over every line."""
    placements = [("different CPUs", r)] + ([("same CPU", r["same_cpu"])] if "same_cpu" in r else [])
    rows = [(label, p) for label, p in placements if "parse_floor_ticks_per_s" in p]
    if not rows:
        return []
    out = ["", "Parse-only floor (TCP, one connection): the discard server plus one simdjson On-Demand pass "
           "over every line, no conversion, routing or processing.", "",
           "| placement | daemon | parse-only floor | discard | daemon / floor | floor / discard |",
           "|---|---|---|---|---|---|"]
    for label, p in rows:
        out.append(f"| {label} | {p['ticks_per_s']:.0f} | {p['parse_floor_ticks_per_s']:.0f} | "
                   f"{p['discard_ticks_per_s']:.0f} | {ratio(p['ticks_per_s'], p['parse_floor_ticks_per_s'])} | "
                   f"{ratio(p['parse_floor_ticks_per_s'], p['discard_ticks_per_s'])} |")
    return out


def targets_table(r):
    out = ["", "### Targets (issue 7)", "", "| target | value | limit | met |", "|---|---|---|---|"]
    for name, v in r["targets"].items():
        if name == "all_ok":
            continue
        out.append(f"| {name} | {v['value']} | {v['rule'].replace('value ', '').replace(' limit', '')} "
                   f"{v['limit']} | {'yes' if v['ok'] else '**no**'} |")
    return out


def component_tables(results_dir):
    out = ["", "### Component benchmarks (last JSON line of each)", "", "| benchmark | figures |", "|---|---|"]
    for path in sorted(glob.glob(os.path.join(results_dir, "tradeshard-bench-*.txt"))):
        name = os.path.basename(path)[:-4]
        lines = [l for l in open(path, encoding="utf-8", errors="replace").read().splitlines() if l.startswith("{")]
        if not lines:
            out.append(f"| {name} | (no JSON line) |")
            continue
        try:
            data = json.loads(lines[-1])
        except json.JSONDecodeError:
            out.append(f"| {name} | (unparsable JSON line) |")
            continue
        flat = json.dumps(data, separators=(", ", ": "))
        out.append(f"| {name} | `{flat[:600]}{'…' if len(flat) > 600 else ''}` |")
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--doc", required=True)
    a = ap.parse_args()
    report = json.load(open(a.json, encoding="utf-8"))
    body = "\n".join(e2e_tables(report) + component_tables(a.results))
    doc = open(a.doc, encoding="utf-8").read() if os.path.exists(a.doc) else f"# Benchmarks\n\n{BEGIN}\n{END}\n"
    if BEGIN not in doc or END not in doc or doc.index(BEGIN) > doc.index(END):
        sys.exit(f"bench_report: {a.doc} lacks the {BEGIN} / {END} markers")
    head, rest = doc.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    with open(a.doc, "w", encoding="utf-8") as f:
        f.write(f"{head}{BEGIN}\n{body}\n{END}{tail}")
    print(f"bench_report: updated {a.doc}")


if __name__ == "__main__":
    main()

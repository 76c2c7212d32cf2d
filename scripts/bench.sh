#!/usr/bin/env bash
# `make bench`: every component benchmark (build/tradeshard-bench-*), then the end-to-end suite
# (tradeshard-bench --suite full), tick ingest with the history on vs off
# (scripts/bench-history-ingest.sh), the order path through worker processes
# (scripts/bench-cluster.sh), then the generated tables of docs/benchmarks.md.
# One progress line per step. Budget: 5 minutes in total.
#   $1                  build dir (default: build)
#   BENCH_COMPONENT_ARGS  extra args for the component benches (e.g. --quick when short of time)
#   BENCH_SUITE           end-to-end suite (default: full; quick for a short run)
set -euo pipefail
build="${1:-build}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
suite="${BENCH_SUITE:-full}"
component_args="${BENCH_COMPONENT_ARGS:-}"
shopt -s nullglob
benches=("$build"/tradeshard-bench-*)
[ -x "$build/tradeshard-bench" ] || { echo "bench: $build/tradeshard-bench is not built (make build)"; exit 1; }
[ ${#benches[@]} -gt 0 ] || echo "bench: no component benchmarks built in $build (continuing with end-to-end)"
results="$build/bench-results"
mkdir -p "$results"
total=$(( ${#benches[@]} + 4 ))
i=0
started=$(date +%s)
for b in "${benches[@]}"; do
  i=$((i + 1))
  name=$(basename "$b")
  echo "bench [$i/$total] $name $component_args (elapsed $(( $(date +%s) - started )) s)"
  # shellcheck disable=SC2086
  "$b" $component_args > "$results/$name.txt" 2>&1 || { echo "bench: $name failed; output in $results/$name.txt"; exit 1; }
  tail -n 1 "$results/$name.txt" | cut -c1-160
done
i=$((i + 1))
echo "bench [$i/$total] tradeshard-bench --suite $suite (elapsed $(( $(date +%s) - started )) s)"
"$build/tradeshard-bench" --suite "$suite" --json "$build/bench.json" | tee "$results/tradeshard-bench.txt"
i=$((i + 1))
echo "bench [$i/$total] history on vs off, tick ingest over TCP (elapsed $(( $(date +%s) - started )) s)"
bash "$root/scripts/bench-history-ingest.sh" "$build" | tee "$results/history-ingest.txt"
i=$((i + 1))
echo "bench [$i/$total] order path through worker processes vs embedded and echo (elapsed $(( $(date +%s) - started )) s)"
bash "$root/scripts/bench-cluster.sh" "$build" 5 | tee "$results/cluster.txt"
i=$((i + 1))
echo "bench [$i/$total] docs/benchmarks.md tables (elapsed $(( $(date +%s) - started )) s)"
python3 "$root/scripts/bench_report.py" --json "$build/bench.json" --results "$results" --doc "$root/docs/benchmarks.md"
echo "bench: done in $(( $(date +%s) - started )) s; JSON in $build/bench.json"

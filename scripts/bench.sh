#!/usr/bin/env bash
# Runs every component benchmark built into $1 (tradeshard-bench-*), printing a progress line each.
set -euo pipefail
build="${1:-build}"
shopt -s nullglob
benches=("$build"/tradeshard-bench-*)
[ ${#benches[@]} -gt 0 ] || { echo "bench: no benchmarks built in $build"; exit 1; }
mkdir -p "$build/bench-results"
i=0
for b in "${benches[@]}"; do
  i=$((i + 1))
  name=$(basename "$b")
  echo "bench [$i/${#benches[@]}] $name"
  "$b" | tee "$build/bench-results/$name.txt"
done

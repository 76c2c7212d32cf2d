#!/usr/bin/env bash
# Ensure the units pass `systemd-analyze verify` and score <= 2.0 on `systemd-analyze security`.
# $1 = built tradeshardd, $2 = source dir.
set -euo pipefail
bin="$1"; src="$2"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# verify needs ExecStart's binary to exist: point the units at the built one. The worker and node
# templates are checked as instances (tradeshard-worker@1.service, tradeshard-node@1.service,
# tradeshard-replica@1.service).
check_unit() {
  local unit="$1" name="$2"
  sed -e "s|/usr/local/bin/tradeshardd|$bin|g" \
      -e "s|/usr/local/etc/tradeshard/tradeshard.json|$src/config/tradeshard.json|g" \
      -e "s|/usr/local/etc/tradeshard/worker-%i.json|$src/config/tradeshard.json|g" \
      -e "s|/usr/local/etc/tradeshard/node-%i.json|$src/config/tradeshard.json|g" \
    "$src/systemd/$unit" > "$tmp/$name"
  out=$(systemd-analyze verify "$tmp/$name" 2>&1) || { echo "$name: verify failed:"; echo "$out"; exit 1; }
  # Ignore the lines that concern the host's other units; anything about ours is a failure.
  ours=$(echo "$out" | grep -iF "$name" || true)
  if [ -n "$ours" ]; then echo "$name: verify warnings:"; echo "$ours"; exit 1; fi
  sec=$(systemd-analyze security --offline=true "$tmp/$name" 2>&1) || true
  score=$(echo "$sec" | grep -oE "Overall exposure level for $name: [0-9.]+" | grep -oE "[0-9.]+$")
  echo "$name exposure: $score"
  [ -n "$score" ] || { echo "$name: no exposure score:"; echo "$sec"; exit 1; }
  awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "$sec" | grep -E "✗" | head -30; echo "$name: exposure $score > 2.0"; exit 1; }
}
check_unit tradeshard.service tradeshard.service
check_unit tradeshard-worker@.service tradeshard-worker@1.service
check_unit tradeshard-node@.service tradeshard-node@1.service
check_unit tradeshard-replica@.service tradeshard-replica@1.service
echo "systemd units ok"

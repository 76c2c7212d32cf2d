#!/usr/bin/env bash
# Ensure the unit passes `systemd-analyze verify` and scores <= 2.0 on `systemd-analyze security`.
# $1 = built tradeshardd, $2 = source dir.
set -euo pipefail
bin="$1"; src="$2"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# verify needs ExecStart's binary to exist: point the unit at the built one.
sed -e "s|/usr/local/bin/tradeshardd|$bin|g" -e "s|/usr/local/etc/tradeshard/tradeshard.json|$src/config/tradeshard.json|g" \
  "$src/systemd/tradeshard.service" > "$tmp/tradeshard.service"
out=$(systemd-analyze verify "$tmp/tradeshard.service" 2>&1) || { echo "verify failed:"; echo "$out"; exit 1; }
# Ignore the lines that concern the host's other units; anything about ours is a failure.
ours=$(echo "$out" | grep -i "tradeshard.service" || true)
if [ -n "$ours" ]; then echo "verify warnings:"; echo "$ours"; exit 1; fi
sec=$(systemd-analyze security --offline=true "$tmp/tradeshard.service" 2>&1) || true
score=$(echo "$sec" | grep -oE "Overall exposure level for tradeshard.service: [0-9.]+" | grep -oE "[0-9.]+$")
echo "exposure: $score"
[ -n "$score" ] || { echo "no exposure score:"; echo "$sec"; exit 1; }
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "$sec" | grep -E "✗" | head -30; echo "exposure $score > 2.0"; exit 1; }
echo "systemd unit ok"

#!/usr/bin/env bash
# Installs everything tradeshard builds and tests with, from Debian 12's packages.
# Idempotent: when every package is present it only checks (about a second) and exits.
set -euo pipefail

PKGS=(
  g++ cmake ninja-build ccache make pkg-config
  libboost-dev libboost-system-dev libssl-dev
  nlohmann-json3-dev libspdlog-dev libfmt-dev doctest-dev
  libsimdjson-dev libxxhash-dev
  librocksdb-dev  # market-data history (include/tradeshard/history, docs/history.md)
  etcd-server etcd-client  # cluster mode's coordinator, started by the tests on loopback (docs/cluster.md)
  systemd python3 curl netcat-openbsd openssl
  clang libclang-rt-14-dev  # make fuzz: clang 14 and its libFuzzer runtime (libclang_rt.fuzzer)
  chromium fonts-dejavu-core  # the dashboard's browser test (tests/browser, headless)
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Node.js and npm: the dashboard's chart library (uPlot, src/web) and the browser test's DevTools
# client (puppeteer-core, tests/browser). Debian's packages unless the machine already has npm.
if ! command -v npm >/dev/null 2>&1; then
  echo "install-deps: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
here_dir="$(cd "$(dirname "$0")/.." && pwd)"
# npm ci from the lock files, again only when a lock file is newer than what is installed.
for dir in src/web tests/browser; do
  if [ -f "$here_dir/$dir/package-lock.json" ] &&
     { [ ! -f "$here_dir/$dir/node_modules/.package-lock.json" ] ||
       [ "$here_dir/$dir/package-lock.json" -nt "$here_dir/$dir/node_modules/.package-lock.json" ]; }; then
    echo "install-deps: npm ci in $dir"
    (cd "$here_dir/$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
done

# promtool (from Debian's prometheus package) checks the /metrics exposition in tests.
# Unpacked into a project-local folder rather than installed, so no Prometheus server is set up.
here="$(cd "$(dirname "$0")/.." && pwd)"
tools="$here/build/tools"
if [ ! -x "$tools/promtool" ]; then
  mkdir -p "$tools/deb"
  if ! ls "$tools"/deb/prometheus_*.deb >/dev/null 2>&1; then
    # Stale or missing package lists make the download fail: refresh them once and retry.
    if ! (cd "$tools/deb" && apt-get download prometheus >/dev/null 2>&1); then
      $SUDO apt-get update -qq
      (cd "$tools/deb" && apt-get download prometheus >/dev/null)
    fi
  fi
  dpkg-deb -x "$tools"/deb/prometheus_*.deb "$tools/deb/x"
  cp "$tools/deb/x/usr/bin/promtool" "$tools/promtool"
  rm -rf "$tools/deb/x"
fi

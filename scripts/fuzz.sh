#!/usr/bin/env bash
# `make fuzz`: builds the libFuzzer targets of tests/fuzz (clang, ASan+UBSan) in their own build
# directory and runs each for FUZZ_SECONDS, one after the other, on a scratch copy of its seed
# corpus (the committed corpus never grows). Prints one line per target: executions, executions
# per second, and 0 or the paths of its crash / leak / timeout / OOM artifacts. Exits non-zero if
# any target failed.
#
#   FUZZ_SECONDS  seconds per target (default 60); with FUZZ_RUNS, the cap
#   FUZZ_RUNS     stop a target after this many executions (default: none, time only)
#   FUZZ_PARALLEL targets run at once (default 1); each is one libFuzzer process on one core
#   FUZZ_TARGETS  which targets (default: all: decoder websocket http config wal history etcd link)
#   FUZZ_BUILD    build directory (default build-fuzz)
#   JOBS          parallel compile jobs (default nproc)
#   FUZZ_ARGS     extra libFuzzer flags for every target (e.g. -jobs=2, -dict=...)
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
build="${FUZZ_BUILD:-build-fuzz}"
jobs="${JOBS:-$(nproc)}"
targets=(${FUZZ_TARGETS:-decoder websocket http config wal history etcd link})

# -max_len per target: long enough for what the target parses, short enough to stay fast.
#  decoder:   a lines-mode run over more than one 8 KiB pass
#  websocket: a burst of frames, a few messages of a few KiB
#  http:      past the 16 KiB header limit (431) with pipelined requests
#  config:    a config of a few dozen instruments/workers
#  wal:       a snapshot and a few dozen change sets
#  history:   a chunk of a few hundred rows
#  etcd:      an etcd answer or a few watch messages
#  link:      a stream of a few dozen link frames (a RESULT of 64 events is 4 KiB)
max_len() {
  case "$1" in
    decoder) echo 20000 ;;
    websocket) echo 16384 ;;
    http) echo 20000 ;;
    config) echo 8192 ;;
    wal) echo 8192 ;;
    etcd) echo 8192 ;;
    link) echo 16384 ;;
    *) echo 4096 ;;
  esac
}

if [ ! -f "$build/build.ninja" ]; then
  cmake -S . -B "$build" -G Ninja -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -g" -DTRADESHARD_FUZZ=ON
fi
cmake --build "$build" -j"$jobs" --target "${targets[@]/#/fuzz_}"

# A 64 MiB quarantine instead of ASan's 256: freed memory is reused sooner, so far fewer fresh
# pages are faulted in per execution (the decoder target ran 2.5k -> 4.3k execs/s); a
# use-after-free within an input is still caught (one input frees far less than 64 MiB).
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:quarantine_size_mb=64}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
runs="${FUZZ_RUNS:-}"
parallel="${FUZZ_PARALLEL:-1}"

# One target: a scratch corpus, the run, then its summary line in $work/summary.
run_target() {
  local t="$1" work="$build/fuzz/$1" rc=0
  local artifacts_dir
  artifacts_dir="$(pwd)/$work/artifacts/"
  rm -rf "$work"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp tests/fuzz/corpus/"$t"/* "$work/corpus/"
  echo "fuzz: $t for ${seconds}s${runs:+ or $runs execs} (max_len $(max_len "$t")), log in $work/fuzz.log"
  # Run from the work directory: a target's scratch files (wal when /dev/shm is missing) land there.
  (cd "$work" && exec "../../fuzz_$t" -max_total_time="$seconds" ${runs:+-runs="$runs"} -max_len="$(max_len "$t")" \
      -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$artifacts_dir" ${FUZZ_ARGS:-} corpus) \
      >"$work/fuzz.log" 2>&1 || rc=$?
  local execs rate artifacts result=0
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/fuzz.log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$work/fuzz.log" | tail -1)
  # slow-unit-* files only record an input that took over 10 s (on a loaded machine, scheduling
  # alone can do that); a hang is a timeout-* (-timeout=25) and fails the run.
  artifacts=$(find "$work/artifacts" -type f ! -name 'slow-unit-*' | sort | tr '\n' ' ')
  if [ -n "$artifacts" ]; then
    result="$artifacts"
  elif [ "$rc" -ne 0 ]; then
    result="exit $rc (see $work/fuzz.log)"
  fi
  printf '%-10s %12s execs %8s execs/s  crashes/leaks: %s\n' "$t" "${execs:-?}" "${rate:-?}" "$result" >"$work/summary"
}

running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  run_target "$t" &
  running=$((running + 1))
done
wait

summary=()
failed=0
for t in "${targets[@]}"; do
  line="$(cat "$build/fuzz/$t/summary" 2>/dev/null || echo "$t: no summary (the run did not finish)")"
  summary+=("$line")
  case "$line" in *"crashes/leaks: 0") ;; *) failed=1 ;; esac
done

echo "fuzz: ${seconds}s per target${runs:+ (or $runs execs)}, $parallel at a time"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz: FAILED (reproduce: $build/fuzz_<target> <artifact>)" >&2
  exit 1
fi

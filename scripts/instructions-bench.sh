#!/usr/bin/env bash
# Instructions per request: what a request costs the load generator in user-space
# instructions, counted by callgrind (which the machine's load does not move), contend
# against oha on the same request mix against the same server.
#
# Starts `contend serve` (its own process, not counted; the first binary of BINS) on
# 127.0.0.1 and creates a note, then counts, under `valgrind --tool=callgrind`:
#   - oha: N and 2N GETs of the note, and N and 2N PUTs with `If-Match: *`, 8 connections;
#   - each contend binary of BINS: the `sustained` workload (8 connections, 4 hot notes,
#     every attempt a GET and an If-Match PUT) of N and 2N requests (`requests` = attempts
#     = half of them), every request recorded in requests.csv and checked.
# A tool's instructions per request are the difference between its 2N and N runs over N:
# what start-up, set-up and reports cost once falls out. oha "GET+PUT" is the mix contend
# sends, one GET per PUT: the mean of its two figures. Kernel instructions (loopback TCP)
# are not counted by callgrind; scripts/cpu-bench.sh measures CPU time, kernel included.
# Under callgrind a run is ~50x slower, so whatever contend does per second of a run (the
# time series' slots) weighs more here than at full speed. Not a test.
#
#   scripts/instructions-bench.sh
#   BINS="/tmp/contend-old target/release/contend" N=8000 scripts/instructions-bench.sh

set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sustained-scenario.sh
N="${N:-4000}"
PORT="${PORT:-18096}"
OHA="${OHA:-$HOME/.cache/contend-bench/oha/bin/oha}"
for tool in curl valgrind; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed (apt-get install -y $tool)" >&2; exit 2; }
done
[ -x "$OHA" ] || { echo "oha is not at $OHA (scripts/throughput-bench.sh installs it; or OHA=path)" >&2; exit 2; }
if [ -z "${BINS:-}" ]; then
  cargo build --release --quiet
  BINS=target/release/contend
fi
SERVE="${BINS%% *}"

bench_work

bench_serve "$SERVE" "$PORT"
BASE="http://127.0.0.1:$PORT"
URL=$(bench_note "$BASE")

# The instructions callgrind counted for a command (its output goes to $WORK/out).
instructions() {
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2> "$WORK/valgrind" > "$WORK/out" \
    || { echo "failed under valgrind: $*" >&2; cat "$WORK/valgrind" "$WORK/out" >&2; exit 1; }
  awk '/Collected/ { print $4 }' "$WORK/valgrind"
}
per_request() { echo $(( ($2 - $1) / N )); }

echo "instructions-bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg); N = $N requests"
get1=$(instructions "$OHA" --no-tui -n "$N" -c 8 "$URL")
get2=$(instructions "$OHA" --no-tui -n $((2 * N)) -c 8 "$URL")
put=(-m PUT -H 'If-Match: *' -H 'Content-Type: application/json' -d '{"count":1}')
put1=$(instructions "$OHA" --no-tui -n "$N" -c 8 "${put[@]}" "$URL")
put2=$(instructions "$OHA" --no-tui -n $((2 * N)) -c 8 "${put[@]}" "$URL")
get=$(per_request "$get1" "$get2")
put=$(per_request "$put1" "$put2")
mix=$(( (get + put) / 2 ))
echo "oha GET: $get instructions per request ($get1 for $N, $get2 for $((2 * N)))"
echo "oha PUT If-Match: *: $put instructions per request ($put1 for $N, $put2 for $((2 * N)))"
echo "oha GET+PUT (one GET per PUT): $mix instructions per request"
for bin in $BINS; do
  counts=()
  for n in "$N" $((2 * N)); do
    sustained_scenario instructions-bench "$BASE/" 8 4 1s | sed "s/^duration = .*/requests = $((n / 2))/" > "$WORK/s.toml"
    rm -rf "$WORK/run"
    counts+=("$(instructions "$bin" run "$WORK/s.toml" --no-progress --seed 1 --out "$WORK/run")")
    grep -q "Run verdict: PASS" "$WORK/out" || { echo "$bin did not PASS:" >&2; cat "$WORK/out" >&2; exit 1; }
    rows=$(($(wc -l < "$WORK/run/requests.csv") - 1))
    [ "$rows" -ge "$n" ] || { echo "$bin recorded $rows rows for $n requests" >&2; exit 1; }
  done
  c=$(per_request "${counts[0]}" "${counts[1]}")
  echo "contend $bin (GET + If-Match PUT, recorded and checked): $c instructions per request (${counts[0]} for $N, ${counts[1]} for $((2 * N))); ÷ oha GET+PUT: $(python3 -c "print(f'{$c / $mix:.2f}')")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# How cheap the history is to check: records per CPU-second of `contend check`, and its
# peak memory, on a large requests.csv.
#
# Starts `contend serve` (its own process, correct server) on 127.0.0.1, makes a history
# with a sustained run against it (8 connections, 4 hot notes, DURATION long, every
# request recorded), then checks that history REPEAT times with each binary given in
# BINS (default: this tree's release build), interleaved, and prints per binary
# the user+system CPU seconds of each check, the records per CPU-second of the best and
# the median, and the peak RSS. HISTORY=path checks an existing requests.csv instead of
# making one; SAVE=path keeps the history made. Not a test: CI does not run it.
#
#   scripts/history-bench.sh
#   BINS="/tmp/contend-old target/release/contend" DURATION=20s scripts/history-bench.sh

set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sustained-scenario.sh
DURATION="${DURATION:-10s}"
REPEAT="${REPEAT:-3}"
PORT="${PORT:-18093}"
for tool in curl python3; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed (apt-get install -y $tool)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install -y time)" >&2; exit 2; }
if [ -z "${BINS:-}" ]; then
  cargo build --release --quiet
  BINS=target/release/contend
fi
MAKER="${BINS##* }"

bench_work

if [ -z "${HISTORY:-}" ]; then
  bench_serve "$MAKER" "$PORT"
  sustained_scenario history-bench "http://127.0.0.1:$PORT/" 8 4 "$DURATION" > "$WORK/sustained.toml"
  "$MAKER" run "$WORK/sustained.toml" --no-progress --seed 1 --out "$WORK/run" > "$WORK/run.txt" 2>&1 \
    || { echo "the sustained run failed:" >&2; cat "$WORK/run.txt" >&2; exit 1; }
  kill "$SERVER"; wait "$SERVER" 2> /dev/null || true; SERVER=""
  HISTORY="$WORK/run/requests.csv"
  if [ -n "${SAVE:-}" ]; then cp "$HISTORY" "$SAVE"; fi
fi
RECORDS=$(python3 -c 'import csv,sys; csv.field_size_limit(1 << 30); print(sum(1 for _ in csv.DictReader(open(sys.argv[1], newline=""))))' "$HISTORY")
echo "history: $RECORDS records, $(( $(stat -c %s "$HISTORY") / 1048576 )) MiB; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# Interleaved: each round checks with every binary once, so a change in the machine's
# load falls on all of them alike.
n=0
for bin in $BINS; do n=$((n + 1)); : > "$WORK/times.$n"; done
for _ in $(seq "$REPEAT"); do
  n=0
  for bin in $BINS; do
    n=$((n + 1))
    /usr/bin/time -f '%U %S %M' -o "$WORK/time" "$bin" check "$HISTORY" > "$WORK/check.txt" 2>&1 || true
    grep -q 'lost' "$WORK/check.txt" || { echo "$bin check gave no verdict:" >&2; cat "$WORK/check.txt" >&2; exit 1; }
    echo "$(tail -1 "$WORK/time") $(cut -d' ' -f1 /proc/loadavg)" >> "$WORK/times.$n"
  done
done
n=0
for bin in $BINS; do
  n=$((n + 1))
  python3 - "$bin" "$RECORDS" "$WORK/times.$n" <<'PY'
import statistics, sys
bin, records, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = [line.split() for line in open(path) if line.strip()]
cpu = sorted(float(u) + float(s) for u, s, _, _ in runs)
rss = max(int(m) for _, _, m, _ in runs) / 1024
load = " ".join(l for _, _, _, l in runs)
print(f"{bin}: CPU s {' '.join(f'{c:.2f}' for c in cpu)}; "
      f"records per CPU-second best {records / cpu[0]:,.0f}, median {records / statistics.median(cpu):,.0f}; "
      f"peak RSS {rss:.0f} MB; load average at each run {load}")
PY
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

#!/usr/bin/env bash
# Detection-power benchmark: how often each sync mode catches a check-then-commit race
# of a given width.
#
# For each window (10 ms, 1 ms, 100 µs, 10 µs, 1 µs), sync mode and writer count (2, 8,
# 32), starts the reference server (`contend serve`, its own process) with the `toctou`
# bug (check, release the lock, wait the window, commit), runs the ETag stale-write
# scenario against it, and prints one Markdown table row: the fraction of rounds that
# caught the bug (more than one winner), the server-side arrival spread of the rounds'
# writes, and the windows as they really lasted from check to commit (the server's
# `/_contend/windows`: a window ends when its writer's task runs again, which on a busy
# server is later than asked). Not a test: the figures depend on the machine.
#
# Usage: scripts/detection-power.sh            (ROUNDS=100 per row by default)
#        ROUNDS=200 WINDOWS="100us 10us" MODES=last-byte WRITERS="8" scripts/detection-power.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-100}"
WINDOWS="${WINDOWS:-10ms 1ms 100us 10us 1us}"
MODES="${MODES:-barrier last-byte single-packet}"
WRITERS="${WRITERS:-2 8 32}"
PORT="${PORT:-18090}"
SCENARIO=scenarios/notes-etag-stale-write.toml
command -v curl > /dev/null || { echo "curl is not installed: apt-get install curl" >&2; exit 2; }

cargo build --release --quiet
BIN=target/release/contend
WORK="$(mktemp -d)"
SERVER=""
cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2> /dev/null || true; wait "$SERVER" 2> /dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "contend detection power: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds per row"
echo
echo "| window | sync | writers | rounds caught | arrival spread p50 / p99 / max µs | window as it lasted p50 / p99 µs |"
echo "|---:|---|---:|---:|---:|---:|"
for window in $WINDOWS; do
  for mode in $MODES; do
    for writers in $WRITERS; do
      "$BIN" serve --addr "127.0.0.1:$PORT" --bug toctou --window "$window" > "$WORK/server.log" 2>&1 &
      SERVER=$!
      for _ in $(seq 50); do
        curl -sf "http://127.0.0.1:$PORT/_contend/health" > /dev/null 2>&1 && break
        sleep 0.1
      done
      out="$WORK/$window-$mode-$writers"
      # Exit code 1 (a violation) is the expected result here.
      "$BIN" run "$SCENARIO" --target "http://127.0.0.1:$PORT" --arrivals --sync "$mode" \
        --writers "$writers" --rounds "$ROUNDS" --seed 1 --no-progress --out "$out" \
        > /dev/null 2>&1 || true
      curl -sf "http://127.0.0.1:$PORT/_contend/windows" > "$out/windows.json" || echo '{}' > "$out/windows.json"
      kill "$SERVER"; wait "$SERVER" 2> /dev/null || true; SERVER=""
      python3 - "$out" "$window" "$mode" "$writers" <<'PY'
import csv, json, sys
out, window, mode, writers = sys.argv[1:]
with open(f"{out}/summary.csv", newline="") as f:
    row = next(csv.DictReader(f))
with open(f"{out}/windows.json") as f:
    lasted = json.load(f)
if row["error"]:
    print(f"| {window} | {mode} | {writers} | error: {row['error']} | | |")
    sys.exit(0)
rounds = int(row["rounds"])
caught = int(row["multiple_winners"])
spread = " / ".join(
    f"{float(row[c]):.0f}" if row[c] else "-"
    for c in ("arrival_spread_p50_us", "arrival_spread_p99_us", "arrival_spread_max_us")
)
windows = (f"{lasted['p50_us']:.0f} / {lasted['p99_us']:.0f}" if lasted.get("count") else "-")
print(f"| {window} | {mode} | {writers} | {caught}/{rounds} ({100 * caught / rounds:.0f}%) | {spread} | {windows} |")
PY
    done
  done
done

#!/usr/bin/env bash
# Detection-power benchmark: how often each sync mode catches a check-then-commit race
# of a given width.
#
# Runs the built-in reference server with the `toctou` bug (check, release the lock, wait
# WINDOW, commit) at windows of 10 ms, 1 ms, 100 µs, 10 µs and 1 µs, for every sync mode
# and 2, 8 and 32 writers, and prints one Markdown table row per combination: the
# fraction of rounds that caught the bug (more than one winner) and the server-side
# arrival spread of the round's writes. Not a test: figures depend on the machine.
#
# Usage: scripts/detection-power.sh            (ROUNDS=100 per combination by default)
#        ROUNDS=200 WINDOWS="100us 10us" MODES=last-byte WRITERS="8" scripts/detection-power.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-100}"
WINDOWS="${WINDOWS:-10ms 1ms 100us 10us 1us}"
MODES="${MODES:-barrier last-byte single-packet}"
WRITERS="${WRITERS:-2 8 32}"
SCENARIO=scenarios/notes-etag-stale-write.toml

cargo build --release --quiet
BIN=target/release/contend
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "contend detection power: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg), $ROUNDS rounds per row"
echo
echo "| window | sync | writers | rounds caught | arrival spread p50 / p99 / max µs |"
echo "|---:|---|---:|---:|---:|"
for window in $WINDOWS; do
  for mode in $MODES; do
    for writers in $WRITERS; do
      out="$WORK/$window-$mode-$writers"
      # Exit code 1 (a violation) is the expected result here.
      "$BIN" run "$SCENARIO" --target builtin --bug toctou --window "$window" \
        --sync "$mode" --writers "$writers" --rounds "$ROUNDS" --seed 1 \
        --no-progress --out "$out" > /dev/null 2>&1 || true
      python3 - "$out/summary.csv" "$window" "$mode" "$writers" <<'PY'
import csv, sys
path, window, mode, writers = sys.argv[1:]
with open(path, newline="") as f:
    row = next(csv.DictReader(f))
if row["error"]:
    print(f"| {window} | {mode} | {writers} | error: {row['error']} | |")
    sys.exit(0)
rounds = int(row["rounds"])
caught = int(row["multiple_winners"])
spread = " / ".join(
    f"{float(row[c]):.0f}" if row[c] else "-"
    for c in ("arrival_spread_p50_us", "arrival_spread_p99_us", "arrival_spread_max_us")
)
print(f"| {window} | {mode} | {writers} | {caught}/{rounds} ({100 * caught / rounds:.0f}%) | {spread} |")
PY
    done
  done
done

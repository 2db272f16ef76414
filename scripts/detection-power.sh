#!/usr/bin/env bash
# Detection-power benchmark: how often each sync mode catches a check-then-commit race
# of a given width, on a quiet machine and beside a background CPU load.
#
# For each window (10 ms, 1 ms, 100 µs, 10 µs, 1 µs), sync mode and writer count (2, 8,
# 32), and each background load (LOAD: how many busy processes, `sh -c 'while :; do :;
# done'`, run beside it; 0 for none), starts the reference server (`contend serve`, its
# own process) with the `toctou` bug (check, release the lock, wait the window,
# commit), runs the ETag stale-write scenario against it, and records the fraction of
# rounds that caught the bug (more than one winner), the release spread (contend's
# send_spread), the server-side arrival spread of the rounds' writes, the windows as
# they really lasted from check to commit (the server's `/_contend/windows`: a window
# ends when its writer's task runs again, which on a busy server is later than asked),
# and the 1-minute load average when the row started. The whole grid is repeated
# REPEATS times, every load's run of a row right after the other's, so the loads are
# compared on the same machine state; each table row gives the median over the
# repetitions (and the lowest and highest catch rate). One Markdown table per load.
# Not a test: the figures depend on the machine.
#
# Usage: scripts/detection-power.sh            (ROUNDS=100, REPEATS=3, LOAD="0 2")
#        ROUNDS=200 WINDOWS="100us 10us" MODES=last-byte WRITERS="8" LOAD=2 scripts/detection-power.sh
#        THREADS=1 scripts/detection-power.sh   (the server on one event loop: `serve --threads 1`)
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-100}"
REPEATS="${REPEATS:-3}"
WINDOWS="${WINDOWS:-10ms 1ms 100us 10us 1us}"
MODES="${MODES:-barrier last-byte single-packet}"
WRITERS="${WRITERS:-2 8 32}"
LOAD="${LOAD:-0 2}"
PORT="${PORT:-18090}"
THREADS="${THREADS:-}"
SCENARIO=scenarios/notes-etag-stale-write.toml
command -v curl > /dev/null || { echo "curl is not installed: apt-get install curl" >&2; exit 2; }
command -v python3 > /dev/null || { echo "python3 is not installed: apt-get install python3" >&2; exit 2; }

cargo build --release --quiet
BIN=target/release/contend
WORK="$(mktemp -d)"
SERVER=""
BUSY=()
stop_busy() {
  for pid in "${BUSY[@]}"; do kill "$pid" 2> /dev/null || true; wait "$pid" 2> /dev/null || true; done
  BUSY=()
}
start_busy() {
  for _ in $(seq "$1"); do sh -c 'while :; do :; done' & BUSY+=($!); done
}
cleanup() {
  stop_busy
  if [ -n "$SERVER" ]; then kill "$SERVER" 2> /dev/null || true; wait "$SERVER" 2> /dev/null || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "contend detection power: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg) at the start, $ROUNDS rounds per run," \
  "$REPEATS repetitions, background busy processes: $LOAD," \
  "server worker threads: ${THREADS:-one per CPU}"
RUNS="$WORK/runs.csv"
echo "load,window,mode,writers,rounds,caught,send_p50,arrival_p50,arrival_p99,arrival_max,lasted_p50,lasted_p99,loadavg,error" > "$RUNS"
for _ in $(seq "$REPEATS"); do
  for window in $WINDOWS; do
    for mode in $MODES; do
      for writers in $WRITERS; do
        for load in $LOAD; do
          start_busy "$load"
          loadavg="$(cut -d' ' -f1 /proc/loadavg)"
          "$BIN" serve --addr "127.0.0.1:$PORT" --bug toctou --window "$window" ${THREADS:+--threads "$THREADS"} > "$WORK/server.log" 2>&1 &
          SERVER=$!
          for _ in $(seq 50); do
            curl -sf "http://127.0.0.1:$PORT/_contend/health" > /dev/null 2>&1 && break
            sleep 0.1
          done
          out="$WORK/run"
          rm -rf "$out"
          # Exit code 1 (a violation) is the expected result here.
          "$BIN" run "$SCENARIO" --target "http://127.0.0.1:$PORT" --arrivals --sync "$mode" \
            --writers "$writers" --rounds "$ROUNDS" --seed 1 --no-progress --out "$out" \
            > /dev/null 2>&1 || true
          curl -sf "http://127.0.0.1:$PORT/_contend/windows" > "$WORK/windows.json" || echo '{}' > "$WORK/windows.json"
          kill "$SERVER"; wait "$SERVER" 2> /dev/null || true; SERVER=""
          stop_busy
          python3 - "$out" "$WORK/windows.json" "$load" "$window" "$mode" "$writers" "$loadavg" >> "$RUNS" <<'PY'
import csv, json, sys
out, windows, load, window, mode, writers, loadavg = sys.argv[1:]
try:
    with open(f"{out}/summary.csv", newline="") as f:
        row = next(csv.DictReader(f))
except (OSError, StopIteration) as e:
    row = {"error": f"no report ({e})"}
try:
    with open(windows) as f:
        lasted = json.load(f)
except (OSError, ValueError):
    lasted = {}
g = lambda k: row.get(k) or ""
csv.writer(sys.stdout).writerow([
    load, window, mode, writers, g("rounds"), g("multiple_winners"), g("send_spread_p50_us"),
    g("arrival_spread_p50_us"), g("arrival_spread_p99_us"), g("arrival_spread_max_us"),
    lasted.get("p50_us", "") if lasted.get("count") else "",
    lasted.get("p99_us", "") if lasted.get("count") else "", loadavg, g("error"),
])
PY
        done
      done
    done
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$RUNS" "$WINDOWS" "$MODES" "$WRITERS" "$LOAD" <<'PY'
import csv, statistics, sys
runs, windows, modes, writers, loads = sys.argv[1:]
rows = list(csv.DictReader(open(runs, newline="")))

def median(values, fmt="{:.0f}"):
    values = [float(v) for v in values if v != ""]
    return fmt.format(statistics.median(values)) if values else "-"

for load in loads.split():
    label = "nothing else started" if load == "0" else f"{load} busy processes beside it"
    print(f"\nBackground load: {label}\n")
    print("| window | sync | writers | rounds caught: median (lowest–highest) | release spread p50 µs "
          "| arrival spread p50 / p99 / max µs | window as it lasted p50 / p99 µs | load average |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for window in windows.split():
        for mode in modes.split():
            for n in writers.split():
                mine = [r for r in rows if (r["load"], r["window"], r["mode"], r["writers"]) == (load, window, mode, n)]
                ok = [r for r in mine if not r["error"] and r["rounds"]]
                if not ok:
                    error = mine[0]["error"] if mine else "not run"
                    print(f"| {window} | {mode} | {n} | error: {error} | | | | |")
                    continue
                pct = [100 * int(r["caught"]) / int(r["rounds"]) for r in ok]
                la = [float(r["loadavg"]) for r in ok]
                arrival = " / ".join(median(r[c] for r in ok) for c in ("arrival_p50", "arrival_p99", "arrival_max"))
                lasted = " / ".join(median(r[c] for r in ok) for c in ("lasted_p50", "lasted_p99"))
                print(f"| {window} | {mode} | {n} | {statistics.median(pct):.0f}% ({min(pct):.0f}–{max(pct):.0f}%) "
                      f"| {median(r['send_p50'] for r in ok)} | {arrival} | {lasted} "
                      f"| {statistics.median(la):.1f} ({min(la):.1f}–{max(la):.1f}) |")
PY

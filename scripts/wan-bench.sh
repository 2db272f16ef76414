#!/usr/bin/env bash
# WAN in a box: each sync mode's arrival spread with 20 writers when a delaying relay
# stands between contend and the reference server, beside the figures published for a
# real WAN (PortSwigger, 2023: single-packet 1 ms median, SD 0.3 ms; last-byte 4 ms,
# SD 3 ms; 20 requests).
#
# Starts the reference server (`contend serve`, which stamps every tagged request's
# arrival) and `contend relay` in front of it (every chunk, each way, forwarded after
# DELAY plus its own jitter, uniform in ±JITTER, chunk boundaries and order kept), then
# runs the ETag stale-write scenario through the relay in each sync mode (single-packet
# over h2c, as scripts/nginx-h2.sh does) with `--arrivals`, and prints one Markdown row
# per mode: the spread of each round's writes as they reached the server (first to last
# arrival, from rounds.csv): median, p99 and standard deviation over the rounds. `auto`,
# the default, is run too and named by the mode it chose. The
# kernels of these machines have no netem qdisc; where one has it, `tc qdisc add dev lo
# root netem delay 25ms 2ms` with the relay's DELAY=0ms is the same experiment.
# Not a test: the figures depend on the machine.
#
# Every mode is run REPEATS times, the modes alternating, and its rounds pooled.
#
# Usage: scripts/wan-bench.sh                       (ROUNDS=50, REPEATS=5, WRITERS=20, 25ms ± 2ms)
#        ROUNDS=100 DELAY=40ms JITTER=5ms MODES="last-byte single-packet" scripts/wan-bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-50}"
REPEATS="${REPEATS:-5}"
WRITERS="${WRITERS:-20}"
DELAY="${DELAY:-25ms}"
JITTER="${JITTER:-2ms}"
MODES="${MODES:-barrier last-byte single-packet auto}"
SERVER_PORT="${SERVER_PORT:-18095}"
RELAY_PORT="${RELAY_PORT:-18096}"
SCENARIO=scenarios/notes-etag-stale-write.toml
command -v curl > /dev/null || { echo "curl is not installed: apt-get install curl" >&2; exit 2; }
command -v python3 > /dev/null || { echo "python3 is not installed: apt-get install python3" >&2; exit 2; }

cargo build --release --quiet
BIN=target/release/contend
WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$BIN" serve --addr "127.0.0.1:$SERVER_PORT" > "$WORK/server.log" 2>&1 &
PIDS+=($!)
"$BIN" relay --listen "127.0.0.1:$RELAY_PORT" --to "127.0.0.1:$SERVER_PORT" \
  --delay "$DELAY" --jitter "$JITTER" > "$WORK/relay.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do
  curl -sf "http://127.0.0.1:$RELAY_PORT/_contend/health" > /dev/null 2>&1 && break
  sleep 0.1
done
curl -sf "http://127.0.0.1:$RELAY_PORT/_contend/health" > /dev/null \
  || { echo "the server did not answer through the relay" >&2; cat "$WORK"/*.log >&2; exit 2; }

echo "contend WAN in a box: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); relay $DELAY ± $JITTER each way," \
  "$WRITERS writers, $ROUNDS rounds per run, $REPEATS runs per mode (the modes alternating)"
for rep in $(seq "$REPEATS"); do
  for mode in $MODES; do
    out="$WORK/$mode/$rep"
    mkdir -p "$WORK/$mode"
    "$BIN" run "$SCENARIO" --target "http://127.0.0.1:$RELAY_PORT" --arrivals --sync "$mode" \
      --writers "$WRITERS" --rounds "$ROUNDS" --seed "$rep" --no-progress --out "$out" \
      > "$out.log" 2>&1 || true
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| sync | rounds | verdict | arrival spread median (per run: lowest–highest) / p99 / SD µs | release spread median µs | published over a real WAN (median, SD) |"
echo "|---|---:|---|---:|---:|---|"
python3 - "$WORK" $MODES <<'PY'
import csv, glob, statistics, sys
work, modes = sys.argv[1], sys.argv[2:]
published = {"single-packet": "1 ms (SD 0.3 ms)", "last-byte": "4 ms (SD 3 ms)"}
status = 0

def rank(values, q):
    # The nearest-rank percentile, as contend's own reports take it.
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]

for mode in modes:
    arrival, release, medians, verdicts, errors, ran = [], [], [], set(), [], set()
    for out in sorted(glob.glob(f"{work}/{mode}/*/")):
        try:
            with open(f"{out}/summary.csv", newline="") as f:
                summary = next(csv.DictReader(f))
            with open(f"{out}/rounds.csv", newline="") as f:
                rounds = list(csv.DictReader(f))
        except (OSError, StopIteration) as e:
            errors.append(f"no report ({e})")
            continue
        if summary["error"]:
            errors.append(summary["error"])
            continue
        verdicts.add(summary["verdict"])
        ran.add(summary["sync"] if summary["sync_requested"] == summary["sync"]
                else f"{summary['sync_requested']} → {summary['sync']}")
        mine = [float(r["arrival_spread_us"]) for r in rounds if r["arrival_spread_us"]]
        if mine:
            medians.append(statistics.median(mine))
        arrival += mine
        release += [float(r["send_spread_us"]) for r in rounds if r["send_spread_us"]]
    label = ", ".join(sorted(ran)) or mode
    chose = label.split(" → ")[-1]
    if not arrival:
        print(f"| {label} | - | {'error: ' + errors[0] if errors else 'not measured'} | | | {published.get(chose, '-')} |")
        status = 1
        continue
    arrival.sort()
    print(f"| {label} | {len(arrival)} | {', '.join(sorted(verdicts))} "
          f"| {statistics.median(arrival):.0f} ({min(medians):.0f}–{max(medians):.0f}) / {rank(arrival, 0.99):.0f} / {statistics.pstdev(arrival):.0f} "
          f"| {statistics.median(release):.0f} | {published.get(chose, '-')} |")
sys.exit(status)
PY

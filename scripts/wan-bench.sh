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
# arrival, from rounds.csv): median, p99 and standard deviation over the rounds. The
# kernels of these machines have no netem qdisc; where one has it, `tc qdisc add dev lo
# root netem delay 25ms 2ms` with the relay's DELAY=0ms is the same experiment.
# Not a test: the figures depend on the machine.
#
# Usage: scripts/wan-bench.sh                       (ROUNDS=50, WRITERS=20, 25ms ± 2ms)
#        ROUNDS=100 DELAY=40ms JITTER=5ms MODES="last-byte single-packet" scripts/wan-bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-50}"
WRITERS="${WRITERS:-20}"
DELAY="${DELAY:-25ms}"
JITTER="${JITTER:-2ms}"
MODES="${MODES:-barrier last-byte single-packet}"
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
  "$WRITERS writers, $ROUNDS rounds per mode"
echo
echo "| sync | rounds | verdict | arrival spread median / p99 / SD µs | release spread median µs | published over a real WAN (median, SD) |"
echo "|---|---:|---|---:|---:|---|"
status=0
for mode in $MODES; do
  out="$WORK/$mode"
  "$BIN" run "$SCENARIO" --target "http://127.0.0.1:$RELAY_PORT" --arrivals --sync "$mode" \
    --writers "$WRITERS" --rounds "$ROUNDS" --seed 1 --no-progress --out "$out" \
    > "$out.log" 2>&1 || true
  python3 - "$out" "$mode" <<'PY' || status=1
import csv, statistics, sys
out, mode = sys.argv[1:]
published = {"single-packet": "1 ms (SD 0.3 ms)", "last-byte": "4 ms (SD 3 ms)"}.get(mode, "-")
try:
    with open(f"{out}/summary.csv", newline="") as f:
        summary = next(csv.DictReader(f))
    with open(f"{out}/rounds.csv", newline="") as f:
        rounds = list(csv.DictReader(f))
except (OSError, StopIteration) as e:
    print(f"| {mode} | - | no report ({e}) | | | {published} |")
    sys.exit(1)
if summary["error"]:
    print(f"| {mode} | - | error: {summary['error']} | | | {published} |")
    sys.exit(1)

def ordered(column):
    return sorted(float(r[column]) for r in rounds if r[column])

def rank(values, q):
    # The nearest-rank percentile, as contend's own reports take it.
    return values[min(len(values) - 1, max(0, round(q * len(values) + 0.5) - 1))]

arrival = ordered("arrival_spread_us")
release = ordered("send_spread_us")
if not arrival:
    print(f"| {mode} | {summary['rounds']} | {summary['verdict']} | not measured | | {published} |")
    sys.exit(1)
sd = statistics.pstdev(arrival)
print(f"| {mode} | {len(arrival)} | {summary['verdict']} "
      f"| {statistics.median(arrival):.0f} / {rank(arrival, 0.99):.0f} / {sd:.0f} "
      f"| {statistics.median(release):.0f} | {published} |")
PY
done
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
exit "$status"

#!/usr/bin/env bash
# Connection-policy benchmark: what `writer_connections = "fresh"` (new, warmed
# connections every round) catches and costs against `"kept"` (one connection per
# writer for the whole scenario).
#
# 1. Catch rate. Starts `contend serve --processes 2 --lock per-process` (two worker
#    processes on one port whose conditional write is guarded by an in-process mutex
#    only: a round whose writers reach both workers has two winners) and runs the ETag
#    stale-write scenario against it RUNS times per row, each a new `contend run` (so
#    kept connections are placed anew by the kernel each time). A row gives the rounds
#    that caught the bug (multiple_winners) per run: median, lowest and highest, and how
#    many runs caught it at all. The workers speak HTTP/1.1 only, as gunicorn, uvicorn
#    and Puma do, for barrier, last-byte and auto (which chooses last-byte there); then
#    they also speak h2c (`--http2`, as hypercorn does) for single-packet and auto (which
#    chooses single-packet there). single-packet puts every write of a round on one
#    HTTP/2 connection, so in one worker: its rows show what that means here.
# 2. Cost. Against the reference server on its own (`contend serve`, correct), over
#    http and https (`--tls`), RUNS runs of the same scenario per row, kept and fresh
#    runs alternating: rounds per second (rounds / duration_s) and the release (send)
#    and arrival spreads per round (p50, from summary.csv), medians over the runs.
# Prints `uptime` before and after. Not a test: the figures depend on the machine.
#
# Usage: scripts/connection-policy.sh
#        RUNS=5 ROUNDS=20 WRITERS="8 16" WINDOW=20ms COST_ROUNDS=200 scripts/connection-policy.sh
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS="${RUNS:-10}"
ROUNDS="${ROUNDS:-20}"
WRITERS="${WRITERS:-2 8 16}"
WINDOW="${WINDOW:-20ms}"
COST_ROUNDS="${COST_ROUNDS:-200}"
COST_WRITERS="${COST_WRITERS:-16}"
PORT="${PORT:-18092}"
SCENARIO=scenarios/notes-etag-stale-write.toml
for tool in curl python3; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed (apt-get install -y $tool)" >&2; exit 2; }
done

cargo build --release --quiet
BIN=target/release/contend
WORK="$(mktemp -d)"
SERVER=""
stop_server() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2> /dev/null || true; wait "$SERVER" 2> /dev/null || true; fi
  SERVER=""
}
cleanup() {
  stop_server
  rm -rf "$WORK"
}
trap cleanup EXIT

# Starts `contend serve ARGS...` on $PORT and waits until it answers (CURL_ARGS for https).
start_server() {
  "$BIN" serve --addr "127.0.0.1:$PORT" "$@" > "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 100); do
    curl -sf $CURL_ARGS "$SCHEME://127.0.0.1:$PORT/_contend/health" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the server did not start: $(cat "$WORK/server.log")" >&2
  exit 2
}

# Runs the scenario RUNS times with the given arguments; summaries under $WORK/$1/N/.
runs() {
  local name="$1"
  shift
  for n in $(seq "$RUNS"); do
    # Exit code 1 (a violation) is the expected result against the per-process lock.
    "$BIN" run "$SCENARIO" --seed "$n" --no-progress --out "$WORK/$name/$n" "$@" > /dev/null 2>&1 || true
  done
}

echo "contend connection policy: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)"
echo "uptime before: $(uptime)"
echo
echo "Catch rate: 2 worker processes, per-process lock, $WINDOW window; $RUNS runs of $ROUNDS rounds per row"
echo
echo "| workers speak | sync | writers | writer_connections | rounds caught per run: median (lowest–highest) | all rounds caught | runs that caught it |"
echo "|---|---|---:|---|---:|---:|---:|"
SCHEME=http CURL_ARGS=""
for speaks in http1 h2c; do
  if [ "$speaks" = h2c ]; then
    start_server --processes 2 --lock per-process --window "$WINDOW" --http2
    modes="single-packet auto"
  else
    start_server --processes 2 --lock per-process --window "$WINDOW"
    modes="barrier last-byte auto"
  fi
  for mode in $modes; do
    for writers in $WRITERS; do
      for policy in kept fresh; do
        [ "$mode" = single-packet ] && [ "$policy" = kept ] && continue
        name="catch-$speaks-$mode-$writers-$policy"
        runs "$name" --target "http://127.0.0.1:$PORT" --sync "$mode" --writers "$writers" \
          --rounds "$ROUNDS" --writer-connections "$policy"
        python3 - "$WORK/$name" "$speaks" "$writers" "$policy" <<'PY'
import csv, glob, statistics, sys
out, speaks, writers, policy = sys.argv[1:]
speaks = {"http1": "HTTP/1.1", "h2c": "HTTP/1.1 and h2c"}[speaks]
caught, rounds, errors, modes = [], [], [], set()
for path in sorted(glob.glob(f"{out}/*/summary.csv")):
    with open(path, newline="") as f:
        row = next(csv.DictReader(f))
    if row["error"]:
        errors.append(row["error"])
    caught.append(int(row["multiple_winners"]))
    rounds.append(int(row["rounds"]))
    ran = row["sync"]
    modes.add(ran if row["sync_requested"] == ran else f"{row['sync_requested']} → {ran}")
mode = ", ".join(sorted(modes)) or "?"
if not caught:
    print(f"| {speaks} | {mode} | {writers} | {policy} | no run finished | | |")
    sys.exit(0)
n = rounds[0]
pct = lambda c: f"{100 * c / n:.0f}%"
median = statistics.median(caught)
runs_caught = sum(1 for c in caught if c > 0)
note = f" ({len(errors)} errors: {errors[0]})" if errors else ""
total = f"{sum(caught)}/{sum(rounds)} = {100 * sum(caught) / sum(rounds):.0f}%"
print(f"| {speaks} | {mode} | {writers} | {policy} | {median:g}/{n} = {pct(median)} ({pct(min(caught))}–{pct(max(caught))}) | {total} | {runs_caught}/{len(caught)}{note} |")
PY
      done
    done
  done
  stop_server
done

echo
echo "Cost: reference server (correct), $COST_WRITERS writers, $COST_ROUNDS rounds, medians of $RUNS runs"
echo
echo "| scheme | sync | writer_connections | rounds/s | release spread p50 µs | arrival spread p50 µs |"
echo "|---|---|---|---:|---:|---:|"
for SCHEME in http https; do
  if [ "$SCHEME" = https ]; then
    CURL_ARGS="--cacert $WORK/cert.pem"
    start_server --tls "$WORK/cert.pem"
    TLS=(--ca-cert "$WORK/cert.pem")
  else
    CURL_ARGS=""
    start_server
    TLS=()
  fi
  for mode in barrier last-byte single-packet; do
    policies="kept fresh"
    [ "$mode" = single-packet ] && policies=fresh
    # Kept and fresh runs alternate, so that both see the same load.
    for n in $(seq "$RUNS"); do
      for policy in $policies; do
        "$BIN" run "$SCENARIO" --seed "$n" --no-progress --out "$WORK/cost-$SCHEME-$mode-$policy/$n" \
          --target "$SCHEME://127.0.0.1:$PORT" --arrivals "${TLS[@]}" --sync "$mode" \
          --writers "$COST_WRITERS" --rounds "$COST_ROUNDS" --writer-connections "$policy" \
          > /dev/null 2>&1 || true
      done
    done
    for policy in $policies; do
      python3 - "$WORK/cost-$SCHEME-$mode-$policy" "$SCHEME" "$mode" "$policy" <<'PY'
import csv, glob, statistics, sys
out, scheme, mode, policy = sys.argv[1:]
rate, send, arrival, errors = [], [], [], []
for path in sorted(glob.glob(f"{out}/*/summary.csv")):
    with open(path, newline="") as f:
        row = next(csv.DictReader(f))
    if row["error"] or row["verdict"] != "PASS":
        errors.append(row["error"] or row["verdict"])
        continue
    rate.append(int(row["rounds"]) / float(row["duration_s"]))
    send.append(float(row["send_spread_p50_us"]))
    if row["arrival_spread_p50_us"]:
        arrival.append(float(row["arrival_spread_p50_us"]))
med = lambda xs: f"{statistics.median(xs):.0f}" if xs else "-"
note = f" ({len(errors)} runs failed: {errors[0]})" if errors else ""
print(f"| {scheme} | {mode} | {policy} | {med(rate)}{note} | {med(send)} | {med(arrival)} |")
PY
    done
  done
  stop_server
done
echo
echo "uptime after: $(uptime)"

#!/usr/bin/env bash
# CPU per request: what the load costs the machine it runs on, contend against oha, on
# the same request mix against the same server.
#
# Starts `contend serve` (its own process, correct server; the first binary of BINS) on
# 127.0.0.1 and creates a note, then REPEAT rounds, each running once, one after another
# for DURATION with CONNECTIONS connections:
#   - oha GET of the note, and oha PUT with `If-Match: *` (applied under the server's lock);
#   - each contend binary of BINS: the `sustained` workload with RESOURCES hot notes, every
#     attempt a GET and an If-Match PUT, every request recorded in requests.csv and the run
#     checked for lost updates at its end (all of that is in its CPU time).
# Each load generator's user + system CPU seconds come from /usr/bin/time (the server's
# are not counted), its requests from its own report (oha's status counts; contend's
# read and write rows of requests.csv). oha "GET+PUT" is the mix contend sends, one GET
# per PUT: the mean of oha's two CPU costs per request. Prints per tool every round's
# µs of CPU per request and the median, and the load average at each run. Not a test.
#
#   scripts/cpu-bench.sh
#   BINS="/tmp/contend-old target/release/contend" REPEAT=7 scripts/cpu-bench.sh

set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/sustained-scenario.sh
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-8}"
RESOURCES="${RESOURCES:-4}"
REPEAT="${REPEAT:-5}"
PORT="${PORT:-18095}"
OHA="${OHA:-$HOME/.cache/contend-bench/oha/bin/oha}"
for tool in curl python3; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed (apt-get install -y $tool)" >&2; exit 2; }
done
[ -x /usr/bin/time ] || { echo "/usr/bin/time is not installed (apt-get install -y time)" >&2; exit 2; }
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

sustained_scenario cpu-bench "$BASE" "$CONNECTIONS" "$RESOURCES" "$DURATION" > "$WORK/sustained.toml"

# One line per run in $WORK/runs: tool, CPU seconds, requests, load average.
RUNS="$WORK/runs"
: > "$RUNS"
cpu() { awk '{ print $1 + $2 }' "$WORK/time"; }
load() { cut -d' ' -f1 /proc/loadavg; }
echo "cpu-bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr), load average $(cut -d' ' -f1-3 /proc/loadavg);" \
  "$CONNECTIONS connections, $DURATION per run, $REPEAT rounds, $RESOURCES hot notes for contend"
for _ in $(seq "$REPEAT"); do
  for what in GET PUT; do
    args=()
    [ "$what" = PUT ] && args=(-m PUT -H 'If-Match: *' -H 'Content-Type: application/json' -d '{"count":1}')
    /usr/bin/time -f '%U %S' -o "$WORK/time" "$OHA" --no-tui --output-format json \
      -c "$CONNECTIONS" -z "$DURATION" "${args[@]}" "$URL" > "$WORK/oha.json"
    n=$(python3 -c 'import json,sys; print(sum(json.load(open(sys.argv[1]))["statusCodeDistribution"].values()))' "$WORK/oha.json")
    echo "oha-$what $(cpu) $n $(load)" >> "$RUNS"
  done
  i=0
  for bin in $BINS; do
    i=$((i + 1))
    rm -rf "$WORK/run"
    /usr/bin/time -f '%U %S' -o "$WORK/time" "$bin" run "$WORK/sustained.toml" --no-progress --seed 1 \
      --out "$WORK/run" > "$WORK/run.txt" 2>&1 || { echo "$bin run failed:" >&2; cat "$WORK/run.txt" >&2; exit 1; }
    n=$(python3 -c 'import csv,sys; csv.field_size_limit(1 << 30); print(sum(1 for r in csv.DictReader(open(sys.argv[1], newline="")) if r["phase"] in ("read", "write")))' "$WORK/run/requests.csv")
    echo "contend-$i $(cpu) $n $(load)" >> "$RUNS"
  done
done

python3 - "$RUNS" $BINS <<'PY'
import statistics, sys
runs, bins = sys.argv[1], sys.argv[2:]
by = {}
for line in open(runs):
    tool, cpu, n, load = line.split()
    by.setdefault(tool, []).append((float(cpu) / int(n) * 1e6, int(n), load))
def show(name, rows):
    us = [u for u, _, _ in rows]
    print(f"{name}: µs CPU per request {' '.join(f'{u:.2f}' for u in us)}; median {statistics.median(us):.2f}; "
          f"requests {' '.join(str(n) for _, n, _ in rows)}; load average at each run {' '.join(l for _, _, l in rows)}")
    return statistics.median(us)
get = show("oha GET", by["oha-GET"])
put = show("oha PUT If-Match: *", by["oha-PUT"])
mix = [(g + p) / 2 for (g, _, _), (p, _, _) in zip(by["oha-GET"], by["oha-PUT"])]
print(f"oha GET+PUT (one GET per PUT): µs CPU per request {' '.join(f'{u:.2f}' for u in mix)}; median {statistics.median(mix):.2f}")
for i, bin in enumerate(bins, 1):
    m = show(f"contend {bin} (GET + If-Match PUT, recorded and checked)", by[f"contend-{i}"])
    print(f"  ÷ oha GET+PUT median: {m / statistics.median(mix):.2f}")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

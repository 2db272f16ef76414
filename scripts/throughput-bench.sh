#!/usr/bin/env bash
# Throughput benchmark: contend's own request rate and latency against the HTTP load
# generators people use, on the same loopback reference server, in one run.
#
# Starts `contend serve` (its own process, correct server), creates a note, then runs for
# DURATION each with CONNECTIONS connections:
#   - wrk (Debian's `wrk`): GET of one note, as fast as it can;
#   - oha (crates.io, installed once into $OHA_ROOT with `cargo install oha --locked`; its
#     rows are skipped, saying so, if it is not there and does not build within
#     OHA_BUILD_TIMEOUT): the same GET, then a PUT with `If-Match: *` that the server
#     applies (its write path, like contend's winning writes);
#   - contend, `sustained` workload, closed model, for each K in RESOURCES: every attempt
#     a GET and a conditional PUT (If-Match) of the count read plus one, every request
#     recorded in requests.csv and checked for lost updates afterwards.
# contend sends a read and a conditional write per attempt, and records and checks each;
# the "oha GET+PUT" ratio compares it with what oha's two rows give for that same mix
# (one GET per PUT, each at its measured cost: 2 / (1/GET + 1/PUT)). Latency for contend is per
# HTTP request (reads and writes alike, from requests.csv), like the tools'. Ratios are
# contend's request rate over each tool's, measured in this one run. Not a test: the
# figures depend on the machine and its load.
#
# Usage: scripts/throughput-bench.sh
#        DURATION=10s CONNECTIONS=16 RESOURCES="1 4 16" scripts/throughput-bench.sh
set -euo pipefail

cd "$(dirname "$0")/.."
. scripts/sustained-scenario.sh
DURATION="${DURATION:-5s}"
CONNECTIONS="${CONNECTIONS:-8}"
RESOURCES="${RESOURCES:-1 4 16}"
PORT="${PORT:-18091}"
OHA_ROOT="${OHA_ROOT:-$HOME/.cache/contend-bench/oha}"
OHA_BUILD_TIMEOUT="${OHA_BUILD_TIMEOUT:-900}"
for tool in curl python3 wrk; do
  command -v "$tool" > /dev/null || { echo "$tool is not installed (apt-get install -y $tool)" >&2; exit 2; }
done

cargo build --release --quiet
BIN=target/release/contend
OHA="$OHA_ROOT/bin/oha"
if [ ! -x "$OHA" ]; then
  echo "installing oha into $OHA_ROOT (at most ${OHA_BUILD_TIMEOUT}s)..." >&2
  if ! timeout "$OHA_BUILD_TIMEOUT" cargo install oha --locked --quiet --root "$OHA_ROOT" > /dev/null 2>&1; then
    echo "oha did not install within ${OHA_BUILD_TIMEOUT}s: its row is skipped" >&2
  fi
fi

bench_work

bench_serve "$BIN" "$PORT"
BASE="http://127.0.0.1:$PORT"
URL=$(bench_note "$BASE")

# Every row: tool, what it sends, requests/s, p50, p99 (ms), peak RSS (MB).
ROWS="$WORK/rows.tsv"
: > "$ROWS"
secs="${DURATION%s}"

/usr/bin/time -f '%M' -o "$WORK/wrk.rss" wrk -t 2 -c "$CONNECTIONS" -d "$DURATION" --latency "$URL" > "$WORK/wrk.txt"
python3 - "$WORK/wrk.txt" "$WORK/wrk.rss" >> "$ROWS" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
def ms(v, unit):
    return float(v) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit]
rate = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", text)
p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", text)
print(f"wrk\tGET\t{rate:.0f}\t{ms(*p50.groups()):.3f}\t{ms(*p99.groups()):.3f}\t{rss:.0f}")
PY

if [ -x "$OHA" ]; then
  # GET, then an unconditional PUT (If-Match: *) that the server applies under its lock.
  for what in GET PUT; do
    args=()
    [ "$what" = PUT ] && args=(-m PUT -H 'If-Match: *' -H 'Content-Type: application/json' -d '{"count":1}')
    /usr/bin/time -f '%M' -o "$WORK/oha-$what.rss" "$OHA" --no-tui --output-format json \
      -c "$CONNECTIONS" -z "$DURATION" "${args[@]}" "$URL" > "$WORK/oha-$what.json"
    python3 - "$WORK/oha-$what.json" "$WORK/oha-$what.rss" "$what" >> "$ROWS" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rss = int(open(sys.argv[2]).read().split()[-1]) / 1024
what = "GET" if sys.argv[3] == "GET" else "PUT, If-Match: * (applied)"
p = d["latencyPercentiles"]
print(f"oha\t{what}\t{d['summary']['requestsPerSec']:.0f}\t{p['p50'] * 1e3:.3f}\t{p['p99'] * 1e3:.3f}\t{rss:.0f}")
PY
  done
fi

for k in $RESOURCES; do
  scenario="$WORK/sustained-$k.toml"
  sustained_scenario "bench-sustained-$k" "$BASE" "$CONNECTIONS" "$k" "$DURATION" > "$scenario"
  out="$WORK/contend-$k"
  status=0
  /usr/bin/time -f '%M' -o "$WORK/contend-$k.rss" "$BIN" run "$scenario" --no-progress --seed 1 --out "$out" > "$WORK/contend-$k.txt" 2>&1 || status=$?
  if [ "$status" != 0 ]; then
    echo "contend with $k resources exited $status:" >&2; cat "$WORK/contend-$k.txt" >&2; exit 1
  fi
  python3 - "$out" "$WORK/contend-$k.rss" "$k" >> "$ROWS" <<'PY'
import csv, json, sys
out, rss, k = sys.argv[1], sys.argv[2], sys.argv[3]
rss = int(open(rss).read().split()[-1]) / 1024
s = json.load(open(f"{out}/summary.json"))["scenarios"][0]
sus = s["sustained"]
lat = sorted(int(r["latency_ns"]) for r in csv.DictReader(open(f"{out}/requests.csv"))
             if r["phase"] in ("read", "write"))
def pct(p):
    return lat[max(0, min(len(lat) - 1, -(-len(lat) * p // 100) - 1))] / 1e6
conflicts = sus["conflict_rate"] * 100 if sus["conflict_rate"] is not None else 0
what = f"GET + If-Match PUT, K={k} ({sus['acknowledged_per_s']:.0f} writes/s, {conflicts:.0f}% conflicts, {sus['lost_updates']} lost)"
print(f"contend\t{what}\t{sus['requests_per_s']:.0f}\t{pct(50):.3f}\t{pct(99):.3f}\t{rss:.0f}")
PY
done

echo "contend throughput: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -sr)," \
  "load average $(cut -d' ' -f1-3 /proc/loadavg); $CONNECTIONS connections, $DURATION each," \
  "loopback, server and client on the same machine"
[ -x "$OHA" ] || echo "(oha not installed: no oha row)"
echo
python3 - "$ROWS" <<'PY'
import sys
rows = [line.rstrip("\n").split("\t") for line in open(sys.argv[1])]
peers = {}
for tool, what, rate, *_ in rows:
    if tool != "contend":
        peers[f"{tool} {what.split(',')[0]}"] = float(rate)
ratios = [(name, peers[name]) for name in ("wrk GET", "oha GET") if name in peers]
if "oha GET" in peers and "oha PUT" in peers:
    # What oha would send with contend's mix, one GET per PUT, each at its own cost.
    ratios.append(("oha GET+PUT", 2 / (1 / peers["oha GET"] + 1 / peers["oha PUT"])))
print("| tool | requests | requests/s | p50 ms | p99 ms | peak RSS MB |" + "".join(f" ÷ {n} |" for n, _ in ratios))
print("|---|---|---:|---:|---:|---:|" + "---:|" * len(ratios))
for tool, what, rate, p50, p99, rss in rows:
    cells = "".join(f" {float(rate) / r:.2f} |" for _, r in ratios)
    print(f"| {tool} | {what} | {float(rate):.0f} | {p50} | {p99} | {rss} |{cells}")
for name, r in ratios:
    if name == "oha GET+PUT":
        print(f"\noha GET+PUT: {r:.0f} requests/s, the rate oha's GET and PUT rows give for one GET per PUT")
PY

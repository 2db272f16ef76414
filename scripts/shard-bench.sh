#!/usr/bin/env bash
# Sharded runs on one machine (README: Beyond one machine): deploy/scenarios/ (the
# sustained hot-texts, split over the shards) run by 1, 2 and 4 local `contend run --shard
# I/N` processes against one `contend serve`, started together with --start-at, then
# `contend merge --target`. Prints, per shard count, the total request rate of the split
# scenario, the merged p99 of its write latency (from the shards' HdrHistograms) and the
# merged verdict; the folders stay in $OUT.
# Usage: scripts/shard-bench.sh [SHARDS...]   (default 1 2 4; needs `cargo build --release`
# and jq). CONTEND=path/to/contend, PORT and OUT override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="${CONTEND:-target/release/contend}"
PORT="${PORT:-18480}"
OUT="${OUT:-target/shard-bench}"
TARGET="http://127.0.0.1:$PORT"
command -v jq >/dev/null || { echo "shard-bench: needs jq (apt-get install jq)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "shard-bench: no $BIN; run cargo build --release" >&2; exit 2; }
rm -rf "$OUT" && mkdir -p "$OUT"

"$BIN" serve --addr "127.0.0.1:$PORT" >"$OUT/serve.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 50); do
    grep -q "listening on" "$OUT/serve.log" && break
    sleep 0.1
done

echo "load average: $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
printf '%-7s %-16s %-22s %s\n' shards "requests/s" "merged p99 (all writes)" verdict
counts=("$@")
[ "${#counts[@]}" -gt 0 ] || counts=(1 2 4)
for n in "${counts[@]}"; do
    mkdir -p "$OUT/$n"
    at="$(date -u -d '+3 seconds' +%Y-%m-%dT%H:%M:%SZ)"
    pids=()
    for i in $(seq 1 "$n"); do
        "$BIN" run deploy/scenarios --target "$TARGET" --shard "$i/$n" --start-at "$at" \
            --out "$OUT/$n/shard-$i" --no-progress >"$OUT/$n/shard-$i.log" 2>&1 &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || { echo "shard-bench: a shard failed; see $OUT/$n/" >&2; exit 1; }
    done
    folders=()
    for i in $(seq 1 "$n"); do folders+=("$OUT/$n/shard-$i"); done
    "$BIN" merge "${folders[@]}" --target "$TARGET" --out "$OUT/$n/merged" >"$OUT/$n/merge.log" 2>&1 || true
    jq -r --arg n "$n" '.scenarios[] | select(.name == "hot-texts")
        | [$n, (.sustained.requests_per_s | floor | tostring),
           ((.metrics["latency.all.p99"] * 100 | round / 100 | tostring) + " ms"), .verdict]
        | @tsv' "$OUT/$n/merged/summary.json" |
        awk -F'\t' '{ printf "%-7s %-16s %-22s %s\n", $1, $2, $3, $4 }'
done

#!/usr/bin/env bash
# Runs the shipped stale-write scenarios through nginx (Debian's, `apt-get install
# nginx-light`) in front of the reference server: single-packet over HTTP/2 (h2c, prior
# knowledge) on one nginx port, last-byte and barrier over HTTP/1.1 on another.
# Loopback only; nginx and the server are stopped on exit.
#
# Usage: scripts/nginx-h2.sh                      (correct server: every run should PASS)
#        BUG=toctou WINDOW=50ms scripts/nginx-h2.sh (every run should FAIL)
set -euo pipefail

cd "$(dirname "$0")/.."
SERVER_PORT="${SERVER_PORT:-18080}"
H2C_PORT="${H2C_PORT:-18081}"
H1_PORT="${H1_PORT:-18082}"
WRITERS="${WRITERS:-16}"
ROUNDS="${ROUNDS:-20}"
command -v nginx > /dev/null || { echo "nginx is not installed: apt-get install nginx-light" >&2; exit 2; }

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

serve_args=(serve --addr "127.0.0.1:$SERVER_PORT")
if [ -n "${BUG:-}" ]; then serve_args+=(--bug "$BUG" --window "${WINDOW:-50ms}"); fi
"$BIN" "${serve_args[@]}" > "$WORK/server.log" 2>&1 &
PIDS+=($!)

mkdir -p "$WORK/logs"
cat > "$WORK/nginx.conf" <<CONF
daemon off;
worker_processes 1;
error_log $WORK/logs/error.log warn;
pid $WORK/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $WORK/body;
  proxy_temp_path $WORK/proxy;
  upstream reference { server 127.0.0.1:$SERVER_PORT; keepalive 64; }
  server {
    listen 127.0.0.1:$H2C_PORT http2;
    listen 127.0.0.1:$H1_PORT;
    location / {
      proxy_pass http://reference;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host \$host;
    }
  }
}
CONF
nginx -c "$WORK/nginx.conf" -p "$WORK" &
PIDS+=($!)

for _ in $(seq 50); do
  if curl -sf "http://127.0.0.1:$H1_PORT/_contend/health" > /dev/null 2>&1; then break; fi
  sleep 0.1
done
echo "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///') in front of the reference server${BUG:+ with bug $BUG}"

status=0
for run in "single-packet $H2C_PORT" "last-byte $H1_PORT" "barrier $H1_PORT"; do
  set -- $run
  echo
  echo "== sync $1 through nginx port $2"
  "$BIN" run scenarios/notes-etag-stale-write.toml scenarios/docs-version-stale-write.toml \
    scenarios/db-rev-stale-write.toml --target "http://127.0.0.1:$2" --sync "$1" \
    --writers "$WRITERS" --rounds "$ROUNDS" --seed 1 --no-progress --out "$WORK/$1-$2" \
    || status=$?
done
exit "$status"

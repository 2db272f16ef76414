#!/usr/bin/env bash
# Runs the shipped stale-write scenarios through nginx (Debian's, `apt-get install
# nginx-light`) in front of the reference server: single-packet over HTTP/2 with prior
# knowledge (h2c) on one nginx port; single-packet (h2), last-byte and barrier over TLS
# on another (a self-signed certificate made with openssl); last-byte and barrier over
# plain HTTP/1.1 on a third.
# Loopback only; nginx and the server are stopped on exit.
#
# Usage: scripts/nginx-h2.sh                      (correct server: every run should PASS)
#        BUG=toctou WINDOW=50ms scripts/nginx-h2.sh (every run should FAIL)
#        KEEPALIVE_REQUESTS=50 scripts/nginx-h2.sh  (nginx closes connections often: GOAWAY)
set -euo pipefail

cd "$(dirname "$0")/.."
SERVER_PORT="${SERVER_PORT:-18080}"
H2C_PORT="${H2C_PORT:-18081}"
H1_PORT="${H1_PORT:-18082}"
TLS_PORT="${TLS_PORT:-18443}"
WRITERS="${WRITERS:-16}"
ROUNDS="${ROUNDS:-20}"
command -v nginx > /dev/null || { echo "nginx is not installed: apt-get install nginx-light" >&2; exit 2; }
command -v openssl > /dev/null || { echo "openssl is not installed: apt-get install openssl" >&2; exit 2; }

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
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
  -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -addext "basicConstraints=critical,CA:FALSE" \
  -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2> /dev/null
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
  keepalive_requests ${KEEPALIVE_REQUESTS:-1000};
  server {
    listen 127.0.0.1:$H2C_PORT http2;
    listen 127.0.0.1:$H1_PORT;
    listen 127.0.0.1:$TLS_PORT ssl http2;
    ssl_certificate $WORK/cert.pem;
    ssl_certificate_key $WORK/key.pem;
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
for run in "single-packet http $H2C_PORT" "last-byte http $H1_PORT" "barrier http $H1_PORT" \
  "single-packet https $TLS_PORT" "last-byte https $TLS_PORT" "barrier https $TLS_PORT"; do
  set -- $run
  echo
  echo "== sync $1 through nginx at $2://127.0.0.1:$3"
  "$BIN" run scenarios/notes-etag-stale-write.toml scenarios/docs-version-stale-write.toml \
    scenarios/db-rev-stale-write.toml --target "$2://127.0.0.1:$3" --sync "$1" \
    --ca-cert "$WORK/cert.pem" \
    --writers "$WRITERS" --rounds "$ROUNDS" --seed 1 --no-progress --out "$WORK/$1-$2-$3" \
    || status=$?
done
exit "$status"

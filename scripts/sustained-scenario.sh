# Sourced by the benchmark scripts: the sustained scenario they all measure, a counter
# per hot note raced with If-Match against the reference server, and the steps they
# share (a scratch directory, the reference server, a note to send to).
#
#   sustained_scenario NAME TARGET CONNECTIONS RESOURCES DURATION > FILE
#   bench_work                 # WORK: a scratch directory; it and the server go on exit
#   bench_serve BIN PORT       # starts `BIN serve` on 127.0.0.1:PORT (SERVER), waits for it
#   bench_note BASE            # creates a note on the server at BASE; prints its URL

sustained_scenario() {
  cat <<TOML
name = "$1"
target = "$2"

[workload]
kind = "sustained"
connections = $3
resources = $4
duration = "$5"

[resource]
create = { method = "POST", path = "/notes", json = { count = 0 }, expect = [201], id = "header:Location" }
read = { method = "GET", path = "{id}" }
version = "header:ETag"
value = "json:/count"

[write]
method = "PUT"
path = "{id}"
headers = { "If-Match" = "{version}" }
json = { count = "{next}", by = "{marker}" }

[expect]
winner = [200, 204]
conflict = [412]
TOML
}

bench_work() {
  WORK="$(mktemp -d)"
  SERVER=""
  trap bench_cleanup EXIT
}

bench_cleanup() {
  if [ -n "$SERVER" ]; then kill "$SERVER" 2> /dev/null || true; wait "$SERVER" 2> /dev/null || true; fi
  rm -rf "$WORK"
}

bench_serve() {
  "$1" serve --addr "127.0.0.1:$2" > "$WORK/server.log" 2>&1 &
  SERVER=$!
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$2/_contend/health" > /dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "the reference server did not start on 127.0.0.1:$2:" >&2
  cat "$WORK/server.log" >&2
  exit 2
}

bench_note() {
  local location
  location=$(curl -sf -D - -o /dev/null -H 'Content-Type: application/json' -d '{"count":0}' "$1/notes" \
    | tr -d '\r' | awk 'tolower($1) == "location:" { print $2 }')
  [ -n "$location" ] || { echo "cannot create a note on the reference server" >&2; exit 2; }
  case "$location" in http*) echo "$location" ;; *) echo "$1$location" ;; esac
}

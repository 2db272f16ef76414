#!/usr/bin/env bash
# json-server (npm): a REST API with no conflict detection at all. It ignores If-Match and
# every version, so every writer wins: the known-bad control.
# Usage: tests/servers/json-server.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGE="json-server@0.17.4"
HOME_DIR="$CONTEND_CACHE/json-server"
BIN="$HOME_DIR/node_modules/json-server/lib/cli/bin.js"

install_server() {
    installed "$HOME_DIR" "$PACKAGE" || npm_install "$HOME_DIR" "$PACKAGE"
    [ -f "$BIN" ] || die "$PACKAGE installed, but $BIN is missing"
}

launch_server() {
    local dir="$1" port="$2"
    echo '{ "items": [] }' >"$dir/db.json"
    node "$BIN" --host 127.0.0.1 --port "$port" --quiet "$dir/db.json" \
        >"$dir/json-server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    wait_until json-server "$SERVER_PID" "$dir/json-server.log" curl -sf "$SERVER_URL/items"
}

main json-server JSON_SERVER "$@"

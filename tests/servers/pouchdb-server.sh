#!/usr/bin/env bash
# pouchdb-server (npm; the CouchDB API, in memory): a stale _rev gets 409
# {"error":"conflict"}. start also creates the database `contend` the scenarios use.
# Usage: tests/servers/pouchdb-server.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGE="pouchdb-server@4.2.0"
HOME_DIR="$CONTEND_CACHE/pouchdb-server"
BIN="$HOME_DIR/node_modules/pouchdb-server/bin/pouchdb-server"

install_server() {
    installed "$HOME_DIR" "$PACKAGE" || npm_install "$HOME_DIR" "$PACKAGE"
    [ -f "$BIN" ] || die "$PACKAGE installed, but $BIN is missing"
}

launch_server() {
    local dir="$1" port="$2"
    # pouchdb-server keeps config.json and log.txt in its working folder.
    (cd "$dir" && exec node "$BIN" --in-memory --host 127.0.0.1 --port "$port" \
        >"$dir/pouchdb-server.log" 2>&1 </dev/null) &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    wait_until pouchdb-server "$SERVER_PID" "$dir/pouchdb-server.log" \
        curl -sf "$SERVER_URL/" || return 1
    curl -sf -X PUT "$SERVER_URL/contend" >/dev/null || {
        say "pouchdb-server is up but would not create the database: curl -X PUT $SERVER_URL/contend"
        return 1
    }
}

main pouchdb-server POUCHDB "$@"

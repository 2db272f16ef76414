#!/usr/bin/env bash
# Radicale (PyPI; CalDAV/CardDAV, events stored as files): Basic auth from an htpasswd
# file, collections made with MKCALENDAR, events PUT as text/calendar; a stale If-Match
# gets 412, and so does If-None-Match: * on an existing event.
# start writes the htpasswd file (one user, plain-text password: the only htpasswd
# format besides the passlib ones that needs no extra package; bcrypt needs `bcrypt`)
# and prints RADICALE_USER and RADICALE_PASSWORD too. It creates no calendar: a scenario
# makes its own with MKCALENDAR "$RADICALE_URL/$RADICALE_USER/<name>/".
# Usage: tests/servers/radicale.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

REQUIREMENT="radicale==3.9.0"
HOME_DIR="$CONTEND_CACHE/radicale"
USER_NAME="contend"
PASSWORD="contend-secret"

install_server() {
    installed "$HOME_DIR" "$REQUIREMENT" || pip_install "$HOME_DIR" "$REQUIREMENT" --with-deps
    [ -f "$HOME_DIR/radicale/__main__.py" ] || die "$REQUIREMENT installed, but $HOME_DIR/radicale is missing"
}

launch_server() {
    local dir="$1" port="$2"
    mkdir -p "$dir/collections"
    printf '%s:%s\n' "$USER_NAME" "$PASSWORD" >"$dir/users"
    # max_connections: Radicale accepts 8 connections at a time by default, fewer than
    # the writers of a race; the storage lock still serialises every write.
    cat >"$dir/config" <<CONF
[server]
hosts = 127.0.0.1:$port
max_connections = 64

[auth]
type = htpasswd
htpasswd_filename = $dir/users
htpasswd_encryption = plain

[rights]
type = owner_only

[storage]
filesystem_folder = $dir/collections

[logging]
level = warning
CONF
    PYTHONPATH="$HOME_DIR" python3 -m radicale --config "$dir/config" \
        >"$dir/radicale.log" 2>&1 </dev/null &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    SERVER_EXPORTS="RADICALE_USER=$USER_NAME RADICALE_PASSWORD=$PASSWORD"
    wait_until radicale "$SERVER_PID" "$dir/radicale.log" \
        curl -sf -u "$USER_NAME:$PASSWORD" -X PROPFIND -H 'Depth: 0' "$SERVER_URL/$USER_NAME/"
}

main radicale RADICALE "$@"

#!/usr/bin/env bash
# lighttpd with mod_webdav (Debian: lighttpd, lighttpd-mod-webdav): a conditional PUT with
# a stale If-Match gets 412; a PUT into a missing collection gets 409.
# Usage: tests/servers/lighttpd.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_server() {
    if command -v lighttpd >/dev/null 2>&1 && [ -e /usr/lib/lighttpd/mod_webdav.so ]; then
        return 0
    fi
    apt_install lighttpd lighttpd-mod-webdav
}

launch_server() {
    local dir="$1" port="$2"
    mkdir -p "$dir/root/dav" "$dir/upload"
    # lighttpd sends ETag on a GET only for a known content type, so every file is text.
    cat >"$dir/lighttpd.conf" <<CONF
server.document-root = "$dir/root"
server.bind = "127.0.0.1"
server.port = $port
server.modules = ("mod_webdav")
server.errorlog = "$dir/error.log"
server.upload-dirs = ("$dir/upload")
mimetype.assign = ("" => "text/plain")
webdav.activate = "enable"
webdav.is-readonly = "disable"
CONF
    lighttpd -D -f "$dir/lighttpd.conf" >"$dir/lighttpd.log" 2>&1 </dev/null &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    wait_until lighttpd "$SERVER_PID" "$dir/lighttpd.log" curl -s -o /dev/null "$SERVER_URL/dav/"
}

main lighttpd LIGHTTPD "$@"

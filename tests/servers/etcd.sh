#!/usr/bin/env bash
# etcd v3 (Debian: etcd-server), through its JSON gateway: a compare-and-swap /v3/kv/txn
# on mod_revision answers 200 either way, with "succeeded": true for the winner only.
# Usage: tests/servers/etcd.sh install | start | stop [PID [DIR]]  (see lib.sh)
# shellcheck source=tests/servers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_server() {
    command -v etcd >/dev/null 2>&1 || apt_install etcd-server
}

launch_server() {
    local dir="$1" port="$2" peer
    peer="$(free_port)"
    rm -rf "$dir/data"
    etcd --name contend --data-dir "$dir/data" \
        --listen-client-urls "http://127.0.0.1:$port" \
        --advertise-client-urls "http://127.0.0.1:$port" \
        --listen-peer-urls "http://127.0.0.1:$peer" \
        --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
        --initial-cluster "contend=http://127.0.0.1:$peer" \
        >"$dir/etcd.log" 2>&1 </dev/null &
    SERVER_PID=$!
    SERVER_URL="http://127.0.0.1:$port"
    wait_until etcd "$SERVER_PID" "$dir/etcd.log" curl -sf "$SERVER_URL/health"
}

main etcd ETCD "$@"

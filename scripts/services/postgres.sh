# PostgreSQL for the acquirer's store tests: a private cluster, never the system one.
#
# Sourced by scripts/services.sh (see its header for the contract). The cluster lives in
# $TAP_SERVICES_DIR/postgres (data/, the unix socket, log), is made afresh on every start,
# listens on 127.0.0.1 on a free port, and trusts loopback connections only: it holds test
# data and dies with the run. Exports TAP_POSTGRES_URL (a libpq connection URI).
# PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user
# that Debian's package creates.

postgres_bindir() {
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/pg_ctl" ] && latest="$dir"
    done
    echo "${latest:-}"
}

postgres_as_owner() {
    # Run a PostgreSQL program as the cluster's owner (ourselves, or `postgres` under root).
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

postgres_install() {
    [ -n "$(postgres_bindir)" ] || apt_install postgresql-15 postgresql-client-15
}

postgres_start() {
    bindir="$(postgres_bindir)"
    dir="$TAP_SERVICES_DIR/postgres"
    postgres_stop
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    postgres_as_owner "$bindir/initdb" --pgdata="$dir/data" --username=tap --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    postgres_as_owner "$bindir/pg_ctl" --pgdata="$dir/data" --log="$dir/server.log" --wait \
        --options="-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; return 1; }
    postgres_as_owner "$bindir/createdb" --host="$dir" --port="$port" --username=tap tap
    echo "export TAP_POSTGRES_URL='postgresql://tap@127.0.0.1:$port/tap'" >>"$TAP_SERVICES_DIR/env"
}

postgres_stop() {
    dir="$TAP_SERVICES_DIR/postgres"
    [ -f "$dir/data/postmaster.pid" ] || return 0
    postgres_as_owner "$(postgres_bindir)/pg_ctl" --pgdata="$dir/data" --mode=fast --wait stop >/dev/null
}

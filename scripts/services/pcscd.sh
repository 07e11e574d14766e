# pcscd with two vsmartcard-vpcd readers, private to this checkout (sourced by scripts/services.sh).
#
# The daemon is started through systemd-socket-activate on a socket of our own, so it needs no
# root, never meets a system pcscd, and clients reach it with PCSCLITE_CSOCK_NAME. Each vpcd
# reader entry loads its own copy of the driver library: two entries sharing one library share
# its global state and collide. vpcd listens on all interfaces, so its ports are picked at
# random from the free ones and known only to this run. Exported for the tests:
#   PCSCLITE_CSOCK_NAME   the daemon's socket (read by libpcsclite, hence by pyscard)
#   TAP_VPCD_PORTS        the vpcd ports, space separated, one per reader, in reader order
#   TAP_VPCD_READERS      the PC/SC names of those readers, separated by "|"

PCSCD_READERS=2
PCSCD_VPCD_LIBRARY=/usr/lib/pcsc/drivers/serial/libifdvpcd.so

pcscd_install() {
    # pcscd and the vpcd driver for the tests; PC/SC headers, swig and a compiler for pyscard.
    apt_install pcscd vsmartcard-vpcd libpcsclite-dev swig gcc
    command -v systemd-socket-activate >/dev/null 2>&1 || apt_install systemd
}

pcscd_free_ports() {
    # pcscd_free_ports N : N free TCP ports whose next port is free too. Debian's vpcd serves
    # two slots per reader entry, slot n on PORT+n; only slot 0 is used, but the two must
    # not meet another entry's port.
    python3 - "$1" <<'PY'
import socket, sys
ports, held = [], []
while len(ports) < int(sys.argv[1]):
    pair = [socket.socket(), socket.socket()]
    pair[0].bind(("127.0.0.1", 0))
    port = pair[0].getsockname()[1]
    try:
        pair[1].bind(("127.0.0.1", port + 1))
    except OSError:
        continue
    held += pair
    ports.append(port)
print(" ".join(map(str, ports)))
PY
}

pcscd_start() {
    dir="$TAP_SERVICES_DIR/pcscd"
    pcscd_stop
    rm -rf "$dir"
    mkdir -p "$dir/reader.conf.d" "$dir/drivers"
    ports=$(pcscd_free_ports "$PCSCD_READERS")
    names=""
    i=0
    for port in $ports; do
        cp "$PCSCD_VPCD_LIBRARY" "$dir/drivers/libifdvpcd-$i.so"
        # DEVICENAME /dev/null:PORT makes the driver wait for a card on PORT.
        cat > "$dir/reader.conf.d/vpcd-$i" <<CONF
FRIENDLYNAME "Tap vpcd $i"
DEVICENAME   /dev/null:$port
LIBPATH      $dir/drivers/libifdvpcd-$i.so
CHANNELID    $port
CONF
        names="${names:+$names|}Tap vpcd $i 00 00"
        i=$((i + 1))
    done
    socket="$dir/pcscd.comm"
    # systemd-socket-activate execs pcscd in its own place: $! is the daemon's pid.
    systemd-socket-activate --listen="$socket" \
        -E PCSCLITE_CSOCK_NAME="$socket" \
        /usr/sbin/pcscd --foreground --config "$dir/reader.conf.d" \
        >"$dir/pcscd.log" 2>&1 </dev/null &
    echo $! > "$dir/pid"
    # The socket exists once systemd-socket-activate listens; the first client starts pcscd.
    n=0
    until [ -S "$socket" ]; do
        n=$((n + 1))
        if [ "$n" -gt 100 ]; then
            echo "services: pcscd socket $socket did not appear; see $dir/pcscd.log" >&2
            return 1
        fi
        sleep 0.05
    done
    if ! PCSCLITE_CSOCK_NAME="$socket" pcscd_wait_readers "$names"; then
        echo "services: pcscd did not list its vpcd readers; see $dir/pcscd.log" >&2
        return 1
    fi
    {
        echo "export PCSCLITE_CSOCK_NAME='$socket'"
        echo "export TAP_VPCD_PORTS='$ports'"
        echo "export TAP_VPCD_READERS='$names'"
    } >> "$TAP_SERVICES_DIR/env"
}

pcscd_wait_readers() {
    # pcscd_wait_readers "NAME|NAME..." : wait (at most 10 s) until pcscd lists every reader.
    "${TAP_PYTHON:-.venv/bin/python}" - "$1" <<'PY'
import sys, time
from smartcard.scard import (SCARD_S_SUCCESS, SCARD_SCOPE_USER, SCardEstablishContext,
                             SCardListReaders, SCardReleaseContext)
wanted = set(sys.argv[1].split("|"))
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    rc, ctx = SCardEstablishContext(SCARD_SCOPE_USER)
    if rc == SCARD_S_SUCCESS:
        rc, readers = SCardListReaders(ctx, [])
        SCardReleaseContext(ctx)
        if rc == SCARD_S_SUCCESS and wanted <= set(readers):
            sys.exit(0)
    time.sleep(0.1)
sys.exit(1)
PY
}

pcscd_stop() {
    stop_pidfile "$TAP_SERVICES_DIR/pcscd/pid"
}

# Mosquitto for the MQTT actuator tests: a private broker, never the system one.
#
# Sourced by scripts/services.sh (see its header for the contract). The broker runs from
# its own configuration in $TAP_SERVICES_DIR/mosquitto (config, log, pid), listens on
# 127.0.0.1 only on a free port, keeps nothing on disk (persistence false) and lets
# anonymous clients in: it is reachable from loopback only and dies with the run.
# Exports TAP_MQTT_URL (mqtt://127.0.0.1:PORT). Started as root, mosquitto drops to its
# `mosquitto` user, which needs no file of ours: the log goes to its inherited stderr.

MOSQUITTO_BIN=/usr/sbin/mosquitto

mosquitto_install() {
    [ -x "$MOSQUITTO_BIN" ] || apt_install mosquitto
}

mosquitto_start() {
    dir="$TAP_SERVICES_DIR/mosquitto"
    mosquitto_stop
    rm -rf "$dir"
    mkdir -p "$dir"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    cat > "$dir/mosquitto.conf" <<CONF
listener $port 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
log_type notice
CONF
    "$MOSQUITTO_BIN" -c "$dir/mosquitto.conf" >"$dir/mosquitto.log" 2>&1 </dev/null &
    echo $! > "$dir/pid"
    if ! mosquitto_wait "$port"; then
        echo "services: mosquitto did not accept MQTT connections on port $port; see $dir/mosquitto.log" >&2
        cat "$dir/mosquitto.log" >&2
        return 1
    fi
    echo "export TAP_MQTT_URL='mqtt://127.0.0.1:$port'" >>"$TAP_SERVICES_DIR/env"
}

mosquitto_wait() {
    # mosquitto_wait PORT : wait (at most 10 s) until the broker answers an MQTT 3.1.1 CONNECT
    # with CONNACK "accepted" (OASIS MQTT 3.1.1 sections 3.1 and 3.2), not only a TCP accept.
    python3 - "$1" <<'PY'
import socket, sys, time
connect = bytes([0x10, 12, 0, 4]) + b"MQTT" + bytes([4, 0x02, 0, 10, 0, 0])
deadline = time.monotonic() + 10
while time.monotonic() < deadline:
    try:
        with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
            s.sendall(connect)
            if s.recv(4) == bytes([0x20, 2, 0, 0]):
                s.sendall(bytes([0xE0, 0]))  # DISCONNECT
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.1)
sys.exit(1)
PY
}

mosquitto_stop() {
    stop_pidfile "$TAP_SERVICES_DIR/mosquitto/pid"
}

#!/bin/sh
# Install the Tap systemd units, the tap system user and the example environment files.
#
#   sh deploy/install.sh                  as root (`make install-units`)
#   DESTDIR=/tmp/stage sh deploy/install.sh   stage the files only: no user, no daemon-reload
#
# The programs themselves are installed apart, in /opt/tap/venv (README: "Running as a
# service"). Existing /etc/tap/*.env files are an operator's settings and are kept.
set -eu
cd "$(dirname "$0")"
DESTDIR="${DESTDIR:-}"
install -d -m 0755 "$DESTDIR/etc/systemd/system" "$DESTDIR/etc/sysusers.d" "$DESTDIR/etc/tap"
install -m 0644 tap-acquirer.service tap-terminal.service "$DESTDIR/etc/systemd/system/"
install -m 0644 tap.sysusers.conf "$DESTDIR/etc/sysusers.d/tap.conf"
for role in acquirer terminal; do
    target="$DESTDIR/etc/tap/$role.env"
    if [ -e "$target" ]; then
        echo "kept $target"
    else
        install -m 0600 "$role.env" "$target"
    fi
done
[ -n "$DESTDIR" ] && exit 0
systemd-sysusers /etc/sysusers.d/tap.conf
if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
else
    echo "systemd is not running here: the units are installed but not loaded"
fi

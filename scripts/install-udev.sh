#!/bin/sh
# Install the udev rules and the modprobe blacklist for USB NFC readers, then apply them.
#
#   sudo sh scripts/install-udev.sh            (what `sudo make install-udev` runs)
#   DESTDIR=/tmp/root sh scripts/install-udev.sh   stage the files only (packaging, tests)
#
# Applying means: udev reloads its rules and re-runs them for USB devices, and the kernel
# NFC drivers that already hold a reader are unloaded. Re-plug a reader that was plugged
# in before, and make sure you are in group plugdev (`id -nG`; `sudo usermod -aG plugdev $USER`
# and log in again).
set -eu
cd "$(dirname "$0")/.."
DESTDIR="${DESTDIR:-}"
RULES_DIR="$DESTDIR/etc/udev/rules.d"
MODPROBE_DIR="$DESTDIR/etc/modprobe.d"

install -d "$RULES_DIR" "$MODPROBE_DIR"
install -m 0644 udev/60-tap-nfc-readers.rules "$RULES_DIR/60-tap-nfc-readers.rules"
install -m 0644 udev/blacklist-tap-nfc.conf "$MODPROBE_DIR/blacklist-tap-nfc.conf"
echo "installed $RULES_DIR/60-tap-nfc-readers.rules and $MODPROBE_DIR/blacklist-tap-nfc.conf"

[ -z "$DESTDIR" ] || exit 0
getent group plugdev >/dev/null 2>&1 || groupadd --system plugdev
if command -v udevadm >/dev/null 2>&1 && udevadm control --reload-rules 2>/dev/null; then
    udevadm trigger --subsystem-match=usb --action=change
    echo "udev rules reloaded"
else
    echo "udev is not running here (a container?): the rules apply from the next boot" >&2
fi
for module in pn533_usb port100 pn533 nfc; do
    if [ -d "/sys/module/$module" ]; then
        modprobe -r "$module" 2>/dev/null && echo "unloaded kernel module $module" ||
            echo "kernel module $module is in use: re-plug the reader or reboot" >&2
    fi
done

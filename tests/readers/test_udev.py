"""udev/: the rules cover every reader in the device table, one commented line each, and
`make install-udev` installs them (staged into a DESTDIR here: CI is no place to reload udev)."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from terminal.readers.devices import KERNEL_NFC_MODULES, KNOWN_READERS

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "udev" / "60-tap-nfc-readers.rules"
BLACKLIST = ROOT / "udev" / "blacklist-tap-nfc.conf"
RULE = re.compile(
    r'ATTR\{idVendor\}=="([0-9a-f]{4})", ATTR\{idProduct\}=="([0-9a-f]{4})", '
    r'MODE="0660", GROUP="plugdev", TAG\+="uaccess"'
)


def test_every_known_reader_has_one_commented_rule() -> None:
    lines = RULES.read_text().splitlines()
    rules = {}
    for number, line in enumerate(lines):
        match = RULE.fullmatch(line)
        if match:
            assert lines[number - 1].startswith("# "), f"rule on line {number + 1} has no comment"
            rules[f"{match[1]}:{match[2]}"] = lines[number - 1]
    assert set(rules) == {r.usb_id for r in KNOWN_READERS}
    for reader in KNOWN_READERS:
        assert reader.name in rules[reader.usb_id]
    for must in ("072f:2200", "072f:223b", "04e6:5591", "04e6:5593", "04cc:2533", "054c:06c1",
                 "054c:06c3", "054c:02e1"):  # fmt: skip
        assert must in rules


def test_blacklist_names_the_kernel_nfc_drivers() -> None:
    listed = [
        line.split()[1]
        for line in BLACKLIST.read_text().splitlines()
        if line.startswith("blacklist ")
    ]
    assert listed == list(KERNEL_NFC_MODULES)


def test_install_udev_stages_the_files(tmp_path: Path) -> None:
    done = subprocess.run(["make", "-s", "install-udev"], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, "DESTDIR": str(tmp_path)}, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (
        tmp_path / "etc/udev/rules.d/60-tap-nfc-readers.rules"
    ).read_bytes() == RULES.read_bytes()
    assert (
        tmp_path / "etc/modprobe.d/blacklist-tap-nfc.conf"
    ).read_bytes() == BLACKLIST.read_bytes()
    assert (
        oct((tmp_path / "etc/udev/rules.d/60-tap-nfc-readers.rules").stat().st_mode & 0o777)
        == "0o644"
    )

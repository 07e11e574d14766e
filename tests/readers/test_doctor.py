"""`tap-terminal doctor` on machines we build in sysfs: each problem, its exact fix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from terminal import doctor
from terminal.doctor import Level, PcscStatus, Report, diagnose, scan_usb

BIN = Path(sys.executable).parent
NO_PCSCD = PcscStatus(library=True, readers=None, error="Service not available (0x8010001D)")


def usb_device(sysfs: Path, name: str, usb_id: str, bus: int, dev: int, driver: str | None) -> None:
    """A USB device in a fake /sys, with its first interface bound to ``driver``."""
    root = sysfs / "bus" / "usb" / "devices"
    device = root / name
    device.mkdir(parents=True)
    vendor, product = usb_id.split(":")
    for attribute, value in (("idVendor", vendor), ("idProduct", product),
                             ("busnum", str(bus)), ("devnum", str(dev))):  # fmt: skip
        (device / attribute).write_text(value + "\n")
    interface = root / f"{name}:1.0"
    interface.mkdir()
    if driver:
        target = sysfs / "bus" / "usb" / "drivers" / driver
        target.mkdir(parents=True, exist_ok=True)
        os.symlink(target, interface / "driver")


def by_topic(report: Report, topic: str) -> list[tuple[Level, str, str | None]]:
    return [(f.level, f.message, f.fix) for f in report.findings if f.topic == topic]


def test_no_reader_anywhere_says_so_and_suggests_the_emulated_card(tmp_path: Path) -> None:
    report = diagnose(sysfs=tmp_path, pcsc=lambda: NO_PCSCD, pcscd_installed=True,
                      nfcpy_installed=True)  # fmt: skip
    assert not report.healthy
    [(level, message, fix)] = by_topic(report, "readers")
    assert level is Level.FAIL
    assert message == "No NFC reader found: none on USB, no physical reader in pcscd."
    assert fix is not None and "--reader emulated:NAME" in fix and "tap-card serve" in fix
    [(level, message, _)] = by_topic(report, "usb")
    assert "no USB bus is visible" in message


def test_pcscd_not_installed(tmp_path: Path) -> None:
    report = diagnose(sysfs=tmp_path, pcsc=lambda: NO_PCSCD, pcscd_installed=False)
    [(level, message, fix)] = by_topic(report, "pcscd")
    assert level is Level.FAIL
    assert "pcscd is not reachable" in message and "0x8010001D" in message
    assert fix == "sudo apt-get install pcscd libccid"


def test_pyscard_missing_gives_the_pip_extra(tmp_path: Path) -> None:
    report = diagnose(sysfs=tmp_path, pcsc=lambda: PcscStatus(library=False, readers=None),
                      nfcpy_installed=False)  # fmt: skip
    fixes = {f.topic: f.fix for f in report.findings}
    assert fixes["pcsc"] is not None and "pip install 'tap-stack[pcsc]'" in fixes["pcsc"]
    assert fixes["nfcpy"] == "pip install 'tap-stack[nfc]'"


def test_reader_held_by_a_kernel_driver(tmp_path: Path) -> None:
    usb_device(tmp_path, "1-2", "04e6:5591", 1, 7, "pn533_usb")
    report = diagnose(sysfs=tmp_path, pcsc=lambda: PcscStatus(True, []), can_open=lambda _: True)
    [(level, message, fix)] = by_topic(report, "usb")
    assert level is Level.FAIL
    assert message == (
        "SCM SCL3711 (04e6:5591) on bus 1 device 7 is held by the kernel driver pn533_usb: "
        "neither pcscd nor nfcpy can use it"
    )
    assert (
        fix
        == "sudo modprobe -r pn533_usb pn533 port100 nfc; sudo make install-udev (blacklists them for good)"
    )
    assert by_topic(report, "readers") == []  # the reader is there, it is just held


def test_reader_nobody_may_open(tmp_path: Path) -> None:
    usb_device(tmp_path, "3-1", "054c:06c3", 3, 4, None)
    seen: list[Path] = []
    report = diagnose(sysfs=tmp_path, pcsc=lambda: PcscStatus(True, []),
                      can_open=lambda p: bool(seen.append(p)))  # fmt: skip
    assert seen == [Path("/dev/bus/usb/003/004")]
    [(level, message, fix)] = by_topic(report, "usb")
    assert level is Level.FAIL and "may not open /dev/bus/usb/003/004" in message
    assert fix is not None and fix.startswith("sudo make install-udev") and "plugdev" in fix


def test_reader_in_pcscd_and_one_free_for_nfcpy(tmp_path: Path) -> None:
    usb_device(tmp_path, "1-1", "072f:223b", 1, 2, "usbfs")
    usb_device(tmp_path, "1-3", "054c:06c1", 1, 9, None)
    usb_device(tmp_path, "1-4", "1d6b:0002", 1, 1, "hub")  # not a reader: ignored
    pcsc = PcscStatus(True, ["ACS ACR1252 1S CL Reader [ACR1252 Reader PICC] 00 00"])
    report = diagnose(sysfs=tmp_path, pcsc=lambda: pcsc, can_open=lambda _: True)
    assert report.healthy
    usb = by_topic(report, "usb")
    assert usb[0][:2] == (
        Level.INFO,
        "ACS ACR1252U (072f:223b) on bus 1 device 2 is open in pcscd (CCID driver)",
    )
    assert usb[1][:2] == (
        Level.OK,
        "Sony RC-S380/S (054c:06c1) on bus 1 device 9 is free: use it with --reader nfc:usb:001:009",
    )
    assert [r.model.name for r in scan_usb(tmp_path) or []] == ["ACS ACR1252U", "Sony RC-S380/S"]


def test_virtual_readers_are_not_hardware(tmp_path: Path) -> None:
    report = diagnose(sysfs=tmp_path, pcsc=lambda: PcscStatus(True, ["Virtual PCD 00 00"]))
    [(level, message, _)] = by_topic(report, "pcscd")
    assert level is Level.OK and "Virtual PCD 00 00 (virtual: emulated cards)" in message
    assert by_topic(report, "readers")[0][0] is Level.FAIL


def test_the_command_on_this_machine(tmp_path: Path) -> None:
    """The real thing, in a child (libpcsclite keeps its socket name per process)."""
    env = {**os.environ, "PCSCLITE_CSOCK_NAME": str(tmp_path / "no-pcscd.comm"), "COLUMNS": "200"}
    done = subprocess.run([str(BIN / "tap-terminal"), "doctor", "--json"], capture_output=True,
                          text=True, env=env, timeout=60, check=False)  # fmt: skip
    report = json.loads(done.stdout)
    pcscd = [f for f in report["findings"] if f["topic"] == "pcscd"]
    assert pcscd[0]["level"] == "fail"
    assert "no-pcscd.comm, which does not exist" in pcscd[0]["fix"]
    if not report["usb_readers"]:  # a machine with no reader: CI's
        assert done.returncode == 1
        assert report["findings"][-1]["message"].startswith("No NFC reader found")
    human = subprocess.run([str(BIN / "tap-terminal"), "doctor"], capture_output=True, text=True,
                           env=env, timeout=60, check=False)  # fmt: skip
    assert "fix:" in human.stdout and human.returncode == done.returncode


def test_pcscd_running_but_refusing_us_points_at_polkit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    socket = tmp_path / "pcscd.comm"
    socket.touch()
    monkeypatch.setenv("PCSCLITE_CSOCK_NAME", str(socket))
    monkeypatch.setattr(doctor, "pcscd_running", lambda: True)
    report = diagnose(sysfs=tmp_path, pcsc=lambda: NO_PCSCD, pcscd_installed=True)
    [(level, message, fix)] = by_topic(report, "pcscd")
    assert level is Level.FAIL and message.startswith(f"pcscd is not reachable on {socket}")
    assert fix is not None and "org.debian.pcsc-lite.access_pcsc" in fix


def test_pcscd_running_reads_proc(tmp_path: Path) -> None:
    (tmp_path / "42").mkdir()
    (tmp_path / "42" / "comm").write_text("bash\n")
    assert not doctor.pcscd_running(tmp_path)
    (tmp_path / "77").mkdir()
    (tmp_path / "77" / "comm").write_text("pcscd\n")
    assert doctor.pcscd_running(tmp_path)

"""``tap-terminal doctor``: why can't the terminal see my reader, and the exact fix.

A shopkeeper's first five minutes: a USB reader is plugged in and nothing works. The
doctor looks where the answer is and says what to type:

1. the reader libraries: pyscard (PC/SC) and nfcpy importable;
2. pcscd: installed, reachable on its socket (``PCSCLITE_CSOCK_NAME`` or the system one),
   and the readers it lists (vsmartcard's virtual readers are labelled as such);
3. USB (``/sys/bus/usb/devices``): every known NFC reader (:mod:`terminal.readers.devices`),
   whether this user may open its device node, and which driver holds each interface,
   read from the ``driver`` link in sysfs: a kernel NFC driver (``pn533_usb``, ``port100``)
   blocks pcscd and nfcpy alike; ``usbfs`` means a program (pcscd, another nfcpy) has it;
4. no reader at all: said plainly, with the emulated card as the way to try everything.

Each finding is a :class:`Finding`; a ``fail`` makes the exit status 1.
"""

from __future__ import annotations

import getpass
import importlib.util
import os
import shutil
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from terminal.readers.devices import KERNEL_NFC_MODULES, KnownReader, known_reader

SYSTEM_PCSCD_SOCKET = Path("/run/pcscd/pcscd.comm")
#: PC/SC reader names of vsmartcard's virtual readers (Debian's default, ours in tests).
VIRTUAL_READER_HINTS = ("virtual pcd", "vpcd")
EMULATED_HINT = (
    "try the terminal with an emulated card: `tap-card personalize NAME --profile visa ...` "
    "then `tap-terminal pay 12.50 --reader emulated:NAME`, or put the card in a PC/SC reader "
    "with `tap-card serve NAME --vpcd 127.0.0.1:35963` (needs the vsmartcard-vpcd package) "
    "and pay with `--reader pcsc`"
)


class Level(StrEnum):
    """How much a finding matters."""

    OK = "ok"
    INFO = "info"
    WARN = "warn"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class Finding:
    """One thing the doctor found, and the command that fixes it."""

    level: Level
    topic: str
    message: str
    fix: str | None = None


@dataclass(frozen=True, slots=True)
class UsbReader:
    """A known NFC reader on the USB bus, as sysfs describes it."""

    sysfs_name: str
    model: KnownReader
    bus: int
    device: int
    drivers: tuple[str, ...]

    @property
    def devnode(self) -> Path:
        """The device node libusb opens (``/dev/bus/usb/BBB/DDD``)."""
        return Path(f"/dev/bus/usb/{self.bus:03d}/{self.device:03d}")

    @property
    def nfcpy_path(self) -> str:
        """The nfcpy path of exactly this device."""
        return f"usb:{self.bus:03d}:{self.device:03d}"


@dataclass(frozen=True, slots=True)
class PcscStatus:
    """What pcscd told us: ``readers`` is None when it could not be asked."""

    library: bool
    readers: list[str] | None
    error: str | None = None


@dataclass
class Report:
    """Everything the doctor found."""

    findings: list[Finding] = field(default_factory=list)
    pcsc_readers: list[str] = field(default_factory=list)
    usb_readers: list[UsbReader] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        """No finding is a failure."""
        return all(f.level is not Level.FAIL for f in self.findings)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary, for kiosk integrators' set-up screens."""
        return {
            "healthy": self.healthy,
            "findings": [asdict(f) for f in self.findings],
            "pcsc_readers": self.pcsc_readers,
            "usb_readers": [
                {
                    "model": r.model.name,
                    "usb_id": r.model.usb_id,
                    "bus": r.bus,
                    "device": r.device,
                    "drivers": list(r.drivers),
                }
                for r in self.usb_readers
            ],
        }

    def add(self, level: Level, topic: str, message: str, fix: str | None = None) -> None:
        self.findings.append(Finding(level, topic, message, fix))


def scan_usb(sysfs: Path = Path("/sys")) -> list[UsbReader] | None:
    """Known NFC readers on the USB bus; None when there is no USB bus to look at."""
    root = sysfs / "bus" / "usb" / "devices"
    if not root.is_dir():
        return None
    found = []
    for device in sorted(root.iterdir()):
        try:
            vendor = int((device / "idVendor").read_text().strip(), 16)
            product = int((device / "idProduct").read_text().strip(), 16)
            bus = int((device / "busnum").read_text())
            number = int((device / "devnum").read_text())
        except (OSError, ValueError):
            continue  # interfaces and hubs' ports have no ids
        model = known_reader(vendor, product)
        if model is None:
            continue
        drivers = []
        for interface in sorted(root.glob(f"{device.name}:*")):
            link = interface / "driver"
            if link.is_symlink():
                drivers.append(os.path.basename(os.readlink(link)))
        found.append(UsbReader(device.name, model, bus, number, tuple(drivers)))
    return found


def probe_pcsc() -> PcscStatus:
    """Ask pcscd for its readers through pyscard."""
    if importlib.util.find_spec("smartcard") is None:
        return PcscStatus(library=False, readers=None)
    from terminal.readers.pcsc import service_status

    readers, error = service_status()
    return PcscStatus(library=True, readers=readers, error=error)


def pcscd_running(proc: Path = Path("/proc")) -> bool:
    """Whether a pcscd process is alive (any user's; /proc/PID/comm is world-readable)."""
    for comm in proc.glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == "pcscd":
                return True
        except OSError:
            continue
    return False


def _can_open(path: Path) -> bool:
    return os.access(path, os.R_OK | os.W_OK)


def diagnose(
    *,
    sysfs: Path = Path("/sys"),
    pcsc: Callable[[], PcscStatus] = probe_pcsc,
    can_open: Callable[[Path], bool] = _can_open,
    pcscd_installed: bool | None = None,
    nfcpy_installed: bool | None = None,
) -> Report:
    """Run every check; the keyword arguments exist so tests can stand in for the machine."""
    report = Report()
    if nfcpy_installed is None:
        nfcpy_installed = importlib.util.find_spec("nfc") is not None
    if pcscd_installed is None:
        pcscd_installed = bool(shutil.which("pcscd") or Path("/usr/sbin/pcscd").exists())
    _check_pcsc(report, pcsc(), pcscd_installed)
    if not nfcpy_installed:
        report.add(Level.WARN, "nfcpy", "nfcpy is not installed: the `nfc` reader backend is off",
                   "pip install 'tap-stack[nfc]'")  # fmt: skip
    _check_usb(report, scan_usb(sysfs), can_open, pcscd_running=report.pcsc_readers is not None)
    physical = [r for r in report.pcsc_readers if not _is_virtual(r)]
    if not physical and not report.usb_readers:
        report.add(Level.FAIL, "readers", "No NFC reader found: none on USB, no physical reader in pcscd.",
                   f"plug in a USB reader (see udev/README.md for the models), or {EMULATED_HINT}")  # fmt: skip
    return report


def _is_virtual(name: str) -> bool:
    return any(hint in name.lower() for hint in VIRTUAL_READER_HINTS)


def _check_pcsc(report: Report, status: PcscStatus, pcscd_installed: bool) -> None:
    if not status.library:
        report.add(Level.WARN, "pcsc", "pyscard is not installed: the `pcsc` reader backend is off",
                   "pip install 'tap-stack[pcsc]' (needs: sudo apt-get install swig libpcsclite-dev)")  # fmt: skip
        return
    socket = Path(os.environ.get("PCSCLITE_CSOCK_NAME") or SYSTEM_PCSCD_SOCKET)
    if status.readers is None:
        if not pcscd_installed:
            fix = "sudo apt-get install pcscd libccid"
        elif not socket.exists():
            if Path("/run/systemd/system").is_dir():
                fix = "sudo systemctl enable --now pcscd.socket"
            else:  # no systemd (a container): start the daemon itself
                fix = "sudo pcscd (no systemd here to start it on demand)"
            if "PCSCLITE_CSOCK_NAME" in os.environ:
                fix = f"PCSCLITE_CSOCK_NAME points at {socket}, which does not exist: unset it, or {fix}"
        elif pcscd_running():
            # A live daemon that hangs up on us: Debian's pcscd asks polkit about every client.
            fix = (
                "pcscd is running but turns this user away: allow the polkit actions "
                "org.debian.pcsc-lite.access_pcsc and org.debian.pcsc-lite.access_card for "
                f"{getpass.getuser()} (a rule in /etc/polkit-1/rules.d/), or run the terminal "
                "from a local session"
            )
        else:
            fix = "sudo systemctl restart pcscd.socket pcscd (see: journalctl -u pcscd)"
        report.add(Level.FAIL, "pcscd", f"pcscd is not reachable on {socket} ({status.error})", fix)
        return
    report.pcsc_readers = status.readers
    if not status.readers:
        report.add(Level.INFO, "pcscd", f"pcscd is running ({socket}) and lists no reader")
        return
    names = ", ".join(
        f"{n} (virtual: emulated cards)" if _is_virtual(n) else n for n in status.readers
    )
    report.add(Level.OK, "pcscd", f"pcscd is running ({socket}); PC/SC readers: {names}",
               "use one with --reader pcsc (first) or --reader pcsc:NAME")  # fmt: skip


def _check_usb(
    report: Report,
    readers: list[UsbReader] | None,
    can_open: Callable[[Path], bool],
    *,
    pcscd_running: bool,
) -> None:
    if readers is None:
        report.add(Level.INFO, "usb", "no USB bus is visible here (/sys/bus/usb is missing: a "
                   "container or VM without USB passthrough?)")  # fmt: skip
        return
    report.usb_readers = readers
    for reader in readers:
        label = f"{reader.model.name} ({reader.model.usb_id}) on bus {reader.bus} device {reader.device}"
        kernel = [d for d in reader.drivers if d in KERNEL_NFC_MODULES]
        if kernel:
            modules = " ".join(KERNEL_NFC_MODULES)
            report.add(Level.FAIL, "usb", f"{label} is held by the kernel driver {kernel[0]}: "
                       "neither pcscd nor nfcpy can use it",
                       f"sudo modprobe -r {modules}; sudo make install-udev (blacklists them for good)")  # fmt: skip
            continue
        if not can_open(reader.devnode):
            report.add(Level.FAIL, "usb", f"{label}: {getpass.getuser()} may not open {reader.devnode}",
                       "sudo make install-udev, re-plug the reader, and be in group plugdev "
                       "(sudo usermod -aG plugdev $USER, then log in again)")  # fmt: skip
            continue
        if "usbfs" in reader.drivers:
            holder = "pcscd (CCID driver)" if pcscd_running else "a program using libusb"
            fix = None
            if "nfc" in reader.model.stacks:
                fix = (f"for --reader nfc:{reader.nfcpy_path}, free it: sudo systemctl stop "
                       "pcscd.socket pcscd")  # fmt: skip
            report.add(Level.INFO, "usb", f"{label} is open in {holder}", fix)
            continue
        uses = []
        if "pcsc" in reader.model.stacks:
            uses.append("--reader pcsc (with pcscd and libccid)")
        if "nfc" in reader.model.stacks:
            uses.append(f"--reader nfc:{reader.nfcpy_path}")
        report.add(Level.OK, "usb", f"{label} is free: use it with {' or '.join(uses)}")


_MARK = {Level.OK: "[green]ok[/]", Level.INFO: "[cyan]--[/]", Level.WARN: "[yellow]!![/]",
         Level.FAIL: "[bold red]XX[/]"}  # fmt: skip


def render(report: Report, console: Console) -> None:
    """Print the findings, each with its fix."""
    for finding in report.findings:
        console.print(f"{_MARK[finding.level]} {escape(finding.message)}")
        if finding.fix:
            console.print(
                f"   fix: {escape(finding.fix)}", style="dim" if finding.level is Level.OK else None
            )
    verdict = "everything needed is in place" if report.healthy else "see the fixes above"
    console.print(f"\n{'[green]' if report.healthy else '[red]'}{verdict}[/]")

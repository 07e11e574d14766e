"""A second, throwaway pcscd for one test: the one `make test` runs must outlive its tests.

Started like ``scripts/services/pcscd.sh`` starts the suite's daemon (socket activation,
one vpcd reader with its own copy of the driver library) in a temporary folder. libpcsclite
reads PCSCLITE_CSOCK_NAME once per process, so clients of this daemon run in a child
process with that variable set.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

VPCD_LIBRARY = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
READER = "Tap private vpcd"


class PrivatePcscd:
    """pcscd with one vpcd reader on ``port``, private to ``folder``."""

    def __init__(self, folder: Path, port: int) -> None:
        self.folder, self.port = folder, port
        self.socket = folder / "pcscd.comm"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        conf = self.folder / "reader.conf.d"
        conf.mkdir(parents=True)
        library = self.folder / "libifdvpcd-private.so"
        shutil.copy(VPCD_LIBRARY, library)
        (conf / "vpcd").write_text(
            f'FRIENDLYNAME "{READER}"\nDEVICENAME /dev/null:{self.port}\n'
            f"LIBPATH {library}\nCHANNELID {self.port}\n"
        )
        self.process = subprocess.Popen(
            ["systemd-socket-activate", f"--listen={self.socket}",
             "-E", f"PCSCLITE_CSOCK_NAME={self.socket}",
             "/usr/sbin/pcscd", "--foreground", "--config", str(conf)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 5
        while not self.socket.exists():
            assert time.monotonic() < deadline, "private pcscd socket did not appear"
            time.sleep(0.02)

    def env(self) -> dict[str, str]:
        return {**os.environ, "PCSCLITE_CSOCK_NAME": str(self.socket)}

    def kill(self) -> None:
        """The daemon dies: every reader it served disappears at once."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(5)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.kill()

"""Ctrl-C and SIGTERM on `tap-terminal pay` waiting on a PC/SC reader (issue 11).

Before: SIGINT took up to `reader.wait` (the handler could not run while pyscard blocked in
SCardGetStatusChange). Now the command ends with the documented exit status and a
"cancelled" message, no traceback. The 60 s wait is far longer than the hang guard.
"""

from __future__ import annotations

import os
import signal
import subprocess

import pytest

from tests.readers.stacks import vpcd_slot, wait_empty
from tests.system.support import BIN


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_ends_a_pcsc_wait_as_cancelled(tmp_path: object, signum: int, code: int) -> None:
    _, name = vpcd_slot(0)
    wait_empty(name)
    settings = tmp_path / "terminal.toml"  # type: ignore[operator]
    settings.write_text("[reader]\nwait = 60.0\n")
    command = subprocess.Popen(
        [str(BIN / "tap-terminal"), "pay", "12.50", "--reader", f"pcsc:{name}",
         "--settings", str(settings)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "200"},
    )  # fmt: skip
    try:
        assert command.stderr is not None
        seen = ""
        while "Present card" not in seen.split("...", 1)[-1]:  # the reader's own UI line
            line = command.stderr.readline()
            assert line, seen
            seen += line
        command.send_signal(signum)
        _, rest = command.communicate(timeout=20)
    finally:
        if command.poll() is None:
            command.kill()
            command.wait()
    errors = seen + rest
    assert command.returncode == code, errors
    assert "Cancelled: nothing was charged" in errors
    assert "Traceback" not in errors

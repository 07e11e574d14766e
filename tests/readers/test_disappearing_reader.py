"""A reader that disappears mid-transaction: Try Again now, a plain "reader unavailable" next.

PC/SC: the pcscd serving the reader is killed while the card computes its GPO answer (a
reader unplugged, or the daemon crashing, look the same to a client). nfcpy: the device is
closed under the reader while the card asks for more time, which is what nfcpy does when
the USB device goes away (every later call raises ``IOError(ENODEV)``).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from card_emulation import EmvApplet
from card_emulation.transports import TransportError
from card_emulation.transports.vpcd import VpcdCard
from terminal.errors import ReaderUnavailableError
from terminal.kernel import Kernel, Outcome, Transaction
from tests.readers.private_pcscd import READER, PrivatePcscd
from tests.readers.stacks import NfcRig, SlowCard, Tripwire, free_port
from tests.services import service_env

GPO = 0xA8
BIN = Path(sys.executable).parent


def test_nfc_reader_device_gone_mid_transaction(applet: EmvApplet) -> None:
    rig = NfcRig(card_timeout=2.0)
    try:
        # The device goes 0.1 s into a GPO that takes the card 1.5 s: a wide margin, so a
        # loaded machine's late timer still unplugs before the answer exists.
        unplug = lambda: threading.Timer(0.1, rig.nfc.clf.close).start()  # noqa: E731
        rig.insert(Tripwire(SlowCard(applet, 1.5, frozenset({GPO})), GPO, unplug))
        rig.reader.wait_for_card(5)
        result = Kernel().run(rig.reader, Transaction(1250, "EUR"))
        assert (result.outcome, result.reason) == (Outcome.TRY_AGAIN, "reader_error")
        with pytest.raises(ReaderUnavailableError, match="is gone"):
            rig.reader.wait_for_card(1)
    finally:
        rig.close()


def test_pcsc_reader_gone_with_pcscd_mid_payment(applet: EmvApplet, tmp_path: Path) -> None:
    service_env("PCSCLITE_CSOCK_NAME")  # pcscd and vpcd are installed by `make test`
    daemon = PrivatePcscd(tmp_path / "pcscd", free_port(socket.SOCK_STREAM))
    daemon.start()
    card = VpcdCard(Tripwire(SlowCard(applet, 0.3, frozenset({GPO})), GPO, daemon.kill),
                    port=daemon.port)  # fmt: skip
    try:
        # The child's first PC/SC call starts pcscd (socket activation); the card then
        # connects to the vpcd port, which exists once the daemon runs.
        child = subprocess.Popen(
            [str(BIN / "tap-terminal"), "pay", "1.00", "--currency", "EUR", "--json",
             "--reader", f"pcsc:{READER}", "--acquirer-url", "http://127.0.0.1:9"],
            env={**daemon.env(), "HOME": str(tmp_path), "TAP_CARD_HOME": str(tmp_path)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 10
        while True:
            try:
                card.start()
                break
            except TransportError:
                assert time.monotonic() < deadline, "the private vpcd port never opened"
                time.sleep(0.05)
        out, errors = child.communicate(timeout=60)
    finally:
        card.remove()
        daemon.stop()
    assert child.returncode == 1, errors
    result = json.loads(out)
    assert (result["outcome"], result["reason"]) == ("try-again", "reader_error"), result

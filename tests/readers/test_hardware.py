"""Tests with a real USB reader attached: skipped cleanly when there is none.

The reader is ``$TAP_HARDWARE_READER`` (a reader spec: ``pcsc:ACR122``, ``nfc:usb``), or the
first known reader the doctor finds on USB. Tests that need a card tapped by a person also
need ``TAP_HARDWARE_CARD=1``. Run them with ``pytest -m hardware tests/readers``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from terminal.doctor import scan_usb
from terminal.errors import NoCardError, ReaderUnavailableError
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.readers import open_reader
from terminal.readers.base import Reader

pytestmark = pytest.mark.hardware


def hardware_spec() -> str:
    spec = os.environ.get("TAP_HARDWARE_READER")
    if spec:
        return spec
    readers = scan_usb() or []
    if not readers:
        pytest.skip("no USB NFC reader attached (or name one: TAP_HARDWARE_READER=pcsc:NAME)")
    first = readers[0]
    if "nfc" in first.model.stacks and "usbfs" not in first.drivers:
        return f"nfc:{first.nfcpy_path}"
    return "pcsc"


@pytest.fixture
def reader() -> Iterator[Reader]:
    spec = hardware_spec()
    try:
        opened = open_reader(spec, card_timeout=2.0)
    except ReaderUnavailableError as exc:
        pytest.skip(f"{spec}: {exc} (run `tap-terminal doctor`)")
    with opened:
        yield opened


def test_the_reader_opens_and_waits(reader: Reader) -> None:
    if os.environ.get("TAP_HARDWARE_CARD") == "1":
        pytest.skip("a card is expected on the reader")
    with pytest.raises(NoCardError):
        reader.wait_for_card(0.5)


def test_a_tapped_card_is_read(reader: Reader) -> None:
    if os.environ.get("TAP_HARDWARE_CARD") != "1":
        pytest.skip("set TAP_HARDWARE_CARD=1 and hold a contactless card on the reader")
    info = reader.wait_for_card(20)
    assert info.atr[:1] == b"\x3b"
    result = Kernel().run(reader, Transaction(100, "EUR"))
    assert result.outcome in set(Outcome)
    signal = getattr(reader, "signal", None)
    if signal is not None:  # ACS readers beep; others say they cannot
        assert signal(result.outcome is Outcome.ONLINE_REQUEST) in (True, False)

"""pyscard and nfcpy errors mapped into terminal.errors at the boundary, code by code, with
the libraries' calls scripted (no daemon, no device), and the ACS feedback commands."""

from __future__ import annotations

import errno
from typing import Any

import nfc.clf
import nfc.tag
import pytest
from nfc.tag.tt4 import Type4TagCommandError
from smartcard import scard

from terminal.errors import CardRemovedError, ReaderError, ReaderUnavailableError
from terminal.readers import nfc as nfc_backend
from terminal.readers import pcsc
from terminal.readers.acs import IOCTL_CCID_ESCAPE, AcsFeedback, feedback_for
from terminal.readers.base import Reader

APDU = bytes.fromhex("00A4040000")


class ScriptedScard:
    """Stands in for smartcard.scard's calls: transmit answers ``transmit``, status ``state``."""

    def __init__(self, transmit: tuple[int, list[int]], state: tuple[int, int]) -> None:
        self.transmit, self.state = transmit, state

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        calls = {
            "SCardEstablishContext": lambda scope: (scard.SCARD_S_SUCCESS, 1),
            "SCardReleaseContext": lambda ctx: scard.SCARD_S_SUCCESS,
            "SCardCancel": lambda ctx: scard.SCARD_S_SUCCESS,
            "SCardConnect": lambda *a: (scard.SCARD_S_SUCCESS, 7, scard.SCARD_PROTOCOL_T1),
            "SCardDisconnect": lambda *a: scard.SCARD_S_SUCCESS,
            "SCardTransmit": self._transmit,
            "SCardGetStatusChange": self._status,
        }
        for name, call in calls.items():
            monkeypatch.setattr(pcsc.scard, name, call)

    def _transmit(self, card: int, pci: Any, apdu: list[int]) -> tuple[int, list[int]]:
        if bytes(apdu) == pcsc.GET_UID:
            return scard.SCARD_S_SUCCESS, [0x04, 0xA1, 0xB2, 0xC3, 0x90, 0x00]
        return self.transmit

    def _status(
        self, ctx: int, timeout: int, states: list[tuple[str, int]]
    ) -> tuple[int, list[Any]]:
        hresult, event = self.state
        return hresult, [
            (states[0][0], event | scard.SCARD_STATE_CHANGED, [0x3B, 0x80, 0x80, 0x01, 0x01])
        ]


def reader_with(monkeypatch: pytest.MonkeyPatch, transmit: tuple[int, list[int]],
                state: tuple[int, int]) -> pcsc.PcscReader:  # fmt: skip
    ScriptedScard(transmit, state).install(monkeypatch)
    monkeypatch.setattr(pcsc, "STATE_SETTLE_MS", 0)
    reader = pcsc.PcscReader("ACS ACR122U PICC Interface 00 00")
    present = scard.SCARD_STATE_PRESENT
    ScriptedScard((scard.SCARD_S_SUCCESS, []), (scard.SCARD_S_SUCCESS, present)).install(
        monkeypatch
    )
    info = reader.wait_for_card(1)
    assert info.uid == bytes.fromhex("04A1B2C3") and info.protocol == "T=1"
    ScriptedScard(transmit, state).install(monkeypatch)
    return reader


PRESENT = (scard.SCARD_S_SUCCESS, scard.SCARD_STATE_PRESENT)
EMPTY = (scard.SCARD_S_SUCCESS, scard.SCARD_STATE_EMPTY)


@pytest.mark.parametrize(
    ("transmit", "state", "error", "message"),
    [
        (
            (scard.SCARD_W_REMOVED_CARD, []),
            PRESENT,
            CardRemovedError,
            "card removed from the field",
        ),
        ((scard.SCARD_E_NO_SMARTCARD, []), PRESENT, CardRemovedError, "card removed"),
        ((scard.SCARD_E_NO_SERVICE, []), PRESENT, ReaderUnavailableError, "pcscd is not running"),
        ((scard.SCARD_E_READER_UNAVAILABLE, []), PRESENT, ReaderUnavailableError, "is unavailable"),
        ((scard.SCARD_E_NOT_TRANSACTED, []), EMPTY, CardRemovedError, "card removed"),
        ((scard.SCARD_S_SUCCESS, []), EMPTY, CardRemovedError, r"no response bytes"),
        ((scard.SCARD_F_COMM_ERROR, []), PRESENT, ReaderError, "exchange with the card failed"),
        (
            (scard.SCARD_E_NOT_TRANSACTED, []),
            (scard.SCARD_E_NO_SERVICE, 0),
            ReaderUnavailableError,
            "pcscd is not running",
        ),
    ],
)
def test_pcsc_return_codes(
    monkeypatch: pytest.MonkeyPatch,
    transmit: tuple[int, list[int]],
    state: tuple[int, int],
    error: type[Exception],
    message: str,
) -> None:
    reader = reader_with(monkeypatch, transmit, state)
    with pytest.raises(error, match=message) as raised:
        reader.transceive(APDU)
    assert type(raised.value) is error
    reader.close()


def test_pcsc_no_readers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        pcsc.scard, "SCardEstablishContext", lambda scope: (scard.SCARD_S_SUCCESS, 1)
    )
    monkeypatch.setattr(pcsc.scard, "SCardReleaseContext", lambda ctx: 0)
    monkeypatch.setattr(pcsc.scard, "SCardListReaders",
                        lambda ctx, groups: (scard.SCARD_E_NO_READERS_AVAILABLE, []))  # fmt: skip
    with pytest.raises(
        ReaderUnavailableError, match=r"no PC/SC reader is connected .*tap-terminal doctor"
    ):
        pcsc.PcscReader.from_spec("")


def test_pcsc_choose_reader() -> None:
    readers = ["ACS ACR122U PICC Interface 00 00", "Tap vpcd 0 00 00"]
    assert pcsc.choose_reader(readers, "1") == "Tap vpcd 0 00 00"
    assert pcsc.choose_reader(readers, "acr122") == readers[0]
    with pytest.raises(ReaderUnavailableError, match=r"no PC/SC reader number 2 \(readers: 0: ACS"):
        pcsc.choose_reader(readers, "2")
    with pytest.raises(ReaderUnavailableError, match="no PC/SC reader named like 'omni'"):
        pcsc.choose_reader(readers, "omni")


class FakeTag(nfc.tag.tt4.Type4Tag):
    def __init__(self, error: BaseException) -> None:  # no super(): no radio behind it
        self.error = error

    def transceive(self, data: bytearray, timeout: float | None = None) -> bytearray:
        raise self.error


@pytest.mark.parametrize(
    ("raised", "error"),
    [
        (Type4TagCommandError(nfc.tag.TIMEOUT_ERROR), CardRemovedError),
        (Type4TagCommandError(nfc.tag.RECEIVE_ERROR), CardRemovedError),
        (Type4TagCommandError(nfc.tag.PROTOCOL_ERROR), ReaderError),
        (nfc.clf.BrokenLinkError("RFOFF"), CardRemovedError),
        (OSError(errno.ENODEV, "No such device"), ReaderUnavailableError),
    ],
)
def test_nfc_errors(raised: BaseException, error: type[Exception]) -> None:
    reader = nfc_backend.NfcReader.__new__(nfc_backend.NfcReader)  # no device opened
    Reader.__init__(reader)
    reader.path, reader._tag, reader._busy = "usb", FakeTag(raised), False
    with pytest.raises(error) as caught:
        reader.transceive(APDU)
    assert type(caught.value) is error
    assert reader._tag is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (errno.ENODEV, "no nfcpy reader found on 'usb' (plugged in? run `tap-terminal doctor`)"),
        (errno.EACCES, "no permission to open the reader on 'usb': install the udev rules"),
        (errno.EBUSY, "held by another program or a kernel driver"),
    ],
)
def test_nfc_open_errors(monkeypatch: pytest.MonkeyPatch, code: int, message: str) -> None:
    def refuse(path: str) -> None:
        raise OSError(code, "refused")

    monkeypatch.setattr(nfc_backend.nfc, "ContactlessFrontend", refuse)
    with pytest.raises(ReaderUnavailableError) as raised:
        nfc_backend.NfcReader("usb")
    assert message in str(raised.value)


class Escapes:
    def __init__(self, answer: bytes) -> None:
        self.answer, self.sent = answer, []

    def control(self, code: int, command: bytes) -> bytes:
        self.sent.append((code, command))
        return self.answer


def test_acs_feedback_is_detected_not_assumed() -> None:
    feedback = feedback_for("ACS ACR1252 1S CL Reader [ACR1252 Reader PICC] 00 00")
    assert feedback is not None
    reader = Escapes(bytes.fromhex("E10000000102"))
    assert feedback.signal(reader, success=True)
    assert reader.sent == [(IOCTL_CCID_ESCAPE, bytes.fromhex("E00000290102")),
                           (IOCTL_CCID_ESCAPE, bytes.fromhex("E0000028010A"))]  # fmt: skip
    clone = AcsFeedback("ACR122U")
    mute = Escapes(b"\x6a\x81")
    assert not clone.signal(mute, success=False)
    assert not clone.enabled and clone.refusals == ["FF00405D0402020303: answered 6A81"]
    assert not clone.signal(mute, success=True) and len(mute.sent) == 1

"""One conformance suite over every reader backend, each through its real card-side transport.

The same card objects, the same assertions: finding a card, exchanging APDUs (61xx and
6Cxx handled by the shared base class over the real wire), long responses, a card leaving
the field mid-transaction (EMV "Try Again"), and a slow card.
"""

from __future__ import annotations

import pytest

from card_emulation import EmvApplet
from terminal.errors import CardRemovedError, NoCardError
from terminal.kernel import Kernel, Outcome, Transaction
from tests.readers.stacks import RIGS, Rig, SlowCard, Tripwire

SELECT_PPSE = bytes.fromhex("00A404000E325041592E5359532E444446303100")
GET_DATA_ATC = bytes.fromhex("80CA9F3600")
GPO, GENERATE_AC, READ_RECORD = 0xA8, 0xAE, 0xB2


class SplittingCard:
    """Answers SELECT PPSE in 61xx pieces and GET DATA with a wrong-Le 6Cxx first."""

    def __init__(self, card: EmvApplet) -> None:
        self.card = card
        self.rest = b""

    def process_apdu(self, apdu: bytes) -> bytes:
        if apdu[:2] == b"\x00\xc0":
            chunk, self.rest = self.rest[: apdu[4] or 256], self.rest[apdu[4] or 256 :]
            return chunk + (bytes([0x61, min(len(self.rest), 255)]) if self.rest else b"\x90\x00")
        if apdu[1] == 0xCA and apdu[-1] == 0x00:
            return b"\x6c\x05"
        response = self.card.process_apdu(apdu)
        if apdu == SELECT_PPSE:
            data, self.rest = response[:16], response[16:-2]
            return data + bytes([0x61, len(self.rest)])
        return response

    def reset(self) -> None:
        self.card.reset()


class LongCard:
    """Answers every command with 256 data bytes (a full short-APDU response)."""

    def process_apdu(self, apdu: bytes) -> bytes:
        return bytes(range(256)) + b"\x90\x00"


def test_no_card_means_no_card_error(rig: Rig) -> None:
    with pytest.raises(NoCardError):
        rig.reader.wait_for_card(0.3)


def test_a_card_in_the_field_answers(rig: Rig, applet: EmvApplet) -> None:
    rig.insert(applet)
    info = rig.reader.wait_for_card(5)
    assert info.atr[:1] == b"\x3b"
    response = rig.reader.transceive(SELECT_PPSE)
    assert response[-2:] == b"\x90\x00"
    assert response == EmvApplet(applet.card).process_apdu(SELECT_PPSE)


def test_61xx_and_6cxx_over_the_wire(rig: Rig, applet: EmvApplet) -> None:
    whole = EmvApplet(applet.card).process_apdu(SELECT_PPSE)
    rig.insert(SplittingCard(applet))
    rig.reader.wait_for_card(5)
    assert rig.reader.transceive(SELECT_PPSE) == whole
    assert rig.reader.transceive(GET_DATA_ATC)[-2:] in (b"\x90\x00", b"\x6a\x88")


def test_a_full_256_byte_response_arrives_whole(rig: Rig) -> None:
    # Over ISO-DEP this is three chained I-blocks (FSD 256 less PCB and EDC).
    rig.insert(LongCard())
    rig.reader.wait_for_card(5)
    assert rig.reader.transceive(bytes.fromhex("00B2010C00")) == bytes(range(256)) + b"\x90\x00"


def test_a_full_tap_reaches_online_request(rig: Rig, applet: EmvApplet) -> None:
    rig.insert(applet)
    rig.reader.wait_for_card(5)
    result = Kernel().run(rig.reader, Transaction(1250, "EUR"))
    assert (result.outcome, result.reason) == (Outcome.ONLINE_REQUEST, result.reason)
    assert result.outcome is Outcome.ONLINE_REQUEST


def test_removal_mid_transaction_is_try_again(rig: Rig, applet: EmvApplet) -> None:
    rig.insert(Tripwire(applet, GPO, rig.remove))
    rig.reader.wait_for_card(5)
    result = Kernel().run(rig.reader, Transaction(1250, "EUR"))
    assert (result.outcome, result.reason) == (Outcome.TRY_AGAIN, "card_removed")
    with pytest.raises((CardRemovedError, NoCardError)):
        rig.reader.transceive(SELECT_PPSE)


@pytest.mark.parametrize("name", ["pcsc", "nfc"])
def test_a_slow_card_still_completes(name: str, applet: EmvApplet) -> None:
    """A card taking 0.3 s for GPO: pcscd waits; over ISO-DEP the card asks for S(WTX)."""
    rig = RIGS[name](card_timeout=2.0)
    try:
        rig.insert(SlowCard(applet, 0.3, frozenset({GPO, GENERATE_AC})))
        rig.reader.wait_for_card(5)
        result = Kernel().run(rig.reader, Transaction(1250, "EUR"))
        assert result.outcome is Outcome.ONLINE_REQUEST
        target = getattr(rig, "target", None)
        if target is not None:  # 0.3 s is about four frame waiting times at FWI 8
            assert target.wtx_sent >= 1
    finally:
        rig.close()


def test_a_card_slower_than_the_card_timeout_is_try_again(applet: EmvApplet) -> None:
    """PC/SC has no per-command timeout of its own: the backend gives up after card_timeout."""
    rig = RIGS["pcsc"](card_timeout=0.3)
    try:
        rig.insert(SlowCard(applet, 1.0, frozenset({GPO})))
        rig.reader.wait_for_card(5)
        result = Kernel().run(rig.reader, Transaction(1250, "EUR"))
        assert (result.outcome, result.reason) == (Outcome.TRY_AGAIN, "card_timeout")
    finally:
        rig.close()

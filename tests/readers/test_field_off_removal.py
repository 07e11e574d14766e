"""Field Off Request and Removal Timeout (EMV Contactless Book A 6.2) over every reader stack.

The Entry Point acts on two Outcome parameters through the reader: Field Off Request (the
card deactivated for the time asked, then activated afresh) and Removal Timeout (how long
"Remove card" waits for the field to be seen empty). What each backend really does for a
field off is in its ``_field_off``: the loopback resets the card, PC/SC unpowers it
(``SCARD_UNPOWER_CARD``, which vpcd hands to the emulated card as "power off"), nfcpy mutes
the RF field. Every wait is bounded by a hang guard; no test asserts a duration.
"""

from __future__ import annotations

import threading

import pytest

from card_emulation import EmvApplet
from emvcore import apdu
from terminal.errors import CardWaitCancelledError
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.kernel.outcome import DEFAULT_UI, KernelResult
from terminal.tap import REMOVE_CARD, remove_card
from tests.readers.stacks import Rig
from tests.readers.test_cancel_removal import HANG_GUARD, LONG_WAIT, ended, in_thread

SELECT_PPSE = apdu.select_ppse().encode()


class ResetWatch:
    """Wraps a card; sets ``reset_seen`` when its transport resets (powers) it."""

    def __init__(self, card: EmvApplet) -> None:
        self.card = card
        self.resets = 0
        self.reset_seen = threading.Event()

    def process_apdu(self, command: bytes) -> bytes:
        return self.card.process_apdu(command)

    def reset(self) -> None:
        self.resets += 1
        self.card.reset()
        self.reset_seen.set()


def approved(removal_timeout_ms: int) -> KernelResult:
    ui = DEFAULT_UI[Outcome.APPROVED]
    return KernelResult(Outcome.APPROVED, "approved", ui, removal_timeout_ms=removal_timeout_ms)


def test_book_a_6_2_field_off_deactivates_the_card_and_the_next_poll_reads_it(
    rig: Rig, applet: EmvApplet
) -> None:
    card = ResetWatch(applet)
    rig.insert(card)
    rig.reader.new_transaction()
    rig.reader.wait_for_card(HANG_GUARD)
    assert rig.reader.transceive(SELECT_PPSE)[-2:] == b"\x90\x00"
    card.reset_seen.clear()
    assert rig.reader.field_off(20) is True
    # Same transaction (a restart): the card is activated again, from its power-on state
    # (the loopback resets it at the field drop, vpcd and nfcpy's target when it is
    # powered or activated again), and read.
    rig.reader.wait_for_card(HANG_GUARD)
    assert card.reset_seen.wait(HANG_GUARD), "the card was not powered down and up"
    assert Kernel().run(rig.reader, Transaction(1250, "EUR")).outcome is Outcome.ONLINE_REQUEST
    assert not rig.reader.removal_pending


def test_book_a_6_2_field_off_hold_ends_on_cancel(rig: Rig, applet: EmvApplet) -> None:
    rig.insert(applet)
    rig.reader.wait_for_card(HANG_GUARD)
    thread, box = in_thread(lambda: rig.reader.field_off(int(LONG_WAIT * 1000)))
    rig.reader.cancel()
    assert isinstance(ended(thread, box), CardWaitCancelledError)


def test_field_off_refuses_a_negative_hold(rig: Rig) -> None:
    with pytest.raises(ValueError):
        rig.reader.field_off(-1)


def test_book_a_6_2_removal_timeout_a_card_left_in_the_field(rig: Rig, applet: EmvApplet) -> None:
    """Not removed within the outcome's Removal Timeout: reported, and not read again."""
    rig.insert(applet)
    rig.reader.new_transaction()
    rig.reader.wait_for_card(HANG_GUARD)
    assert Kernel().run(rig.reader, Transaction(1250, "EUR")).outcome is Outcome.ONLINE_REQUEST
    shown: list[object] = []
    # The caller would wait for ever; the outcome's 300 ms bound the wait.
    thread, box = in_thread(
        lambda: remove_card(rig.reader, timeout=None, show=shown.append, read=approved(300))
    )
    assert ended(thread, box) is False
    assert shown == [REMOVE_CARD]
    assert rig.reader.removal_pending


def test_book_a_6_2_removal_timeout_a_card_taken_away_in_time(
    rig: Rig, applet: EmvApplet
) -> None:
    rig.insert(applet)
    rig.reader.new_transaction()
    rig.reader.wait_for_card(HANG_GUARD)
    assert Kernel().run(rig.reader, Transaction(1250, "EUR")).outcome is Outcome.ONLINE_REQUEST
    asked = threading.Event()
    thread, box = in_thread(
        lambda: remove_card(
            rig.reader,
            timeout=0.0,  # the caller would only look; the outcome gives the customer time
            show=lambda ui: asked.set(),
            read=approved(int(LONG_WAIT * 1000)),
        )
    )
    assert asked.wait(HANG_GUARD)
    rig.remove()
    assert ended(thread, box) is True
    assert not rig.reader.removal_pending


class FakeAcr122u:
    """The reader side of ``SCardControl``: records escapes, answers as told."""

    def __init__(self, answer: bytes) -> None:
        self.answer = answer
        self.sent: list[tuple[int, bytes]] = []

    def control(self, code: int, command: bytes) -> bytes:
        self.sent.append((code, command))
        return self.answer


def test_acr122u_antenna_is_switched_off_and_on_and_a_refusal_disables_it() -> None:
    from terminal.readers.acs import IOCTL_CCID_ESCAPE, antenna_for

    antenna = antenna_for("ACS ACR122U PICC Interface 00 00")
    assert antenna is not None
    reader = FakeAcr122u(bytes.fromhex("D5339000"))
    assert antenna.switch(reader, on=False) and antenna.switch(reader, on=True)
    assert reader.sent == [
        (IOCTL_CCID_ESCAPE, bytes.fromhex("FF00000004D4320100")),
        (IOCTL_CCID_ESCAPE, bytes.fromhex("FF00000004D4320101")),
    ]
    clone = FakeAcr122u(bytes.fromhex("6300"))  # a look-alike that does not switch
    refused = antenna_for("ACS ACR122U 00 00")
    assert refused is not None
    assert refused.switch(clone, on=False) is False
    assert not refused.enabled and refused.switch(clone, on=False) is False
    assert len(clone.sent) == 1  # never asked again once refused

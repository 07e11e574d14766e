"""Cancellation and card removal over every reader stack (issue 11, EMV Book A 5 / Book D 9.5).

Reproductions: Ctrl-C while a PC/SC reader waited for a card took up to ``reader.wait``, a
program calling ``reader.close()`` got "no card" like a customer who never tapped, and a card
frozen mid-exchange hung the PC/SC reader (and the process) past ``card_timeout``. Every wait
here is bounded by a generous hang guard; no test asserts a duration.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from card_emulation import EmvApplet
from terminal.errors import CardNotRemovedError, CardWaitCancelledError, NoCardError
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.readers.base import Reader
from tests.readers.stacks import RIGS, Rig

#: Far beyond any prompt cancel, far below a hung test run.
HANG_GUARD = 20.0
#: Longer than HANG_GUARD, so only a cancel can end a wait this long.
LONG_WAIT = 60.0
GPO = 0xA8


def in_thread(call: Callable[[], object]) -> tuple[threading.Thread, dict[str, object]]:
    """Run ``call`` on a thread; its result or exception lands in the returned dict."""
    box: dict[str, object] = {}

    def run() -> None:
        try:
            box["result"] = call()
        except BaseException as exc:
            box["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, box


def ended(thread: threading.Thread, box: dict[str, object]) -> object:
    thread.join(HANG_GUARD)
    assert not thread.is_alive(), "the call did not return"
    return box.get("error", box.get("result"))


@pytest.mark.parametrize("stop", ["cancel", "close"])
def test_cancel_or_close_ends_a_wait_for_a_card(rig: Rig, stop: str) -> None:
    thread, box = in_thread(lambda: rig.reader.wait_for_card(LONG_WAIT))
    getattr(rig.reader, stop)()
    # Distinct from a customer who never tapped (NoCardError).
    assert isinstance(ended(thread, box), CardWaitCancelledError)
    assert rig.reader.cancelled


def test_cancel_ends_a_wait_for_removal(rig: Rig, applet: EmvApplet) -> None:
    rig.insert(applet)
    rig.reader.wait_for_card(5)
    thread, box = in_thread(lambda: rig.reader.wait_for_removal(LONG_WAIT))
    rig.reader.cancel()
    assert isinstance(ended(thread, box), CardWaitCancelledError)


def test_cancel_is_cleared_for_the_next_action(rig: Rig, applet: EmvApplet) -> None:
    rig.reader.cancel()
    with pytest.raises(CardWaitCancelledError):
        rig.reader.wait_for_card(5)
    rig.reader.clear_cancel()
    rig.insert(applet)
    rig.reader.wait_for_card(5)
    assert Kernel().run(rig.reader, Transaction(100, "EUR")).outcome is Outcome.ONLINE_REQUEST


def test_removal_is_seen(rig: Rig, applet: EmvApplet) -> None:
    rig.insert(applet)
    rig.reader.wait_for_card(5)
    assert rig.reader.card_present()
    assert rig.reader.wait_for_removal(0) is False
    rig.remove()
    assert rig.reader.wait_for_removal(HANG_GUARD) is True
    assert not rig.reader.card_present()


def test_a_card_left_in_the_field_is_not_read_for_the_next_transaction(
    rig: Rig, applet: EmvApplet
) -> None:
    rig.insert(applet)
    rig.reader.new_transaction()
    rig.reader.wait_for_card(5)
    assert Kernel().run(rig.reader, Transaction(1250, "EUR")).outcome is Outcome.ONLINE_REQUEST
    rig.reader.new_transaction()  # the next amount: the same card is still in the field
    assert rig.reader.removal_pending
    with pytest.raises(CardNotRemovedError):
        rig.reader.wait_for_card(1)
    rig.remove()
    assert rig.reader.wait_for_removal(HANG_GUARD)  # the reader's removal polling sees it
    rig.insert(applet)  # a new tap
    rig.reader.wait_for_card(HANG_GUARD)
    assert not rig.reader.removal_pending
    assert Kernel().run(rig.reader, Transaction(100, "EUR")).outcome is Outcome.ONLINE_REQUEST


def test_a_restart_within_one_transaction_reads_the_same_card(
    rig: Rig, applet: EmvApplet
) -> None:
    """Book A "Start B" (See Phone, collision): no new_transaction, the card is read again."""
    rig.insert(applet)
    rig.reader.new_transaction()
    rig.reader.wait_for_card(5)
    rig.reader.wait_for_card(5)
    assert not rig.reader.removal_pending


class FrozenCard:
    """Stops answering at GPO until released, as a card process under SIGSTOP does."""

    def __init__(self, card: EmvApplet) -> None:
        self.card, self.release = card, threading.Event()

    def process_apdu(self, apdu: bytes) -> bytes:
        if len(apdu) > 1 and apdu[1] == GPO:
            self.release.wait(LONG_WAIT)
        return self.card.process_apdu(apdu)


@pytest.mark.parametrize("name", ["loopback", "pcsc"])
def test_a_card_frozen_mid_exchange_is_abandoned_and_the_reader_stays_usable(
    name: str, applet: EmvApplet
) -> None:
    rig = RIGS[name](card_timeout=0.5)
    frozen = FrozenCard(applet)
    try:
        rig.insert(frozen)
        rig.reader.wait_for_card(5)
        thread, box = in_thread(lambda: Kernel().run(rig.reader, Transaction(1250, "EUR")))
        result = ended(thread, box)
        assert getattr(result, "reason", None) == "card_timeout"
        # The reader is not stuck behind the frozen exchange: it waits, and cancels, at once.
        thread, box = in_thread(lambda: rig.reader.wait_for_card(LONG_WAIT))
        rig.reader.cancel()
        assert isinstance(ended(thread, box), CardWaitCancelledError | NoCardError)
    finally:
        frozen.release.set()
        thread, box = in_thread(rig.close)
        ended(thread, box)


def test_close_returns_while_a_card_is_frozen(applet: EmvApplet) -> None:
    """Before: the PC/SC worker pool (joined at exit) and the context's lock hung behind it."""
    rig = RIGS["pcsc"](card_timeout=0.5)
    frozen = FrozenCard(applet)
    try:
        rig.insert(frozen)
        reader: Reader = rig.reader
        reader.wait_for_card(5)
        assert Kernel().run(reader, Transaction(1250, "EUR")).reason == "card_timeout"
        thread, box = in_thread(reader.close)
        ended(thread, box)
    finally:
        frozen.release.set()
        rig.remove()

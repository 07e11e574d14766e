"""SIGINT/SIGTERM during a tap (issue 11): cancelled within the grace time, or, once the
authorization may have left, an unknown outcome handed to the reversal hook."""

from __future__ import annotations

import os
import signal
import threading

import httpx
import pytest

from card_emulation import EmvApplet
from emvcore.keyfile import generate_test_issuer_keys
from terminal.interrupt import EXIT_SIGINT, EXIT_SIGTERM, Interrupted, run_interruptible
from terminal.kernel import Transaction
from terminal.modes.pay.payment import pay
from terminal.online import AcquirerClient
from terminal.readers.base import Reader
from terminal.readers.emulated import LoopbackReader
from terminal.tap import PRESENT_CARD, TerminalOutcome
from tests.card_emulation.support import make_card

HANG_GUARD = 20.0


def kill_when(ready: threading.Event, signum: int) -> None:
    def send() -> None:
        if ready.wait(HANG_GUARD):
            os.kill(os.getpid(), signum)

    threading.Thread(target=send, daemon=True).start()


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, EXIT_SIGINT),
                                             (signal.SIGTERM, EXIT_SIGTERM)])  # fmt: skip
def test_a_signal_while_waiting_for_a_card_cancels(signum: int, code: int) -> None:
    reader = LoopbackReader()  # nobody taps
    waiting = threading.Event()
    client = AcquirerClient("http://acquirer.test",
                            transport=httpx.MockTransport(lambda r: httpx.Response(500)))  # fmt: skip
    kill_when(waiting, signum)
    ended = run_interruptible(reader, lambda: pay(
        reader, Transaction(1250, "EUR"), terminal_id="T1", client=client, wait=600,
        on_ui=lambda ui: waiting.set() if ui == PRESENT_CARD else None))  # fmt: skip
    assert isinstance(ended, Interrupted)
    assert ended.exit_code == code and not ended.outcome_unknown
    assert ended.result is not None and ended.result.outcome is TerminalOutcome.CANCELLED
    assert ended.to_dict()["outcome"] == "cancelled"


def test_a_signal_after_the_authorization_left_is_an_unknown_outcome() -> None:
    keys = generate_test_issuer_keys()
    reader = LoopbackReader(EmvApplet(make_card(keys, "visa")))
    sent, answer = threading.Event(), threading.Event()

    def acquirer(request: httpx.Request) -> httpx.Response:
        sent.set()
        answer.wait(HANG_GUARD)  # the acquirer is slow: the signal comes first
        return httpx.Response(503)

    client = AcquirerClient("http://acquirer.test", transport=httpx.MockTransport(acquirer))
    hooked: list[tuple[Reader, str]] = []
    kill_when(sent, signal.SIGTERM)
    try:
        ended = run_interruptible(reader, lambda: pay(
            reader, Transaction(1250, "EUR"), terminal_id="T1", client=client, wait=5),
            after_send=lambda r, key: hooked.append((r, key)))  # fmt: skip
    finally:
        answer.set()
    assert isinstance(ended, Interrupted)
    assert ended.outcome_unknown and ended.exit_code == EXIT_SIGTERM
    assert hooked == [(reader, ended.sent_key)]
    summary = ended.to_dict()
    assert (summary["outcome"], summary["reversal"]) == ("unknown", "needed")
    assert summary["idempotency_key"] == ended.sent_key


def test_without_a_signal_the_result_is_the_taps() -> None:
    reader = LoopbackReader()
    assert run_interruptible(reader, lambda: 42) == 42

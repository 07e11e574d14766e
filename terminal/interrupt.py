"""SIGINT and SIGTERM during one tap: end within a second, say what happened, never a traceback.

A command runs its tap with :func:`run_interruptible`: the tap on a worker thread, the main
thread waiting for it or for a signal (a blocked ``SCardGetStatusChange`` would hold off a
Python signal handler on the thread it blocks). A signal cancels the reader
(:meth:`~terminal.readers.base.Reader.cancel`: ``SCardCancel``, nfcpy's poll loop, the
loopback's condition), which ends a wait for a card or its removal at once, and the tap gets
:data:`GRACE` seconds to finish. Then:

* the tap finished with a real outcome (the signal lost the race to an approval): that
  outcome stands, and the command says so;
* nothing had been sent: ``cancelled``, nothing charged;
* the authorization may have left (:func:`terminal.tap.watching_sends` saw it) and no answer
  came: the outcome is **unknown** and the authorization must be reversed.
  :func:`on_interrupted_after_send` is the hook for that without books (it logs the key);
  :func:`journal_interrupted` is the one with them: it journals the unknown answer and stores
  the reversal in the outbox before the command exits (:meth:`Books.interrupted_after_send
  <terminal.journal.books.Books.interrupted_after_send>`).

Exit status: :data:`EXIT_SIGINT` (130) for SIGINT and :data:`EXIT_SIGTERM` (143) for
SIGTERM, the shells' 128 + signal number.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from terminal.errors import CardWaitCancelledError
from terminal.readers.base import Reader
from terminal.tap import watching_sends

if TYPE_CHECKING:
    from terminal.journal.books import Books

log = logging.getLogger(__name__)

EXIT_SIGINT = 128 + signal.SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM
#: Seconds the tap gets to finish after the signal cancelled its reader.
GRACE = 0.5

R = TypeVar("R")


@dataclass(frozen=True, slots=True)
class Interrupted(Generic[R]):
    """A signal arrived during the tap.

    ``result`` is the tap's own result when it finished within the grace time, else None
    (``CardWaitCancelledError`` from the tap is no result: nothing happened).
    ``sent_key`` is the idempotency key of an authorization that may have reached the
    acquirer, else None.
    """

    signal_name: str
    exit_code: int
    result: R | None = None
    sent_key: str | None = None
    #: What the after-send hook did (the journal's state, the reversal queued), for the output.
    settled: dict[str, Any] = field(default_factory=dict)

    @property
    def outcome_unknown(self) -> bool:
        """The authorization may have been acted on and its answer never came."""
        return self.result is None and self.sent_key is not None

    def to_dict(self) -> dict[str, Any]:
        """The JSON a command prints when it has no result of the tap's own to print."""
        if self.outcome_unknown:
            return {
                "outcome": "unknown",
                "reason": "interrupted_after_send",
                "message": "Outcome unknown: the authorization may have been sent; "
                "it must be reversed",
                "signal": self.signal_name,
                "idempotency_key": self.sent_key,
                "reversal": "needed",
                **self.settled,
            }
        return {
            "outcome": "cancelled",
            "reason": self.signal_name.lower(),
            "message": "Cancelled: nothing was charged",
            "signal": self.signal_name,
        }


def on_interrupted_after_send(reader: Reader, idempotency_key: str) -> dict[str, Any] | None:
    """The hook for an authorization that may have been acted on when a signal ended the tap,
    for a tap run without the terminal's books: it can only log the key."""
    log.warning("interrupted after sending authorization %s on %s: reversal needed",
                idempotency_key, reader.name)  # fmt: skip
    return None


def journal_interrupted(books: Books, reader: Reader, idempotency_key: str) -> dict[str, Any]:
    """The hook with the terminal's books: journal the unknown answer, queue the reversal.

    The reversal is durable in the outbox when this returns; the next start (or ``outbox
    flush``) forwards it. What it did goes into the command's output.
    """
    log.warning("interrupted after sending %s on %s: reversal queued", idempotency_key,
                reader.name)  # fmt: skip
    return books.interrupted_after_send(idempotency_key)


def run_interruptible(
    reader: Reader,
    tap: Callable[[], R],
    *,
    after_send: Callable[[Reader, str], dict[str, Any] | None] = on_interrupted_after_send,
    grace: float = GRACE,
) -> R | Interrupted[R]:
    """``tap()``'s result, or :class:`Interrupted` when SIGINT or SIGTERM arrived during it.

    Call from the main thread (Python delivers signals there). Errors the tap raises are
    raised here, except the ``CardWaitCancelledError`` of a signal's cancel.
    """
    done = threading.Event()
    woken = threading.Event()  # the tap finished or a signal came
    box: dict[str, Any] = {}
    received: list[int] = []
    sent: list[str] = []

    def work() -> None:
        try:
            box["result"] = tap()
        except BaseException as exc:  # handed to the main thread
            box["error"] = exc
        done.set()
        woken.set()

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        reader.cancel()
        woken.set()

    def watch(sending: Reader, key: str) -> None:
        if sending is reader:
            sent.append(key)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        with watching_sends(watch):
            worker = threading.Thread(target=work, name="tap", daemon=True)
            worker.start()
            woken.wait()  # interruptible: a signal's handler runs while the main thread waits
            if received:
                done.wait(grace)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
    if not received:
        if "error" in box:
            raise box["error"]
        result: R = box["result"]
        return result
    signum = received[0]
    name = signal.Signals(signum).name
    code = EXIT_SIGINT if signum == signal.SIGINT else EXIT_SIGTERM
    error = box.get("error")
    if error is not None and not isinstance(error, CardWaitCancelledError):
        raise error
    finished: R | None = box.get("result") if done.is_set() else None
    interrupted = Interrupted(name, code, finished, sent[-1] if sent else None)
    if interrupted.outcome_unknown:
        settled = after_send(reader, sent[-1])
        if settled:
            interrupted = replace(interrupted, settled=settled)
    return interrupted

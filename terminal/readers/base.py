"""The one reader interface the kernel sees, with the shared logic written once.

A backend overrides only the primitives: :meth:`Reader._transmit` (one raw exchange),
:meth:`Reader._wait_for_card` (block until a card is in the field),
:meth:`Reader._wait_for_removal` (block until the field is empty) and, where a wait sits in
a library call, :meth:`Reader._interrupt` (wake it). What every transport needs the same way
is here:

* ``61xx``: the card holds more response bytes; fetch them with GET RESPONSE (Le = xx),
  concatenating, until the card answers with another status word;
* ``6Cxx``: wrong Le; re-issue the same command once with Le = xx (ISO/IEC 7816-4 section
  5.3.4 and EMV Book 1 9.3.1);
* cancellation: :meth:`Reader.cancel`, callable from any thread (a signal handler's, a
  kiosk's), makes a pending wait for a card or for its removal, or a pending exchange,
  raise :class:`~terminal.errors.CardWaitCancelledError` promptly, and every later one until
  :meth:`Reader.clear_cancel`; :meth:`Reader.close` cancels first;
* removal (EMV Contactless Book A 5 and Book D 9.5 "Removal"): once a transaction is over,
  the card it read must leave the field before another transaction may read a card.
  :meth:`Reader.wait_for_removal` ends the transaction and waits for the field to be empty;
  :meth:`Reader.new_transaction` (the tap engine calls it) makes a card handed out by an
  earlier transaction unreadable until the field was seen empty: :meth:`wait_for_card`
  first waits for its removal and raises :class:`~terminal.errors.CardNotRemovedError` when
  it stays.

The kernel never imports a reader library: it receives a ``Reader`` and calls
``transceive``.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import Generic, TypeVar

from emvcore.apdu import CommandApdu, get_response
from emvcore.errors import ApduError
from terminal.errors import (
    CardNotRemovedError,
    CardTimeoutError,
    CardWaitCancelledError,
    ReaderError,
)

#: Upper bound on GET RESPONSE rounds, so a card answering 61xx forever cannot hang a tap.
MAX_GET_RESPONSE = 64
#: Seconds close() gives pending waits to end after its cancel.
CLOSE_GRACE = 5.0

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class CardInfo:
    """What the reader knows of the card in its field."""

    atr: bytes
    uid: bytes | None = None
    protocol: str = "T=CL"


def remaining(deadline: float | None) -> float | None:
    """Seconds left until ``deadline`` (a ``time.monotonic()`` value), never negative.

    >>> remaining(None) is None
    True
    >>> remaining(0.0)
    0.0
    """
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def deadline_after(timeout: float | None) -> float | None:
    """The ``time.monotonic()`` deadline ``timeout`` seconds from now (None: no deadline)."""
    return None if timeout is None else time.monotonic() + timeout


class Reader(ABC):
    """A contactless reader: wait for a card, exchange APDUs with it, wait for its removal.

    ``card_timeout`` is the most a single exchange may take, in seconds.
    """

    name: str = "reader"

    def __init__(self, *, card_timeout: float = 1.0) -> None:
        self.card_timeout = card_timeout
        self._cancelled = threading.Event()
        #: Wakes the backends' waits: field changes, finished exchanges, cancel().
        self._wake = threading.Condition()
        #: A card was handed out by wait_for_card and the field has not been seen empty since.
        self._presented = False
        #: ... and the transaction that read it is over: it must leave before the next read.
        self._spent = False
        #: Waits in progress (close() lets them end before the backend releases its device).
        self._waiting = 0

    # -- the backend primitives -------------------------------------------------------------

    @abstractmethod
    def _wait_for_card(self, timeout: float | None) -> CardInfo:
        """Block until a card is in the field (``NoCardError`` after ``timeout`` seconds).

        Raise ``CardWaitCancelledError`` when :meth:`_interrupt` ended the wait.
        """

    @abstractmethod
    def _wait_for_removal(self, timeout: float | None) -> bool:
        """Block until the field is empty (True) or ``timeout`` passed (False); 0 only looks."""

    @abstractmethod
    def _transmit(self, apdu: bytes) -> bytes:
        """One raw exchange. Raise ``CardRemovedError`` or ``CardTimeoutError`` as they happen."""

    def _interrupt(self) -> None:  # noqa: B027 - backends blocking in a library override it
        """Wake a wait blocked in the backend's library (waits on ``_wake`` wake already)."""

    # -- the interface ----------------------------------------------------------------------

    def wait_for_card(self, timeout: float | None = None) -> CardInfo:
        """Block until a card is in the field that no finished transaction has read.

        ``NoCardError`` when none came within ``timeout`` seconds; ``CardNotRemovedError``
        when the card of the last transaction stayed in the field all that time;
        ``CardWaitCancelledError`` when :meth:`cancel` was called.
        """
        deadline = deadline_after(timeout)
        with self._wait_scope():
            if self._spent and not self._await_removal(remaining(deadline)):
                raise CardNotRemovedError("the card of the last transaction is still in the field")
            info = self._wait_for_card(remaining(deadline))
            self._presented = True
            self._check_cancelled()
            return info

    def new_transaction(self) -> None:
        """A new transaction starts: the card of an earlier one must leave the field first.

        A card presented again within one transaction (a restart after "See Phone", two
        cards in the field) is read again; one left from a finished transaction is not.
        """
        self._spent = self._spent or self._presented

    def wait_for_removal(self, timeout: float | None) -> bool:
        """End the transaction on the card in the field and wait for it to leave (Book A 5).

        True when the field was seen empty within ``timeout`` seconds; False when the card
        is still there (the next :meth:`wait_for_card` then waits for its removal first).
        """
        self._spent = self._spent or self._presented
        with self._wait_scope():
            return self._await_removal(timeout)

    def card_present(self) -> bool:
        """Whether a card is in the field now (no wait)."""
        if self._wait_for_removal(0):
            self._seen_empty()
            return False
        return True

    @property
    def removal_pending(self) -> bool:
        """Whether a finished transaction's card may still be in the field."""
        return self._spent

    def cancel(self) -> None:
        """Make pending and later waits and exchanges raise ``CardWaitCancelledError``.

        Thread-safe and prompt: callable from a signal handler or any other thread while
        another thread waits in this reader. It stays in force until :meth:`clear_cancel`.
        """
        self._cancelled.set()
        with self._wake:
            self._wake.notify_all()
        self._interrupt()

    def clear_cancel(self) -> None:
        """Accept waits again after :meth:`cancel` (a kiosk starting its next action)."""
        self._cancelled.clear()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` is in force."""
        return self._cancelled.is_set()

    def close(self) -> None:
        """Cancel what is pending and release the reader (backends holding a device extend it).

        Waits (at most :data:`CLOSE_GRACE` seconds) for pending waits to end first, so a
        backend never releases a device another thread is still blocked in.
        """
        self.cancel()
        with self._wake:
            self._wake.wait_for(lambda: self._waiting == 0, CLOSE_GRACE)

    def signal(self, success: bool) -> bool:
        """Beep and light the reader's own indicators for an outcome, where it has any.

        Returns whether the reader did; the default reader has none.
        """
        return False

    def field_off(self, hold_ms: int) -> bool:
        """Act on an outcome's Field Off Request (Book A 6.2): deactivate the card ``hold_ms``.

        The card in the field is powered down (the RF field switched off where the backend
        can, the card reset where it can only do that), the hold is observed (a
        :meth:`cancel` ends it with ``CardWaitCancelledError``), and the next
        :meth:`wait_for_card` activates the card afresh, within the same transaction.
        Returns whether the backend deactivated the card; what each backend really does is
        in its :meth:`_field_off`. A negative ``hold_ms`` is a ``ValueError``.
        """
        if hold_ms < 0:
            raise ValueError(f"a field off hold is 0 ms or more, not {hold_ms}")
        self._check_cancelled()
        with self._wait_scope():
            done = self._field_off(hold_ms / 1000)
        self._check_cancelled()
        return done

    def _field_off(self, hold: float) -> bool:
        """Backend primitive: deactivate the card for ``hold`` seconds (use :meth:`_hold`).

        The default reader can do nothing: False, and no hold.
        """
        return False

    def _hold(self, seconds: float) -> None:
        """Wait ``seconds`` (a hold the protocol asks for, not a wait for an event); a
        :meth:`cancel` ends it at once with ``CardWaitCancelledError``."""
        self._wait_until(lambda: False, seconds)

    def transceive(self, apdu: bytes) -> bytes:
        """Send a command APDU, return the complete response (data || SW1 SW2)."""
        response = self._exchange(apdu)
        if response[-2] == 0x6C:
            try:
                command = CommandApdu.decode(apdu)
            except ApduError as exc:
                raise ReaderError(
                    f"card asked to re-send a command that is not an APDU: {exc}"
                ) from None
            response = self._exchange(replace(command, le=response[-1] or 256).encode())
        data = bytearray()
        rounds = 0
        while response[-2] == 0x61:
            rounds += 1
            if rounds > MAX_GET_RESPONSE:
                raise ReaderError(f"card kept answering 61xx after {MAX_GET_RESPONSE} GET RESPONSE")
            data += response[:-2]
            response = self._exchange(get_response(response[-1] or 256).encode())
        return bytes(data) + response

    # -- for the backends -------------------------------------------------------------------

    @property
    def _waits_pending(self) -> bool:
        return self._waiting > 0

    @contextmanager
    def _wait_scope(self) -> Iterator[None]:
        with self._wake:
            self._waiting += 1
        try:
            yield
        finally:
            with self._wake:
                self._waiting -= 1
                self._wake.notify_all()

    def _wait_until(self, ready: Callable[[], bool], timeout: float | None) -> bool:
        """Wait on ``_wake`` until ``ready()`` or ``timeout``; a cancel raises."""
        with self._wake:
            done = self._wake.wait_for(lambda: ready() or self.cancelled, timeout)
        self._check_cancelled()
        return bool(done)

    def _notify(self) -> None:
        """Wake whatever waits in :meth:`_wait_until` (the field changed, an exchange ended)."""
        with self._wake:
            self._wake.notify_all()

    def _abandonable(self, call: Callable[[], T], abandon: Callable[[], None]) -> T:
        """Run one exchange on a worker thread, giving up after ``card_timeout`` or a cancel.

        A card that stops answering (frozen mid-exchange) keeps its worker blocked; the
        reader is not: ``abandon()`` lets the backend drop that card so the next wait finds
        the reader usable, and :class:`CardTimeoutError` (or ``CardWaitCancelledError``)
        goes to the kernel, as the loopback reader's timeout always did.
        """
        self._check_cancelled()
        job = _Job(call, self._notify)
        threading.Thread(target=job.run, name=f"{self.name}-exchange", daemon=True).start()
        try:
            finished = self._wait_until(job.done.is_set, self.card_timeout)
        except CardWaitCancelledError:
            abandon()
            raise
        if not finished:
            abandon()
            raise CardTimeoutError(f"the card did not answer within {self.card_timeout:g} s")
        return job.result()

    def _check_cancelled(self) -> None:
        if self.cancelled:
            raise CardWaitCancelledError("cancelled")

    def _await_removal(self, timeout: float | None) -> bool:
        self._check_cancelled()
        gone = self._wait_for_removal(timeout)
        self._check_cancelled()
        if gone:
            self._seen_empty()
        return gone

    def _seen_empty(self) -> None:
        self._presented = self._spent = False

    def _exchange(self, apdu: bytes) -> bytes:
        self._check_cancelled()
        response = self._transmit(apdu)
        if len(response) < 2:
            raise ReaderError(f"card answered {len(response)} byte(s), less than a status word")
        return response

    def __enter__(self) -> Reader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _Job(Generic[T]):
    """One call run on its own daemon thread; its result or error handed back."""

    __slots__ = ("_answer", "_call", "_error", "_finished", "done")

    def __init__(self, call: Callable[[], T], finished: Callable[[], None]) -> None:
        self._call, self._finished = call, finished
        self.done = threading.Event()
        self._answer: T | None = None
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            self._answer = self._call()
        except BaseException as exc:  # handed to the reader's thread, raised there
            self._error = exc
        self.done.set()
        self._finished()

    def result(self) -> T:
        if self._error is not None:
            raise self._error
        return self._answer  # type: ignore[return-value]  # set whenever _error is not

"""One tap that goes online: read the card, send its data record, let the card authenticate the answer.

Every action of the terminal (a payment, a bike rental, a tap-off, a parcel pickup) is the
same three steps with a different request to the acquirer:

1. :func:`read_card`: the Entry Point's Start A and protocol activation (Book A 5, 9;
   Book B 3.1-3.2): Welcome (status Idle) while pre-processing runs, before any card is
   polled (a transaction no combination allows ends Try Another Interface without a
   card); then Present Card (Ready to Read), wait for a presentation and run the kernel,
   restarting at Start B on the outcomes that ask for it (Book A: "See Phone", card
   removed too early, two cards in the field) with the outcome's UI Request on Restart,
   up to :data:`MAX_PRESENTATIONS` presentations. Two cards in the field: "Please present
   one card only" (19, Processing Error), then Ready to Read again for the next poll
   (Book B 3.2.1). With ``prepared=`` (autorun, Book A 5.2) it starts at Start B. A card
   left in the field by the previous transaction is not read for this one (Book A 5,
   DESIGN "a card must leave the field before the next transaction"): "Remove card", and
   it is reported (``card_not_removed``), never charged.
2. :func:`go_online`: send the kernel's data record (Book A 6.2.1) through the action's own
   ``submit`` function. With a :class:`TapRecord` (the journal's, :mod:`terminal.journal.books`)
   the idempotency key is the journal entry's, ``sent`` is durable before the request leaves,
   the answer is journalled, an answer that did not come is resolved by the acquirer's status
   lookup (confirmed when approved and the card accepts tag 91, else reversed through the
   outbox), and "approved" is returned only after ``confirmed`` is durable. Without one (tests,
   tools), a fresh key and the action's ``reverse`` undoing whatever the acquirer did under it.
3. Start D (Book A 6.5): the issuer's response data (tag 91, and the Issuer Script
   Templates 71/72 of a decision that carries ``issuer_scripts``) goes back to the kernel;
   C-2 and C-3 have the card verify the ARPC (EXTERNAL AUTHENTICATE, EMV Book 3 6.5.4) and
   run the scripts while it is still in the field. An approval the card rejects did not
   come from the issuer as far as the card can tell: it is declined and reversed.

4. :func:`remove_card`: after the outcome, "Remove card" while the card is in the field,
   and wait for the field to be seen empty (Book A 5; Book D 9.5 "Removal"), as long as
   the outcome's Removal Timeout says (Book A 6.2) when it has one. A Field Off Request in
   an outcome has the reader deactivate the card for the time asked before the next
   presentation (:meth:`Reader.field_off <terminal.readers.base.Reader.field_off>`).

Both steps return a value for everything a card or the acquirer does. Only
:meth:`Reader.cancel <terminal.readers.base.Reader.cancel>` ends them otherwise: a
:class:`~terminal.errors.CardWaitCancelledError`, raised by :func:`read_card` and by
:func:`go_online` before anything was sent (never after: once the authorization may have
left, the tap runs to its answer). Each action turns it into its own ``cancelled`` result.
:func:`watching_sends` tells a caller (the signal handling of :mod:`terminal.interrupt`)
the moment an authorization may leave, so an interrupted command can say that the outcome
is unknown rather than pretend nothing happened.
"""

from __future__ import annotations

import dataclasses
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, Protocol, TypeVar

from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    CardCollisionError,
    CardNotRemovedError,
    CardWaitCancelledError,
    NoCardError,
    ReaderError,
)
from terminal.kernel import Kernel, KernelResult, Outcome, Transaction
from terminal.kernel.issuer_update import OnlineResponse
from terminal.kernel.outcome import DEFAULT_UI, ONE_CARD_ONLY, PRESENT_CARD, WELCOME, Start
from terminal.kernel.preprocessing import Prepared
from terminal.kernel.ui import MessageId, Status, Tone, UiRequest
from terminal.readers.base import Reader

__all__ = [
    "AUTHORISING",
    "CANCELLED_UI",
    "MAX_PRESENTATIONS",
    "PRESENT_CARD",
    "REMOVE_CARD",
    "WELCOME",
    "Online",
    "TapRecord",
    "Unanswered",
    "go_online",
    "read_card",
    "removal_wait",
    "remove_card",
    "watching_sends",
]

#: How many presentations one tap accepts before giving up (first tap + retries).
MAX_PRESENTATIONS = 3
AUTHORISING = UiRequest(MessageId.AUTHORISING, Status.CARD_READ_SUCCESSFULLY, 0, Tone.SUCCESS)
#: Book A 9.4 message '10' "Remove card"; the reader is not ready for another card (9.2).
REMOVE_CARD = UiRequest(MessageId.REMOVE_CARD, Status.NOT_READY, 0, Tone.NONE)
#: A cancelled transaction clears the display and leaves the reader idle (Book A 9.2, 9.4).
CANCELLED_UI = UiRequest(MessageId.CLEAR_DISPLAY, Status.IDLE)

Show = Callable[[UiRequest], None]


class TerminalOutcome(StrEnum):
    """Ends of a transaction that are the terminal's, not one of the kernel's seven (Book A 6.2.2).

    ``cancelled``: the operator, a kiosk or a signal stopped it before anything was sent.
    """

    CANCELLED = "cancelled"


#: Who is told, ``(reader, idempotency_key)``, just before an authorization may leave.
_send_watchers: list[Callable[[Reader, str], None]] = []
_send_watchers_lock = threading.Lock()


@contextmanager
def watching_sends(watcher: Callable[[Reader, str], None]) -> Iterator[None]:
    """Call ``watcher(reader, idempotency_key)`` whenever :func:`go_online` is about to send."""
    with _send_watchers_lock:
        _send_watchers.append(watcher)
    try:
        yield
    finally:
        with _send_watchers_lock:
            _send_watchers.remove(watcher)


def _about_to_send(reader: Reader, key: str) -> None:
    with _send_watchers_lock:
        watchers = list(_send_watchers)
    for watcher in watchers:
        watcher(reader, key)


class OnlineDecision(Protocol):
    """What every acquirer answer to a tap has: the decision and the issuer's tag 91."""

    @property
    def approved(self) -> bool: ...

    @property
    def reason(self) -> str: ...

    @property
    def issuer_authentication_data(self) -> bytes | None: ...


D = TypeVar("D", bound=OnlineDecision)


@dataclass(frozen=True, slots=True)
class Unanswered:
    """How a :class:`TapRecord` settled a request whose answer did not come.

    ``approved``: the status lookup found it approved and the card accepted the issuer's answer
    (the journal says ``confirmed``); ``reversal``: ``queued`` when a reversal waits in the
    outbox (item ``reversal_item``), None when nothing is owed; ``resolution``: which path.
    """

    approved: bool
    reason: str
    resolution: str
    reversal: str | None = None
    reversal_item: int | None = None
    authorization_id: str | None = None


class TapRecord(Protocol):
    """The durable record of one online tap (the journal's): each call is written before the
    step that depends on it, so a kill at any point leaves a state that restart resolves."""

    @property
    def key(self) -> str:
        """The idempotency key the request is sent under (the journal entry's)."""
        ...

    def sending(self) -> None:
        """The request is about to leave (raises when it must not: the entry moved on)."""

    def answered(self, approved: bool, reason: str, authorization_id: str | None) -> None:
        """The acquirer's answer arrived; the card has not been told yet."""

    def declined(self, reason: str) -> None:
        """Declined (by the acquirer, or refused before any money moved)."""

    def unanswered(self, maybe_delivered: bool, accept: Callable[[bytes | None], bool]) -> Unanswered:
        """No answer: certainly not delivered, or resolved by the status lookup with ``accept``
        (whether the card, still in the field, accepts the issuer's tag 91)."""
        ...

    def not_accepted(self) -> Unanswered:
        """Approved, but the card refused the issuer's answer: queue the reversal."""
        ...

    def confirmed(self, arpc_verified: bool | None) -> None:
        """Approved and accepted by the card: durable before the screen says approved."""


@dataclass(frozen=True, slots=True)
class Online(Generic[D]):
    """How the online step ended.

    ``outcome`` is APPROVED or DECLINED. ``decision`` is the acquirer's answer when one came
    back; ``reason`` is the acquirer's reason, or ``acquirer_unavailable``,
    ``acquirer_rejected:<code>`` or ``issuer_authentication_failed``. ``reversal`` tells
    whether an undo was sent: ``reversed``, ``nothing_to_reverse``, ``pending`` (could not be
    delivered), or ``None``.
    """

    outcome: Outcome
    reason: str
    decision: D | None = None
    arpc_verified: bool | None = None
    reversal: str | None = None
    idempotency_key: str | None = None
    #: With a :class:`TapRecord`: the outbox item of a queued reversal, the resolution path
    #: of an unanswered request, and the authorization id the status lookup found.
    reversal_item: int | None = None
    resolution: str | None = None
    authorization_id: str | None = None


def read_card(
    reader: Reader,
    transaction: Transaction,
    *,
    kernel: Kernel,
    wait: float | None,
    show: Show,
    prepared: Prepared | None = None,
) -> KernelResult:
    """The kernel's result for the next presentation, after any restarts it asked for.

    The outcome is ``ONLINE_REQUEST`` when the card produced an ARQC; anything else ends the
    tap (TRY_AGAIN with reason ``no_card``/``reader_error`` when no card could be read,
    ``card_not_removed`` when the last transaction's card stayed in the field all along).
    :class:`CardWaitCancelledError` when the reader was cancelled. ``prepared`` is the
    autorun pre-processing (:meth:`Kernel.autorun`): Start B directly.
    """
    transaction = kernel.begin(transaction)  # Start A: 9F41, kept by every restart
    if prepared is None:
        show(WELCOME)
        prepared = kernel.preprocess(transaction)
        refused = kernel.refusal(prepared)
        if refused is not None:
            return refused  # Book B 3.1.1.13: decided before the field is polled
    reader.new_transaction()
    if reader.removal_pending:
        show(REMOVE_CARD)
    read: KernelResult | None = None
    restarted = False
    for _ in range(MAX_PRESENTATIONS):
        # Book B 3.2.1.1: a restart shows the outcome's UI Request on Restart, if any.
        show(read.ui_on_restart if read is not None and read.ui_on_restart else PRESENT_CARD)
        try:
            reader.wait_for_card(wait)
        except CardWaitCancelledError:
            raise
        except CardNotRemovedError:
            result = KernelResult(Outcome.TRY_AGAIN, "card_not_removed", REMOVE_CARD)
            show(result.ui)
            return result
        except NoCardError:
            return _no_read(read, "no_card")
        except CardCollisionError:
            # Two cards in the field: "present one card only", then poll again (Book B 3.2.1).
            read = KernelResult(Outcome.TRY_AGAIN, "collision", ONE_CARD_ONLY, start=Start.B)
            show(read.ui)
            continue
        except ReaderError:
            return _no_read(read, "reader_error")
        read = kernel.run(reader, transaction, prepared=prepared, restart_flag=restarted)
        if reader.cancelled:  # the kernel saw it as a reader error: it is the operator's stop
            raise CardWaitCancelledError("cancelled while the card was read")
        if read.field_off_request_ms is not None:  # Book A 6.2: the outcome asks for it
            _field_off(reader, read.field_off_request_ms)
        if not read.restart:
            return read
        restarted = True
        show(read.ui)
    assert read is not None
    return read


def _no_read(last: KernelResult | None, reason: str) -> KernelResult:
    """TRY_AGAIN for ``reason``, keeping what an earlier attempt read (receipt and log)."""
    if last is None:
        return KernelResult(Outcome.TRY_AGAIN, reason, DEFAULT_UI[Outcome.TRY_AGAIN])
    return dataclasses.replace(
        last,
        outcome=Outcome.TRY_AGAIN,
        reason=reason,
        ui=DEFAULT_UI[Outcome.TRY_AGAIN],
        start=Start.NA,
    )


def go_online(
    reader: Reader,
    read: KernelResult,
    *,
    kernel: Kernel,
    submit: Callable[[bytes, str], D],
    reverse: Callable[[str], str] | None,
    show: Show,
    record: TapRecord | None = None,
) -> Online[D]:
    """Send ``read``'s data record with ``submit(data_record, idempotency_key)``.

    With ``record`` every step is journalled (see the module docstring) and ``reverse`` is not
    used: reversals go through the outbox. Without it, ``reverse(original_key)`` undoes what
    the acquirer did under a key and reports it as :attr:`Online.reversal` does; ``None`` when
    the request has nothing to undo.
    """
    if reader.cancelled:
        raise CardWaitCancelledError("cancelled before the authorization was sent")
    show(AUTHORISING)
    key = record.key if record is not None else str(uuid.uuid4())
    _about_to_send(reader, key)  # first: a signal from here on queues the reversal
    if record is not None:
        record.sending()
    try:
        decision = submit(read.data_record, key)
    except AcquirerUnavailableError as exc:
        if record is not None:
            settled = record.unanswered(exc.maybe_delivered,
                                        lambda iad: _card_accepts(kernel, reader, read, iad))  # fmt: skip
            return _settled(settled, key)
        # No answer: the acquirer may have acted; undo whatever it did under this key.
        reversal = reverse(key) if reverse is not None and exc.maybe_delivered else None
        return Online(Outcome.DECLINED, "acquirer_unavailable", reversal=reversal,
                      idempotency_key=key)  # fmt: skip
    except AcquirerRejectedError as exc:
        reason = f"acquirer_rejected:{exc.code or exc.status}"
        if record is not None:
            record.declined(reason)
        return Online(Outcome.DECLINED, reason, idempotency_key=key)
    if record is not None:
        record.answered(decision.approved, decision.reason,
                        getattr(decision, "authorization_id", None))  # fmt: skip
    # Start D: the issuer's response data back to the kernel (EXTERNAL AUTHENTICATE, scripts).
    response = OnlineResponse(
        decision.approved,
        decision.issuer_authentication_data,
        tuple(getattr(decision, "issuer_scripts", ())),
    )
    arpc_verified = kernel.online_response(reader, read, response).issuer_authenticated
    if not decision.approved:
        if record is not None:
            record.declined(decision.reason)
        return Online(Outcome.DECLINED, decision.reason, decision, arpc_verified,
                      idempotency_key=key)  # fmt: skip
    if arpc_verified is False:
        if record is not None:
            queued = record.not_accepted()
            return Online(Outcome.DECLINED, "issuer_authentication_failed", decision, False,
                          queued.reversal, key, queued.reversal_item, queued.resolution)  # fmt: skip
        reversal = reverse(key) if reverse is not None else None
        return Online(Outcome.DECLINED, "issuer_authentication_failed", decision, False,
                      reversal, key)  # fmt: skip
    if record is not None:
        record.confirmed(arpc_verified)
    return Online(Outcome.APPROVED, "approved", decision, arpc_verified, idempotency_key=key)


def _card_accepts(kernel: Kernel, reader: Reader, read: KernelResult, iad: bytes | None) -> bool:
    """Whether the card, still in the field, accepts an approval whose answer came late (from
    the status lookup): Start D with the issuer's tag 91 (EMV Book 3 6.5.4)."""
    if reader.cancelled:
        return False
    try:
        verified = kernel.online_response(reader, read, OnlineResponse(True, iad, ()))
    except ReaderError:
        return False
    return verified.issuer_authenticated is not False and verified.outcome is Outcome.APPROVED


def _settled(settled: Unanswered, key: str) -> Online[D]:
    outcome = Outcome.APPROVED if settled.approved else Outcome.DECLINED
    return Online(outcome, settled.reason, reversal=settled.reversal, idempotency_key=key,
                  reversal_item=settled.reversal_item, resolution=settled.resolution,
                  authorization_id=settled.authorization_id)  # fmt: skip


def _field_off(reader: Reader, hold_ms: int) -> None:
    """The Field Off Request: the reader deactivates the card for ``hold_ms`` (Book A 6.2).

    A reader that fails here is not an outcome of its own: the next poll reports its state.
    """
    try:
        reader.field_off(hold_ms)
    except CardWaitCancelledError:
        raise
    except ReaderError:
        pass


def removal_wait(read: KernelResult | None, default: float | None) -> float | None:
    """How long to wait for the card to leave: the outcome's Removal Timeout, if it has one.

    Book A 6.2: a non-zero Removal Timeout (in ms) is the kernel's; otherwise the caller's
    ``default`` (seconds; None waits for ever, 0 only looks).

    >>> read = KernelResult(Outcome.APPROVED, "approved", WELCOME, removal_timeout_ms=1500)
    >>> removal_wait(read, 0.0)
    1.5
    >>> removal_wait(None, 3.0)
    3.0
    """
    if read is not None and read.removal_timeout_ms > 0:
        return read.removal_timeout_ms / 1000
    return default


def remove_card(
    reader: Reader, *, timeout: float | None, show: Show, read: KernelResult | None = None
) -> bool:
    """After the outcome: "Remove card" while one is in the field, wait for it to leave.

    EMV Contactless Book A 5 and Book D 9.5: the transaction on the card is over, and the
    next one starts only after the field was seen empty. The wait is ``read``'s Removal
    Timeout when the outcome carries one (Book A 6.2), else ``timeout`` seconds
    (:func:`removal_wait`). True when the field was seen empty (or the card had gone
    already); False when the card was not removed in time, the reader was cancelled or
    failed: then "Remove card" stays on the display, and the next :func:`read_card` on this
    reader waits for the removal first and reports ``card_not_removed`` if it stays.
    """
    try:
        if reader.wait_for_removal(0):
            return True
        show(REMOVE_CARD)
        return reader.wait_for_removal(removal_wait(read, timeout))
    except ReaderError:
        return False

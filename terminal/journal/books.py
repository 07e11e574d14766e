"""The terminal's books: its journal and outbox together, as every mode uses them.

:class:`Books` holds the journal (:mod:`terminal.journal.store`), the outbox
(:mod:`terminal.outbox.store`), the acquirer's status lookup and the outbox's sender. A mode:

1. calls :meth:`Books.start` once when it starts: journal recovery (what a kill left
   unfinished, :func:`~terminal.journal.resolve.recover_all`), then an outbox flush;
2. opens a :class:`JournalRecord` with :meth:`Books.begin` the moment an amount is accepted
   (its idempotency key is the one the request is sent under);
3. hands the record to :func:`terminal.tap.go_online`, which journals ``sent`` before the request
   leaves, the answer, ``confirmed`` before "approved" is shown, and resolves an answer that did
   not come with the status lookup (confirmed, or a reversal stored in the outbox);
4. calls :meth:`Books.flush` after the transaction.

The order of writes is the journal's (see :mod:`terminal.journal.resolve`): a reversal is in
the outbox before the journal says ``reversal_queued``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from terminal.errors import IllegalTransitionError, TerminalError, UnknownRecordError
from terminal.journal.resolve import (
    Resolution,
    Resolved,
    StatusLookup,
    journal_hook,
    queue_reversal,
    recover_all,
    resolve,
)
from terminal.journal.states import TxKind, TxState
from terminal.journal.store import Journal, JournalEntry
from terminal.online.client import AcquirerClient
from terminal.outbox import (
    Delivery,
    FlushReport,
    Forwarder,
    Outbox,
    OutboxItem,
    Request,
    cancel_abandoned_rental,
)
from terminal.outbox.forwarder import Send, http_sender
from terminal.tap import Unanswered

__all__ = ["IN_PROGRESS_PAUSES", "Books", "JournalRecord", "StartReport"]

#: Seconds between status lookups that found the request still in progress (the customer
#: waits at most their sum before the payment is reversed instead).
IN_PROGRESS_PAUSES = (0.2, 0.5)

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class StartReport:
    """What :meth:`Books.start` did: the transactions recovery resolved, the first flush."""

    recovered: list[Resolved] = field(default_factory=list)
    flushed: FlushReport = field(default_factory=FlushReport)


class JournalRecord:
    """One transaction in the journal, driven by :func:`terminal.tap.go_online` (a
    :class:`~terminal.tap.TapRecord`) and by its mode for the steps before and after."""

    def __init__(self, books: Books, entry: JournalEntry, undo: Request | None) -> None:
        self.books, self.entry, self.undo = books, entry, undo
        #: Store-and-forward: called when the request certainly did not reach the acquirer;
        #: an approval it gives (journalled ``offline_approved``) or None (declined).
        self.offline: Callable[[JournalRecord], Unanswered | None] | None = None
        #: Whether an approval found late by the status lookup may be confirmed (the card
        #: accepting tag 91); False for an action the late answer cannot complete.
        self.confirm_late = True

    @property
    def key(self) -> str:
        return self.entry.idempotency_key

    @property
    def id(self) -> int:
        return self.entry.id

    # -- before going online (the mode) ------------------------------------------------------

    def card_read(self, token_masked: str | None, par: str | None) -> None:
        self.entry = self.books.journal.card_read(self.id, token_masked=token_masked, par=par)

    def cancelled(self, reason: str = "cancelled") -> None:
        self.entry = self.books.journal.advance(self.id, TxState.CANCELLED, reason=reason)

    def ended(self, outcome: str, reason: str) -> None:
        """Ended without going online (no card, try again, declined by the card, ...)."""
        self.entry = self.books.journal.advance(self.id, TxState.DECLINED, outcome=outcome,
                                                reason=reason)  # fmt: skip

    # -- going online (terminal.tap.TapRecord) -----------------------------------------------

    def sending(self) -> None:
        self.entry = self.books.journal.sent(self.id, undo=self.undo)
        _stop_at("sent")

    def answered(self, approved: bool, reason: str, authorization_id: str | None) -> None:
        self.entry = self.books.journal.answered(self.id, approved=approved, reason=reason,
                                                 authorization_id=authorization_id)  # fmt: skip
        _stop_at("answered")

    def declined(self, reason: str) -> None:
        self.entry = self.books.journal.advance(self.id, TxState.DECLINED, reason=reason)

    def unanswered(self, maybe_delivered: bool, accept: Callable[[bytes | None], bool]) -> Unanswered:
        journal = self.books.journal
        if not maybe_delivered:  # no connection was made: the acquirer holds nothing
            deferred = self.offline(self) if self.offline is not None else None
            if deferred is not None:
                return deferred
            self.declined("online_unavailable")
            return Unanswered(False, "online_unavailable", "not_delivered")
        self.entry = journal.advance(self.id, TxState.ANSWER_UNKNOWN, reason="answer_unknown")
        _stop_at("answer_unknown")
        if not self.confirm_late:  # no late completion: undo by key (a no-op if nothing held)
            done = queue_reversal(journal, self.books.outbox, self.id,
                                  reason="acquirer_unavailable", resolution="not_looked_up")  # fmt: skip
            self.entry = done.entry
            seq = done.reversal.seq if done.reversal is not None else None
            return Unanswered(False, "acquirer_unavailable", "not_looked_up", "queued", seq)
        for pause in (*IN_PROGRESS_PAUSES, None):
            done = resolve(journal, self.books.outbox, self.id, self.books.lookup,
                           accept=accept if self.confirm_late else None)  # fmt: skip
            if done.resolution != Resolution.IN_PROGRESS or pause is None:
                break
            threading.Event().wait(pause)  # the acquirer is still at it: look again shortly
        if done.resolution == Resolution.IN_PROGRESS:
            # Still being processed: the customer is not kept waiting, the approval is undone
            # (the outbox retries the reversal until the acquirer has finished the original).
            done = queue_reversal(journal, self.books.outbox, self.id, reason="answer_unknown",
                                  resolution=Resolution.IN_PROGRESS)  # fmt: skip
        self.entry = done.entry
        approved = done.entry.state is TxState.CONFIRMED
        item = done.reversal
        return Unanswered(
            approved, "approved" if approved else (done.entry.reason or "acquirer_unavailable"),
            str(done.resolution), "queued" if item is not None else None,
            item.seq if item is not None else None, done.entry.authorization_id,
        )  # fmt: skip

    def not_accepted(self) -> Unanswered:
        done = queue_reversal(self.books.journal, self.books.outbox, self.id,
                              reason="issuer_authentication_failed",
                              resolution="card_refused_issuer_answer")  # fmt: skip
        self.entry = done.entry
        seq = done.reversal.seq if done.reversal is not None else None
        return Unanswered(False, "issuer_authentication_failed", str(done.resolution), "queued",
                          seq)  # fmt: skip

    def confirmed(self, arpc_verified: bool | None) -> None:
        _stop_at("confirm")
        self.entry = self.books.journal.confirm(self.id, arpc_verified=arpc_verified)
        _stop_at("confirmed")


class Books:
    """The journal and outbox of one terminal, with its status lookup and outbox sender."""

    def __init__(self, journal: Journal, outbox: Outbox, lookup: StatusLookup, send: Send) -> None:
        self.journal, self.outbox, self.lookup, self.send = journal, outbox, lookup, send
        self._open: dict[str, JournalRecord] = {}  # records begun here, by idempotency key

    @classmethod
    def open(
        cls, journal: Path, outbox: Path, client: AcquirerClient, terminal_id: str, *,
        lease: float = 60.0,
    ) -> Books:  # fmt: skip
        """The books at ``journal`` and ``outbox``, talking to the acquirer through ``client``;
        ``lease``: how long an outbox claim lasts (longer than a request may take)."""

        def lookup(kind: str, key: str) -> dict[str, Any]:
            return client.status(kind, key, terminal_id=terminal_id)

        send = http_sender(client.http)

        def forward(item: OutboxItem) -> Delivery:
            _stop_at("forwarding")
            delivery = send(item)
            _stop_at("forwarded")  # answered, not yet recorded: the lease will expire
            return delivery

        opened = Journal(journal)
        try:
            return cls(opened, Outbox(outbox, lease=lease), lookup, forward)
        except BaseException:
            opened.close()
            raise

    def close(self) -> None:
        self.journal.close()
        self.outbox.close()

    def __enter__(self) -> Books:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def begin(
        self, kind: TxKind, amount: int, currency: str, *, reference: str | None = None,
        undo: Callable[[str], Request] | None = None,
    ) -> JournalRecord:  # fmt: skip
        """Journal a transaction whose amount was just accepted; ``undo(key)`` is the request
        reversing it by its idempotency key (journalled with ``sent``)."""
        entry = self.journal.accept(kind, amount, currency, reference=reference)
        _stop_at("accepted")
        record = JournalRecord(self, entry, undo(entry.idempotency_key) if undo else None)
        self._open[entry.idempotency_key] = record
        return record

    def interrupted_after_send(self, key: str) -> dict[str, Any]:
        """A signal ended the tap after its request may have left: journal the unknown answer
        and store the reversal in the outbox (a no-op when the transaction already ended).

        The tap's thread may still be running: every move is checked against the state
        machine inside the journal's write lock, so whichever comes first wins and the other
        sees the state it left (a request not yet sent is then refused by ``sent``).
        """
        record = self._open.get(key)
        try:
            entry = record.entry if record is not None else self.journal.by_key(key)
        except UnknownRecordError:  # a request the journal does not hold (a bike ride's)
            return {}
        for _ in range(4):
            entry = self.journal.get(entry.id)
            try:
                if entry.state in (TxState.ACCEPTED, TxState.CARD_READ) and record is not None:
                    if entry.state is TxState.ACCEPTED:
                        self.journal.advance(entry.id, TxState.CARD_READ)
                    self.journal.sent(entry.id, undo=record.undo)
                    continue
                if entry.state is TxState.SENT:
                    self.journal.advance(entry.id, TxState.ANSWER_UNKNOWN, reason="interrupted")
                    continue
                if entry.state in (TxState.ANSWER_UNKNOWN, TxState.ANSWERED):
                    done = queue_reversal(self.journal, self.outbox, entry.id,
                                          reason="interrupted_after_send",
                                          resolution="interrupted")  # fmt: skip
                    entry = done.entry
                    assert done.reversal is not None
                    return {"journal_id": entry.id, "journal_state": entry.state.value,
                            "reversal": "queued", "reversal_item": done.reversal.seq}  # fmt: skip
            except IllegalTransitionError:
                continue  # the tap's thread moved it meanwhile: look again
            break
        return {"journal_id": entry.id, "journal_state": entry.state.value}

    def start(self) -> StartReport:
        """At a mode's start: resolve what the journal shows unfinished, then flush the outbox."""
        try:
            recovered = recover_all(self.journal, self.outbox, self.lookup)
        except TerminalError as exc:  # the journal stays as it is; the next start tries again
            log.warning("journal recovery incomplete: %s", exc)
            recovered = []
        return StartReport(recovered, self.flush())

    def flush(self) -> FlushReport:
        """Forward what the outbox holds that is due now (the journal kept up with it)."""
        forwarder = Forwarder(self.outbox, self.send, on_done=journal_hook(self.journal),
                              follow_ups={"abandon": cancel_abandoned_rental})  # fmt: skip
        return forwarder.flush()


#: Test hook: the journal step at which the process stops itself (the fault suite's
#: "terminal killed at every step"), ``STEP`` or ``STEP:SIGNAL`` (default SIGKILL).
STOP_AT_ENV = "TAP_TERMINAL_STOP_AT"


def _stop_at(step: str) -> None:
    """Stop this process with a signal when ``$TAP_TERMINAL_STOP_AT`` names ``step`` (a fault
    injection for tests: the journal's state at that point is what a kill leaves)."""
    import os
    import signal

    wanted = os.environ.get(STOP_AT_ENV)
    if not wanted:
        return
    name, _, sig = wanted.partition(":")
    if name == step:
        os.kill(os.getpid(), signal.Signals[sig or "SIGKILL"])

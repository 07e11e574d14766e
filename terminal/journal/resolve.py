"""Status instead of guessing: resolve an unknown answer with the acquirer's status lookup.

When an answer does not come back (lost, timed out, the terminal killed), the terminal asks
the acquirer what became of the request (like Adyen's TransactionStatus)::

    GET /v1/status/{kind}/{idempotency_key}?terminal_id=T
    -> {"terminal_id": T, "kind": kind, "idempotency_key": K,
        "status": "processed" | "in_progress" | "not_found", "answer": {...} | null}

with ``kind`` one of ``authorizations``, ``operations``, ``rentals``, ``parcels``. The paths
(:class:`Resolution`, recorded in the journal):

===============================================  ==============================================
status lookup                                    the transaction
===============================================  ==============================================
processed, approved, the card accepted tag 91    ``confirmed``
processed, declined                              ``declined`` (nothing to reverse)
processed, approved, card gone or it refused     ``reversal_queued`` (the customer saw no approval)
not_found                                        ``declined``, and a reversal by key is queued
                                                 anyway: it bars a late original at the acquirer
in_progress                                      unchanged: look again later
unreachable (or an answer that is not one)       ``reversal_queued``
===============================================  ==============================================

"The card accepted" is ``accept(tag91)``: the mode passes it while the card is still in the
field (EXTERNAL AUTHENTICATE, EMV Book 3 6.5.4) and shows approved when it returns True;
recovery after a restart has no card, so an approval found then is reversed.

Order of writes: the reversal is stored in the outbox *before* the journal says so, so a kill
between the two leaves a transaction that recovery resolves again, never a reversal owed that
nobody holds. The reversal's key is derived from the original key, so storing it twice is one
item and sending it twice is one effect.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from terminal.errors import JournalError, StatusUnavailableError, TerminalError
from terminal.journal.recovery import Action
from terminal.journal.states import TxState
from terminal.journal.store import Journal, JournalEntry
from terminal.outbox import Delivery, ItemKind, ItemState, NewItem, Outbox, OutboxItem, Request
from terminal.outbox.followups import derived_key
from terminal.outbox.forwarder import OnDone

__all__ = [
    "Accept",
    "Resolution",
    "Resolved",
    "StatusLookup",
    "journal_hook",
    "payment_undo",
    "queue_reversal",
    "recover_all",
    "resolve",
    "reversal_item",
    "status_lookup",
]

log = logging.getLogger(__name__)

#: ``lookup(kind, idempotency_key)``: the acquirer's status document; raises when unreachable.
StatusLookup = Callable[[str, str], Mapping[str, Any]]
#: ``accept(tag91)``: whether the card, still in the field, accepted the issuer's answer.
Accept = Callable[[bytes | None], bool]
STATUSES = ("processed", "in_progress", "not_found")


class Resolution(StrEnum):
    """Which path a status resolution took (the journal's ``resolution``)."""

    CONFIRMED = "processed_approved_confirmed"
    DECLINED = "processed_declined"
    NOT_ACCEPTED = "processed_approved_not_accepted"
    NOT_FOUND = "not_found"
    IN_PROGRESS = "in_progress"
    UNREACHABLE = "unreachable"


@dataclass(frozen=True, slots=True)
class Resolved:
    """How one transaction was resolved: its entry afterwards, the path, the reversal queued."""

    entry: JournalEntry
    resolution: Resolution | str
    reversal: OutboxItem | None = None


def status_lookup(
    get_json: Callable[[str, dict[str, str | int]], Mapping[str, Any]], terminal_id: str
) -> StatusLookup:
    """A :data:`StatusLookup` over ``get_json(path, params)`` (``AcquirerClient.get_json``)."""

    def lookup(kind: str, idempotency_key: str) -> Mapping[str, Any]:
        return get_json(f"/v1/status/{kind}/{idempotency_key}", {"terminal_id": terminal_id})

    return lookup


def payment_undo(terminal_id: str, original_key: str) -> Request:
    """The reversal of a payment by its key (``POST /v1/reversals``), for :meth:`Journal.sent`."""
    body = {"terminal_id": terminal_id, "original_idempotency_key": original_key}
    return Request(ItemKind.REVERSAL, "POST", "/v1/reversals", body, "reversal")


def reversal_item(entry: JournalEntry, undo: Request | None = None) -> NewItem:
    """The outbox item reversing ``entry`` (its recorded undo, or ``undo``), under a key derived
    from the transaction's; the money it holds is at risk until the reversal lands."""
    request = undo or entry.undo
    if request is None:
        raise JournalError(f"transaction {entry.id} was sent without an undo request: "
                           "it cannot be reversed by the terminal")  # fmt: skip
    return NewItem(request, derived_key("reversal", entry.idempotency_key), amount=entry.amount,
                   currency=entry.currency, account=entry.par, journal_id=entry.id)  # fmt: skip


def queue_reversal(
    journal: Journal, outbox: Outbox, id: int, *, reason: str, resolution: str,
    decline: bool = False, undo: Request | None = None,
) -> Resolved:
    """Store the reversal of transaction ``id`` in the outbox, then journal it.

    The transaction goes to ``reversal_queued``, or with ``decline`` to ``declined`` (the
    acquirer holds nothing; the reversal only bars a late original).
    """
    entry = journal.get(id)
    item = outbox.add(reversal_item(entry, undo))
    state = TxState.DECLINED if decline else TxState.REVERSAL_QUEUED
    after = journal.advance(id, state, reason=reason, resolution=resolution)
    return Resolved(after, resolution, item)


def _parse(doc: Mapping[str, Any], entry: JournalEntry) -> tuple[str, Mapping[str, Any] | None]:
    """The status and answer of a status document about ``entry`` (else StatusUnavailableError)."""
    status, answer = doc.get("status"), doc.get("answer")
    if (doc.get("idempotency_key") != entry.idempotency_key or doc.get("kind") != entry.status_kind
            or status not in STATUSES or (answer is not None and not isinstance(answer, Mapping))
            or (status == "processed" and answer is None)):  # fmt: skip
        raise StatusUnavailableError("the status lookup's answer is not about this request")
    return str(status), answer


def resolve(
    journal: Journal, outbox: Outbox, id: int, lookup: StatusLookup, *,
    accept: Accept | None = None,
) -> Resolved:
    """Resolve transaction ``id`` (``sent`` or ``answer_unknown``) with the status lookup."""
    entry = journal.get(id)
    if entry.state is TxState.SENT:
        entry = journal.advance(id, TxState.ANSWER_UNKNOWN, reason="answer_unknown")
    if entry.state is not TxState.ANSWER_UNKNOWN:
        raise JournalError(f"transaction {id} is {entry.state}: it has no unknown answer")
    try:
        status, answer = _parse(lookup(entry.status_kind, entry.idempotency_key), entry)
    except TerminalError as exc:
        log.warning("status of transaction %s unknown (%s): reversing", id, exc)
        return queue_reversal(journal, outbox, id, reason="acquirer_unavailable",
                              resolution=Resolution.UNREACHABLE)  # fmt: skip
    if status == "in_progress":
        return Resolved(journal.note(id, "status lookup: in progress",
                                     resolution=Resolution.IN_PROGRESS), Resolution.IN_PROGRESS)  # fmt: skip
    if status == "not_found":
        return queue_reversal(journal, outbox, id, reason="not_received",
                              resolution=Resolution.NOT_FOUND, decline=True)  # fmt: skip
    assert answer is not None
    authorization_id = answer.get("authorization_id")
    journal.note(id, "status lookup: processed", authorization_id=authorization_id,
                 approved=answer.get("approved") is True)  # fmt: skip
    if "approved" not in answer:  # an answer this lookup cannot read: undo by key to be sure
        return queue_reversal(journal, outbox, id, reason="answer_unreadable",
                              resolution=Resolution.UNREACHABLE)  # fmt: skip
    if answer.get("approved") is not True:  # only a JSON true approves
        return Resolved(journal.advance(id, TxState.DECLINED, reason=str(answer.get("reason")),
                                        resolution=Resolution.DECLINED), Resolution.DECLINED)  # fmt: skip
    tag91 = answer.get("issuer_authentication_data")
    try:
        iad = bytes.fromhex(tag91) if isinstance(tag91, str) and tag91 else None
    except ValueError:
        iad = None
    if accept is not None and accept(iad):
        confirmed = journal.confirm(id, arpc_verified=True if iad else None,
                                    resolution=Resolution.CONFIRMED)  # fmt: skip
        return Resolved(confirmed, Resolution.CONFIRMED)
    return queue_reversal(journal, outbox, id, reason="not_accepted_by_card",
                          resolution=Resolution.NOT_ACCEPTED)  # fmt: skip


def recover_all(journal: Journal, outbox: Outbox, lookup: StatusLookup) -> list[Resolved]:
    """Carry out :meth:`Journal.recover`'s actions (see :mod:`terminal.journal.recovery`).

    Run at start, before the outbox is first flushed. Transactions whose status is still in
    progress stay ``answer_unknown``, to be resolved again later.
    """
    done: list[Resolved] = []
    for recovery in journal.recover():
        entry, action = recovery.entry, recovery.action
        if action is Action.CANCEL:
            outbox.cancel_held(entry.id)
            after = journal.advance(entry.id, TxState.CANCELLED, reason="interrupted")
            done.append(Resolved(after, "recovered_cancelled"))
        elif action is Action.LOOKUP_STATUS:
            done.append(resolve(journal, outbox, entry.id, lookup))
        elif action is Action.DECLINE:
            done.append(Resolved(journal.advance(entry.id, TxState.DECLINED,
                                                 resolution="recovered_declined"),
                                 "recovered_declined"))  # fmt: skip
        elif action is Action.REVERSE:
            done.append(queue_reversal(journal, outbox, entry.id, reason="not_confirmed",
                                       resolution="recovered_unconfirmed"))  # fmt: skip
        elif action is Action.ENSURE_REVERSAL:
            item = outbox.add(reversal_item(entry))
            if item.state is ItemState.DONE:
                after = journal.advance(entry.id, TxState.REVERSED, note="reversal delivered")
                done.append(Resolved(after, "recovered_reversed", item))
            else:
                done.append(Resolved(entry, "reversal_owed", item))
        elif action is Action.ENSURE_FORWARD:
            outbox.release(entry.id)
            deferred = [i for i in outbox.for_journal(entry.id) if i.deferred]
            if not deferred:
                journal.note(entry.id, "no deferred payment in the outbox: needs the operator")
                done.append(Resolved(entry, "deferred_missing"))
            elif deferred[0].state is ItemState.DONE:
                after = journal.advance(entry.id, TxState.FORWARDED, note="forwarded")
                done.append(Resolved(after, "recovered_forwarded", deferred[0]))
            else:
                done.append(Resolved(entry, "forward_owed", deferred[0]))
    return done


def journal_hook(journal: Journal) -> OnDone:
    """The forwarder's ``on_done`` that keeps the journal up with the outbox: a delivered
    reversal marks its transaction ``reversed``, a delivered deferred payment ``forwarded``
    (with the acquirer's late decision), a parked item is noted on its transaction."""

    def on_done(item: OutboxItem, delivery: Delivery, done: bool) -> None:
        if item.journal_id is None:
            return
        entry = journal.get(item.journal_id)
        if not done:
            journal.note(entry.id, f"outbox {item.kind} {item.seq} refused for good: "
                         f"{delivery.status} {delivery.code or ''}".strip())  # fmt: skip
        elif item.kind == ItemKind.REVERSAL and entry.state is TxState.REVERSAL_QUEUED:
            result = "nothing_to_reverse" if delivery.status >= 300 else "reversed"
            journal.advance(entry.id, TxState.REVERSED, note=result)
        elif item.deferred and entry.state is TxState.OFFLINE_APPROVED:
            body = delivery.body or {}
            late = "approved" if body.get("approved") is True else "declined_late"
            journal.advance(entry.id, TxState.FORWARDED, note=f"deferred authorization {late}",
                            authorization_id=body.get("authorization_id"))  # fmt: skip

    return on_done

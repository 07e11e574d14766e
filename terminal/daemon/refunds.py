"""Refunds: a referenced refund of an approved payment, delivered through the outbox.

A refund needs no card: it names the payment (its authorization id) and the amount. It is
owed to the customer once asked for, so it is sent the way everything the terminal owes the
acquirer is, through the outbox, under the journal's idempotency key (one effect however
often it is sent). The order of writes makes every crash resolvable:

==========================================  ===========================================
written                                     a restart finds
==========================================  ===========================================
``card_read`` (the payment's masked token)  ``cancel``: nothing was sent
the refund in the outbox, held              ``cancel`` (the held item is cancelled too)
``sent``, then the item released            the refund owed: :func:`owed_refunds`
                                            releases it, the next flush delivers it
==========================================  ===========================================

:func:`refund_hook` keeps the journal up with the outbox: a delivered refund is ``answered``
then ``confirmed``, one the acquirer refused for good ``declined``. Journal recovery
(:func:`~terminal.journal.recover_all`) would look the status of a ``sent`` refund up and
queue its reversal, which a refund has none of: the daemon's journal leaves owed refunds
to the outbox (:class:`RefundsInOutbox`).
"""

from __future__ import annotations

from pathlib import Path

from terminal.journal import Journal, Recovery, TxKind, TxState
from terminal.outbox import Delivery, ItemKind, NewItem, Outbox, OutboxItem, Request
from terminal.outbox.forwarder import OnDone

__all__ = ["RefundsInOutbox", "chain", "owed_refunds", "refund_hook", "refund_request",
           "store_refund"]

UNSETTLED = (TxState.SENT, TxState.ANSWER_UNKNOWN)


def refund_request(terminal_id: str, authorization_id: str, amount: int) -> Request:
    """``POST /v1/payments/{id}/refunds`` for ``amount`` minor units."""
    return Request(ItemKind.ADVICE, "POST", f"/v1/payments/{authorization_id}/refunds",
                   {"terminal_id": terminal_id, "amount": amount}, "refund")  # fmt: skip


def store_refund(journal: Journal, outbox: Outbox, entry_id: int, request: Request) -> OutboxItem:
    """Record refund ``entry_id`` as sent and owed (see the module docstring's order)."""
    entry = journal.get(entry_id)
    item = outbox.add(NewItem(request, entry.idempotency_key, amount=entry.amount,
                              currency=entry.currency, journal_id=entry_id), hold=True)  # fmt: skip
    journal.sent(entry_id)
    outbox.release(entry_id)
    return outbox.item(item.seq)


def _is_owed_refund(outbox: Outbox, recovery: Recovery) -> bool:
    entry = recovery.entry
    return entry.kind is TxKind.REFUND and entry.state in UNSETTLED and any(
        item.action == "refund" for item in outbox.for_journal(entry.id))


def owed_refunds(journal: Journal, outbox: Outbox) -> list[int]:
    """Release the refunds a crash left owed (sent, their item held); their journal ids."""
    owed = [r.entry.id for r in Journal.recover(journal) if _is_owed_refund(outbox, r)]
    for entry_id in owed:
        outbox.release(entry_id)
    return owed


class RefundsInOutbox(Journal):
    """The daemon's journal: recovery leaves the refunds the outbox delivers to the outbox."""

    def __init__(self, path: Path, outbox: Outbox) -> None:
        super().__init__(path)
        self._outbox = outbox

    def recover(self) -> list[Recovery]:
        return [r for r in super().recover() if not _is_owed_refund(self._outbox, r)]


def refund_hook(journal: Journal) -> OnDone:
    """The forwarder's ``on_done`` for refunds (chain it with the journal's own hook)."""

    def on_done(item: OutboxItem, delivery: Delivery, done: bool) -> None:
        if item.action != "refund" or item.journal_id is None:
            return
        entry = journal.get(item.journal_id)
        if entry.state not in UNSETTLED:
            return
        if not done:
            journal.advance(entry.id, TxState.DECLINED,
                            reason=f"acquirer_rejected:{delivery.code or delivery.status}")  # fmt: skip
            return
        operation = str((delivery.body or {}).get("operation_id"))
        if entry.state is TxState.SENT:
            journal.answered(entry.id, approved=True, reason="refunded", authorization_id=operation)
        else:
            journal.note(entry.id, "refund delivered", authorization_id=operation, approved=True)
        journal.confirm(entry.id, arpc_verified=None, resolution="refund_delivered")

    return on_done


def chain(*hooks: OnDone) -> OnDone:
    """One ``on_done`` calling each of ``hooks`` in turn."""

    def on_done(item: OutboxItem, delivery: Delivery, done: bool) -> None:
        for hook in hooks:
            hook(item, delivery, done)

    return on_done


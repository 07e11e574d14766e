"""One action on the reader: wait for a card (cancellable), the pay mode, the journal around it.

The runner calls the same function the ``tap-terminal pay`` command calls
(:func:`terminal.modes.pay.pay`, the tap engine underneath), handing it a
:class:`~terminal.daemon.journaled.JournaledClient` so that every step is journalled, and
writes the final state itself: ``confirmed`` (with the receipt) before the action says
completed, ``declined`` or ``cancelled`` otherwise.

Cancellation (Book A: a transaction may be abandoned before the online request leaves):

- while waiting for a card or reading it (``waiting_for_card``): :meth:`Reader.cancel`
  ends the wait or the exchange at once and the pay mode returns ``cancelled``;
- after the card was read (``processing``), up to the moment the authorization is sent:
  the cancel gate of :class:`Slot` decides under a lock, so a cancel either wins (nothing is
  sent) or is told ``too_late`` (the action completes with the acquirer's answer, reversed
  if that answer is lost, as every payment is).

After the outcome the pay mode asks for the card's removal (Book A 5) without waiting; the
next action's wait for a card first waits for that card to leave the field.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from terminal.daemon.actions import Action, ActionState, CancelResult
from terminal.daemon.actions import failed as _failed
from terminal.daemon.journaled import JournaledClient
from terminal.daemon.receipts import Receipt
from terminal.daemon.refunds import refund_request, store_refund
from terminal.journal import Journal, JournalEntry, StatusLookup, TxKind, TxState
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.kernel.ui import UiRequest
from terminal.modes.pay import PaymentResult, pay
from terminal.online import AcquirerClient
from terminal.outbox import ItemState, Outbox
from terminal.readers.base import Reader
from terminal.tap import TerminalOutcome

__all__ = ["Context", "Slot", "run_payment", "run_refund"]

log = logging.getLogger(__name__)

#: The tap engine's reasons for a tap on which no card was read.
NOT_READ = frozenset({"no_card", "card_not_removed", "reader_error"})


class Slot:
    """The action running on the reader, with its cancel gate."""

    def __init__(self, action: Action) -> None:
        self.action = action
        #: Held for every change of :attr:`action` (re-entrant: updates nest in the gate).
        self.lock = threading.RLock()
        self.cancel = threading.Event()
        self.sent = False
        self.done = threading.Event()

    def gate(self) -> bool:
        """Right before the authorization leaves: False when a cancel came first."""
        with self.lock:
            if self.cancel.is_set():
                return False
            self.sent = True
            return True

    def request_cancel(self, reader: Reader | None) -> CancelResult:
        """Ask to cancel (call with :attr:`lock` held): ``cancelled`` when it will be
        honoured, ``too_late`` when the authorization has already left or the action ended
        otherwise. While the reader waits for (or reads) a card, ``reader.cancel()`` ends
        that wait at once; afterwards the gate refuses to send."""
        if self.sent or self.action.state is ActionState.COMPLETED:
            return CancelResult.TOO_LATE
        self.cancel.set()
        if reader is not None and self.action.state is ActionState.WAITING_FOR_CARD:
            reader.cancel()
        return CancelResult.CANCELLED


@dataclass
class Context:
    """What an action runs on, handed by the daemon."""

    reader: Reader
    kernel: Kernel
    client: AcquirerClient
    journal: Journal
    outbox: Outbox
    terminal_id: str
    merchant_name: str
    wait: float
    lookup: StatusLookup
    flush: Callable[[], object]
    #: ``update(slot, change)``: apply ``change`` to the slot's action under its lock,
    #: persist it and publish the change.
    update: Callable[[Slot, Callable[[Action], Action]], None]
    show: Callable[[UiRequest], None]
    reader_lost: Callable[[str], None]


def _receipt(ctx: Context, action: Action, entry: JournalEntry, result: PaymentResult | None,
             outcome: str, authorization_id: str | None) -> Receipt:  # fmt: skip
    kernel = result.kernel if result is not None else None
    return Receipt(
        merchant_name=ctx.merchant_name, merchant_id=None, terminal_id=ctx.terminal_id,
        at=datetime.now(UTC).isoformat(), kind=action.kind.value,
        token_masked=entry.token_masked or (kernel.masked_pan if kernel else None),
        application_label=kernel.label if kernel else None,
        aid=kernel.aid.hex().upper() if kernel and kernel.aid else None,
        amount=action.amount, currency=action.currency, outcome=outcome,
        authorization_code=authorization_id,
        arpc_verified=result.arpc_verified if result is not None else None,
        reference=action.reference,
    )  # fmt: skip


def _cancelled(ctx: Context, slot: Slot, entry_id: int, reason: str) -> None:
    entry = ctx.journal.get(entry_id)
    if entry.state in (TxState.ACCEPTED, TxState.CARD_READ):
        ctx.journal.advance(entry_id, TxState.CANCELLED, reason=reason)
    ctx.update(slot, lambda a: a.advance(ActionState.CANCELLED, reason="cancelled",
                                         cancel_result=CancelResult.CANCELLED))  # fmt: skip


def _processing(action: Action) -> Action:
    """``action`` in ``processing`` (a card decision reached without the online step)."""
    if action.state is ActionState.PROCESSING:
        return action
    return action.advance(ActionState.PROCESSING)


def run_payment(ctx: Context, slot: Slot) -> None:
    """Run a payment (or pre-authorization) action to its final state."""
    action = slot.action
    kind = TxKind.PREAUTHORIZATION if action.kind.value == "preauthorization" else TxKind.PAYMENT
    entry = ctx.journal.accept(kind, action.amount, action.currency, reference=action.reference)
    ctx.reader.clear_cancel()  # a cancel of an earlier action is not this one's
    ctx.update(slot, lambda a: a.advance(ActionState.WAITING_FOR_CARD, journal_id=entry.id))
    client = JournaledClient(ctx.client, ctx.journal, ctx.outbox, entry.id,
                             terminal_id=ctx.terminal_id, lookup=ctx.lookup, gate=slot.gate,
                             flush=ctx.flush,
                             card_read=lambda: ctx.update(slot, _processing),
                             intent="preauthorization" if kind is TxKind.PREAUTHORIZATION
                             else "sale")  # fmt: skip
    try:
        result = pay(ctx.reader, Transaction(action.amount, action.currency),
                     terminal_id=ctx.terminal_id, client=client, kernel=ctx.kernel,
                     wait=ctx.wait, on_ui=ctx.show, removal_wait=0)  # fmt: skip
    finally:
        ctx.reader.clear_cancel()
    _finish_payment(ctx, slot, entry.id, result, client.cancelled)


def _finish_payment(ctx: Context, slot: Slot, entry_id: int, result: PaymentResult,
                    cancelled_at_gate: bool) -> None:  # fmt: skip
    entry = ctx.journal.get(entry_id)
    if (cancelled_at_gate or result.outcome is TerminalOutcome.CANCELLED
            or (not slot.sent and slot.cancel.is_set())):  # fmt: skip
        _cancelled(ctx, slot, entry_id, "cancelled")
        return
    if entry.state is TxState.ACCEPTED and result.reason in NOT_READ:
        # No card was read: nothing to decline (no_card, card_not_removed, reader_error).
        ctx.journal.advance(entry_id, TxState.CANCELLED, reason=result.reason)
        if result.reason == "reader_error":
            ctx.reader_lost("the reader failed while waiting for a card")
        ctx.update(slot, _failed(result.reason))
        return
    auth = result.authorization
    authorization_id = auth.authorization_id if auth else entry.authorization_id
    if result.outcome is Outcome.APPROVED and entry.state is TxState.ANSWERED:
        receipt = _receipt(ctx, slot.action, entry, result, "approved", authorization_id)
        ctx.journal.confirm(entry_id, arpc_verified=result.arpc_verified,
                            receipt=receipt.to_dict())  # fmt: skip
        _complete(ctx, slot, result, receipt, authorization_id)
        return
    if entry.state in (TxState.ACCEPTED, TxState.CARD_READ, TxState.ANSWERED):
        ctx.journal.advance(entry_id, TxState.DECLINED, reason=result.reason)
    if result.outcome is not Outcome.DECLINED:
        # No decision on a card (try again, end application, another interface): no receipt.
        ctx.update(slot, lambda a: _processing(a).advance(ActionState.FAILED, reason=result.reason,
                                             result=_summary(result, None, None)))  # fmt: skip
        return
    entry = ctx.journal.get(entry_id)
    receipt = _receipt(ctx, slot.action, entry, result, "declined", authorization_id)
    ctx.journal.note(entry_id, "receipt", receipt=receipt.to_dict())
    _complete(ctx, slot, result, receipt, authorization_id)


def _summary(result: PaymentResult, receipt: Receipt | None,
             authorization_id: str | None) -> dict[str, Any]:  # fmt: skip
    k = result.kernel
    return {
        "outcome": result.outcome.value, "reason": result.reason, "message": result.message,
        "authorization_id": authorization_id,
        "token_masked": receipt.token_masked if receipt else (k.masked_pan if k else None),
        "arpc_verified": result.arpc_verified, "reversal": result.reversal,
        "receipt": receipt.to_dict() if receipt else None,
    }  # fmt: skip


def _complete(ctx: Context, slot: Slot, result: PaymentResult, receipt: Receipt,
              authorization_id: str | None) -> None:  # fmt: skip
    summary = _summary(result, receipt, authorization_id)
    # A cancel that came after the gate was told too_late, and the action says so.
    ctx.update(slot, lambda a: _processing(a).advance(
        ActionState.COMPLETED, reason=result.reason, result=summary,
        cancel_result=CancelResult.TOO_LATE if a.cancel_requested else None))


def run_refund(ctx: Context, slot: Slot, original: Action) -> None:
    """Refund (part of) the completed payment ``original`` by its authorization id, through
    the outbox (:mod:`terminal.daemon.refunds`); no card."""
    action = slot.action
    done = original.result or {}
    auth_id, token = str(done.get("authorization_id")), done.get("token_masked")
    entry = ctx.journal.accept(TxKind.REFUND, action.amount, action.currency,
                               reference=action.reference)  # fmt: skip
    ctx.update(slot, lambda a: a.advance(ActionState.PROCESSING, journal_id=entry.id))
    ctx.journal.card_read(entry.id, token_masked=token)
    item = store_refund(ctx.journal, ctx.outbox, entry.id,
                        refund_request(ctx.terminal_id, auth_id, action.amount))  # fmt: skip
    ctx.flush()  # delivers it now when the acquirer answers; else it stays owed
    item = ctx.outbox.item(item.seq)
    if item.state is ItemState.FAILED:
        ctx.update(slot, _failed(f"acquirer_rejected: {item.last_error}"))
        return
    if item.state is not ItemState.DONE:
        ctx.update(slot, _failed("refund_owed: not delivered yet, the outbox sends it once"))
        return
    operation = str((item.answer or {}).get("operation_id"))
    original_receipt = done.get("receipt") or {}
    receipt = Receipt(
        merchant_name=ctx.merchant_name, merchant_id=None, terminal_id=ctx.terminal_id,
        at=datetime.now(UTC).isoformat(), kind="refund", token_masked=token,
        application_label=original_receipt.get("application_label"),
        aid=original_receipt.get("aid"), amount=action.amount, currency=action.currency,
        outcome="refunded", authorization_code=operation, arpc_verified=None,
        reference=action.reference,
    )  # fmt: skip
    ctx.journal.note(entry.id, "receipt", receipt=receipt.to_dict())
    ctx.update(slot, lambda a: a.advance(ActionState.COMPLETED, reason="refunded", result={
        "outcome": "refunded", "reason": "refunded", "authorization_id": operation,
        "original_authorization_id": auth_id, "token_masked": token, "arpc_verified": None,
        "receipt": receipt.to_dict(),
    }))  # fmt: skip

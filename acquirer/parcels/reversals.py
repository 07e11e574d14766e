"""Reversal of a parcel payment: the card rejected the answer, or the locker never got it.

A locker pays what a parcel owes with a sale while the card is still in the field
(:meth:`~acquirer.parcels.service.ParcelService.pay`), and the acquirer releases the parcel in the
same transaction. Two things can still go wrong at the locker after the acquirer approved:

- the card rejects the issuer's answer: EXTERNAL AUTHENTICATE of the ARPC in tag 91 fails
  (EMV Book 3 section 6.5.4), so as far as the card can tell the issuer never approved;
- the answer is lost on the way (a time-out): the locker cannot know what was decided.

In both cases the locker keeps the door shut and asks for a *reversal*: Visa's and
Mastercard's rules let an acquirer undo an authorization the point of interaction could not
complete (a "reversal for a terminal time-out"), by the same identity as the original, here
its ``Idempotency-Key``. ``POST /v1/parcels/{id}/payments/reversals``
``{terminal_id, original_idempotency_key}`` then, in ONE database transaction
(:meth:`~acquirer.parcels.service.ParcelService.operate`):

1. reverses the sale with the payment lifecycle's own reversal
   (:meth:`~acquirer.payments.lifecycle.PaymentService.prepare` ``REVERSAL``, applied in the parcel's
   transaction: the ``cancel`` journal, payment ``reversed``), no second reversal path;
2. moves the storage-fee part back (``storage_fee_reversal`` journal,
   :func:`acquirer.payments.ledger.storage_fee_reversal`);
3. puts the parcel back to ``waiting`` (nothing paid, not released: the next pickup asks
   for the payment again) and audits ``payment_reversed``.

Refusals: ``404 payment_unknown`` when no approved payment of this parcel was made under
that key (a declined one moved nothing; one the acquirer never received did nothing);
``409 parcel_state_conflict`` when the parcel's door already opened (the recipient may have
the parcel: that is a refund's business, not a reversal's) or the payment no longer holds the
parcel (already reversed); ``409 payment_state_conflict`` when the sale was settled.
Like every state change the request carries its own ``Idempotency-Key`` and its first
answer is replayed byte for byte.

A reversal that arrives before its original (the original was still on its way) answers
``payment_unknown``; the original then applies as sent. The locker only reverses after the
original's answer is lost or rejected, so it has normally arrived.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from acquirer.clock import format_timestamp
from acquirer.errors import (
    LockerNotFoundError,
    ParcelNotFoundError,
    ParcelStateError,
    PaymentNotFoundError,
)
from acquirer.idempotency import StoredAnswer
from acquirer.parcels.binding import authorization_key
from acquirer.parcels.rows import ParcelOperationRequest, ParcelState, ParcelStore, ParcelTx
from acquirer.parcels.service import ParcelService
from acquirer.payments import ledger
from acquirer.payments.lifecycle import PaymentService
from acquirer.payments.rows import OperationKind
from acquirer.registry import TerminalRow, TerminalStatus

#: The parcel operation kind a reversal undoes.
_PAYMENT = "payment"


def _dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, separators=(",", ":"))


def _locker(terminal: TerminalRow | None, terminal_id: str) -> TerminalRow:
    """The active locker terminal; :class:`LockerNotFoundError` for any other."""
    if (
        terminal is None
        or terminal.status is not TerminalStatus.ACTIVE
        or "locker" not in terminal.actions
    ):
        raise LockerNotFoundError(f"no active terminal {terminal_id} with the action locker")
    return terminal


class ParcelReversals:
    """Reverses parcel payments through the parcels' and the payments' own machinery."""

    def __init__(
        self, parcels: ParcelService, payments: PaymentService, store: ParcelStore
    ) -> None:
        self._parcels = parcels
        self._payments = payments
        self._store = store

    def reverse(
        self, terminal_id: str, key: str, parcel_id: str, original_key: str
    ) -> StoredAnswer:
        """Undo the payment the locker sent under ``original_key`` (see the module docstring)."""
        fields = {
            "terminal_id": terminal_id,
            "parcel_id": parcel_id,
            "original_idempotency_key": original_key,
        }
        _locker(self._store.get_terminal(terminal_id), terminal_id)
        payment_id = ""
        if self._store.find_parcel_operation(terminal_id, key) is None:
            payment_id = self._payment_of(terminal_id, parcel_id, original_key)

        def work(ptx: ParcelTx, op: ParcelOperationRequest) -> str:
            return self._reverse(ptx, op, parcel_id, payment_id)

        return self._parcels.operate("reversal", terminal_id, key, parcel_id, fields, work)

    def _payment_of(self, terminal_id: str, parcel_id: str, original_key: str) -> str:
        """The approved sale of ``parcel_id`` sent under ``original_key`` by this locker."""
        original = self._store.find_parcel_operation(terminal_id, original_key)
        if original is None or original.kind != _PAYMENT or original.parcel_id != parcel_id:
            raise PaymentNotFoundError(
                "no payment of this parcel from this terminal under that idempotency key"
            )
        return self._payments.find_by_key(terminal_id, authorization_key(original_key))

    def _reverse(
        self, ptx: ParcelTx, op: ParcelOperationRequest, parcel_id: str, payment_id: str
    ) -> str:
        now = op.created_at
        parcel = ptx.parcel(parcel_id)
        if parcel is None or parcel.locker_id != op.terminal_id:
            raise ParcelNotFoundError("no such parcel at this locker")
        if parcel.opened_at is not None or parcel.state not in (
            ParcelState.WAITING,
            ParcelState.RELEASED,
        ):
            raise ParcelStateError(
                f"parcel is {parcel.state.value} and its door opened: a payment can no longer "
                "be reversed (refund it instead)"
            )
        if parcel.state is not ParcelState.RELEASED or parcel.payment_id != payment_id:
            raise ParcelStateError(
                f"parcel is {parcel.state.value}: that payment no longer pays for it "
                "(already reversed?)"
            )
        locker = _locker(ptx.terminal(op.terminal_id), op.terminal_id)
        step = self._payments.prepare(
            OperationKind.REVERSAL,
            terminal_id=op.terminal_id,
            idempotency_key=f"{op.id}:reversal",
            payment_id=payment_id,
        )
        reversal = ptx.apply_payment_step(step)
        answer = json.loads(reversal.row.response_json)
        fee = parcel.storage_fee_paid
        if fee:
            journal = ledger.storage_fee_reversal(
                op.terminal_id, locker.merchant_id, parcel.currency, fee
            )
            ptx.post(payment_id, op.id, (journal,), now)
        waiting = dataclasses.replace(
            parcel,
            state=ParcelState.WAITING,
            released_at=None,
            pay_armed_until=None,
            payment_id=None,
            amount_paid=0,
            storage_fee_paid=0,
            updated_at=now,
        )
        ptx.update_parcel(waiting)
        body = {
            "operation_id": op.id,
            "parcel_id": parcel.id,
            "state": waiting.state.value,
            "authorization_id": payment_id,
            "reversal_operation_id": reversal.row.id,
            "payment_status": answer["payment"]["status"],
            "amount": int(answer["amount"]),
            "storage_fee": fee,
            "currency": parcel.currency,
            "created_at": format_timestamp(now),
        }
        detail = {key: body[key] for key in ("authorization_id", "reversal_operation_id",
                                             "amount", "storage_fee", "currency")}  # fmt: skip
        text = _dumps({"operation_id": op.id, **detail})
        ptx.audit(op.terminal_id, "payment_reversed", parcel.locker_id, parcel.id, text)
        return _dumps(body)

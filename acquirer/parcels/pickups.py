"""Parcel pickups and payments: a code or a verified tap releases, or asks to pay first.

See :mod:`acquirer.parcels.service` for the states and the rules; the shared machinery is
:class:`~acquirer.parcels.operations.ParcelCore`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from acquirer.clock import format_timestamp
from acquirer.errors import (
    AmountDueMismatchError,
    ParcelNotFoundError,
    ParcelNotIdentifiedError,
    ParcelStateError,
)
from acquirer.idempotency import StoredAnswer
from acquirer.parcels.operations import PICKABLE, ParcelCore, active_locker
from acquirer.parcels.rows import (
    CodeGuardRow,
    ParcelOperationRequest,
    ParcelRow,
    ParcelState,
    ParcelTx,
)
from acquirer.parcels.rules import (
    CODE_ATTEMPTS,
    CODE_LOCK,
    PAY_WINDOW,
    Due,
    PickupAction,
    PickupReason,
    amount_due,
)
from acquirer.payments import ledger
from acquirer.payments.rows import AuthorizationRow, Intent


class ParcelPickups(ParcelCore):
    """Pickups (by code or by a verified tap) and the payments they ask for."""

    # -- pickups --------------------------------------------------------------------------

    def pickup_by_code(
        self, terminal_id: str, key: str, code: str, release_all: bool
    ) -> StoredAnswer:
        """A pickup by code: the code identifies one parcel at this locker."""
        self._locker(terminal_id)
        fields = {"terminal_id": terminal_id, "pickup_code": code, "release_all": release_all}
        return self._operate(
            "pickup",
            terminal_id,
            key,
            None,
            fields,
            lambda ptx, op: self._pickup_code(ptx, op, code),
        )

    def _pickup_code(self, ptx: ParcelTx, op: ParcelOperationRequest, code: str) -> str:
        now, locker_id = op.created_at, op.terminal_id
        guard = ptx.code_guard(locker_id)
        if guard.locked_until is not None and guard.locked_until > now:
            self._audit(ptx, op, "pickup_code_refused_locked", locker_id, None, {})
            return self._refused(op, PickupReason.PICKUP_CODE_LOCKED.value, None)
        match = next(
            (p for p in ptx.parcels_with_code(locker_id, PICKABLE) if self._codes.matches(p, code)),
            None,
        )
        if match is None:
            failures = guard.failures + 1
            locked = failures >= CODE_ATTEMPTS
            ptx.put_code_guard(
                CodeGuardRow(
                    locker_id, 0 if locked else failures, now + CODE_LOCK if locked else None
                )
            )
            self._audit(ptx, op, "pickup_code_rejected", locker_id, None, {"failures": failures})
            if locked:
                until = format_timestamp(now + CODE_LOCK)
                self._audit(ptx, op, "pickup_code_locked", locker_id, None, {"until": until})
            return self._refused(op, PickupReason.PICKUP_CODE_INVALID.value, None)
        if guard.failures:
            ptx.put_code_guard(CodeGuardRow(locker_id, 0, None))
        return self._release_or_pay(ptx, op, [match], None, "pickup_code")

    def pickup_by_card(
        self,
        terminal_id: str,
        key: str,
        emv_data: bytes,
        currency: str | None,
        release_all: bool,
    ) -> StoredAnswer:
        """A pickup by a verified tap (account verification, amount 0)."""
        locker = self._locker(terminal_id)
        if currency is None:
            merchant = self._store.get_merchant(locker.merchant_id)
            currency = "EUR" if merchant is None else merchant.currency
        fields = {
            "terminal_id": terminal_id,
            "emv_data": emv_data.hex(),
            "currency": currency,
            "release_all": release_all,
        }

        def work(ptx: ParcelTx, op: ParcelOperationRequest, row: AuthorizationRow) -> str:
            if not row.approved or row.par is None:
                detail = {"reason": row.reason, "authorization_id": row.id}
                self._audit(ptx, op, "pickup_refused", terminal_id, None, detail)
                return self._refused(op, row.reason, row)
            parcels = ptx.parcels_of(terminal_id, row.par, PICKABLE)
            if not parcels:
                detail = {
                    "reason": PickupReason.NO_PARCEL_WAITING.value,
                    "authorization_id": row.id,
                }
                self._audit(ptx, op, "pickup_refused", terminal_id, None, detail)
                return self._refused(op, PickupReason.NO_PARCEL_WAITING.value, row)
            selected = parcels if release_all else parcels[:1]
            return self._release_or_pay(ptx, op, selected, row, "pickup_card")

        return self._with_card(
            "pickup", terminal_id, key, None, fields, 0, currency, emv_data,
            Intent.ACCOUNT_VERIFICATION, work,
        )  # fmt: skip

    def _release_or_pay(
        self,
        ptx: ParcelTx,
        op: ParcelOperationRequest,
        selected: Sequence[ParcelRow],
        row: AuthorizationRow | None,
        how: str,
    ) -> str:
        now = op.created_at
        owing = [(p, amount_due(p, now)) for p in selected]
        owing = [(p, due) for p, due in owing if due.total > 0]
        if owing:
            parcel, due = owing[0]
            ptx.update_parcel(
                dataclasses.replace(parcel, pay_armed_until=now + PAY_WINDOW, updated_at=now)
            )
            detail = {"by": how, **_due_json(due)}
            self._audit(ptx, op, "payment_requested", parcel.locker_id, parcel.id, detail)
            return self._answer(
                op,
                PickupAction.PAY,
                PickupReason.PAYMENT_DUE.value,
                row,
                parcel_id=parcel.id,
                due=due,
            )
        for parcel in selected:
            self._release(ptx, op, parcel, {"by": how})
        return self._answer(
            op, PickupAction.OPEN, PickupReason.APPROVED.value, row, opened=selected
        )

    def _release(
        self, ptx: ParcelTx, op: ParcelOperationRequest, parcel: ParcelRow, detail: dict[str, Any]
    ) -> None:
        now = op.created_at
        again = parcel.state is ParcelState.RELEASED
        ptx.update_parcel(
            dataclasses.replace(
                parcel,
                state=ParcelState.RELEASED,
                released_at=parcel.released_at if again else now,
                pay_armed_until=None,
                updated_at=now,
            )
        )
        action = "released_again" if again else "released"
        self._audit(ptx, op, action, parcel.locker_id, parcel.id, detail)

    # -- payments -------------------------------------------------------------------------

    def pay(
        self,
        terminal_id: str,
        key: str,
        parcel_id: str,
        amount: int,
        currency: str,
        emv_data: bytes,
    ) -> StoredAnswer:
        """The sale for exactly what a parcel owes, bound to it: approved opens it."""
        self._locker(terminal_id)
        fields = {
            "terminal_id": terminal_id,
            "parcel_id": parcel_id,
            "amount": amount,
            "currency": currency,
            "emv_data": emv_data.hex(),
        }
        prior = self._store.find_parcel_operation(terminal_id, key)
        if prior is None:  # refuse early what the bound step would refuse anyway
            parcel = self._store.get_parcel(parcel_id)
            if parcel is None or parcel.locker_id != terminal_id:
                raise ParcelNotFoundError("no such parcel at this locker")
            self._check_payable(parcel, amount, currency, self._clock())

        def work(ptx: ParcelTx, op: ParcelOperationRequest, row: AuthorizationRow) -> str:
            parcel = ptx.parcel(parcel_id)
            if parcel is None or parcel.locker_id != terminal_id:
                raise ParcelNotFoundError("no such parcel at this locker")
            due = self._check_payable(parcel, amount, currency, op.created_at)
            armed = parcel.pay_armed_until is not None and parcel.pay_armed_until >= op.created_at
            if not armed and (row.par is None or row.par != parcel.recipient_par):
                raise ParcelNotIdentifiedError(
                    "no pickup asked for this payment: the recipient taps or enters the code first"
                )
            if not row.approved:
                detail = {"reason": row.reason, "authorization_id": row.id}
                self._audit(ptx, op, "payment_declined", terminal_id, parcel.id, detail)
                return self._refused(op, row.reason, row)
            if due.storage_fee:
                locker = active_locker(ptx.terminal(terminal_id), terminal_id)
                journal = ledger.storage_fee(
                    terminal_id, locker.merchant_id, currency, due.storage_fee
                )
                ptx.post(row.id, op.id, (journal,), op.created_at)
            paid = dataclasses.replace(
                parcel, payment_id=row.id, amount_paid=amount, storage_fee_paid=due.storage_fee
            )
            detail = {"authorization_id": row.id, **_due_json(due)}
            self._audit(ptx, op, "paid", terminal_id, parcel.id, detail)
            self._release(ptx, op, paid, {"by": "payment"})
            return self._answer(
                op, PickupAction.OPEN, PickupReason.APPROVED.value, row, opened=[paid]
            )

        return self._with_card(
            "payment", terminal_id, key, parcel_id, fields, amount, currency, emv_data,
            Intent.SALE, work,
        )  # fmt: skip

    @staticmethod
    def _check_payable(parcel: ParcelRow, amount: int, currency: str, now: datetime) -> Due:
        if parcel.state is not ParcelState.WAITING:
            raise ParcelStateError(
                f"parcel is {parcel.state.value}: nothing to pay (pick it up again to open it)"
            )
        due = amount_due(parcel, now)
        if due.total == 0 or amount != due.total or currency != due.currency:
            raise AmountDueMismatchError(
                f"the amount due for this parcel is {due.total} {due.currency}"
            )
        return due


def _due_json(due: Due) -> dict[str, Any]:
    return {
        "amount_due": due.total,
        "cod_amount": due.cod_amount,
        "storage_fee": due.storage_fee,
        "currency": due.currency,
    }

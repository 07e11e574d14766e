"""Riders' debts: paying one with a tap, and the deny list the docks cache.

A debt is what a rental's hold could not cover (:mod:`acquirer.rentals.service`). It is paid by a
**sale** authorization of exactly its amount (the schemes' debt recovery: the account is on
the deny list because of the debt, and this is the one authorization the deny list does not
refuse: :attr:`acquirer.payments.service.AuthorizationRequest.debt_recovery`). Approved, the debt is
``paid`` in one transaction with a ``debt_recovery`` journal (the debt's memo reversed; the
sale's own journal moves the money) and the PAR leaves the deny list unless it owes another
debt.

The sale and the debt's change are two transactions (the sale is the authorization
service's own write). A crash between them leaves the sale recorded and the debt open; the
terminal's retry with the same idempotency key replays the sale and completes the debt. Two
payments of one debt at once: the second sale is voided again and answered 409.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from acquirer.clock import format_timestamp
from acquirer.errors import DebtNotFoundError, DebtStateError
from acquirer.idempotency import StoredAnswer
from acquirer.payments import ledger
from acquirer.payments.lifecycle import PaymentService
from acquirer.payments.rows import Intent, OperationKind
from acquirer.payments.service import AuthorizationRequest, AuthorizationService
from acquirer.rentals.requests import BikeRequests, dumps
from acquirer.rentals.rows import DebtRow, DebtStatus, RentalChange

log = logging.getLogger("acquirer.rentals.debts")


def debt_json(debt: DebtRow) -> dict[str, Any]:
    """The public view of a debt."""
    return {
        "debt_id": debt.id,
        "rental_id": debt.rental_id,
        "merchant_id": debt.merchant_id,
        "par": debt.par,
        "amount": debt.amount,
        "currency": debt.currency,
        "status": debt.status.value,
        "created_at": format_timestamp(debt.created_at),
        "paid_at": None if debt.paid_at is None else format_timestamp(debt.paid_at),
        "payment_id": debt.payment_id,
    }


class DebtService:
    """Pays debts (see the module docstring)."""

    def __init__(
        self,
        requests: BikeRequests,
        recovery: AuthorizationService,
        payments: PaymentService,
    ) -> None:
        self._requests = requests
        self._store = requests.store
        self._recovery = recovery
        self._payments = payments

    def get(self, terminal_id: str, debt_id: str) -> DebtRow:
        """A debt owed to the terminal's operator; :class:`DebtNotFoundError` otherwise."""
        merchant = self._requests.merchant(terminal_id)
        debt = self._store.get_debt(debt_id)
        if debt is None or debt.merchant_id != merchant.id:
            raise DebtNotFoundError("no such debt at this operator")
        return debt

    def pay(
        self,
        *,
        debt_id: str,
        terminal_id: str,
        idempotency_key: str,
        amount: int,
        currency: str,
        emv_data: bytes,
    ) -> StoredAnswer:
        """A sale of the debt's amount; approved: the debt is paid, the PAR maybe lifted."""
        reqs = self._requests
        fields = {
            "debt_id": debt_id,
            "amount": amount,
            "currency": currency,
            "emv_data": emv_data.hex(),
        }
        request = reqs.request("debt_payment", terminal_id, idempotency_key, fields)
        with reqs.in_flight.claim("bike", terminal_id, idempotency_key):
            replayed = reqs.replay(request)
            if replayed is not None:
                return replayed
            debt = self.get(terminal_id, debt_id)
            if debt.status is not DebtStatus.OPEN:
                raise DebtStateError("the debt is already paid")
            if amount != debt.amount or currency != debt.currency:
                raise DebtStateError(
                    f"the payment must be the debt's amount, {debt.amount} {debt.currency}"
                )
            outcome = self._recovery.authorize(
                AuthorizationRequest(
                    terminal_id=terminal_id,
                    idempotency_key=f"debt:{idempotency_key}",
                    amount=amount,
                    currency=currency,
                    emv_data=emv_data,
                    intent=Intent.SALE,
                    debt_recovery=True,
                )
            )
            body: dict[str, Any] = {
                "debt_id": debt.id,
                "approved": outcome.approved,
                "reason": outcome.reason,
                "message": "Debt paid: thank you" if outcome.approved else "Card declined",
                "issuer_authentication_data": outcome.result.tag_91,
                "authorization_id": outcome.authorization_id,
                "status": debt.status.value,
                "amount": debt.amount,
                "currency": debt.currency,
            }
            if not outcome.approved:
                return reqs.record(request, dumps(body))

            def decide(_: object, __: object, locked: DebtRow | None) -> RentalChange:
                if locked is None or locked.status is not DebtStatus.OPEN:
                    raise DebtStateError("the debt was paid by another payment meanwhile")
                paid = dataclasses.replace(
                    locked,
                    status=DebtStatus.PAID,
                    paid_at=request.created_at,
                    payment_id=outcome.authorization_id,
                )
                return RentalChange(
                    dumps({**body, "status": paid.status.value}),
                    debt=paid,
                    journals=(ledger.debt_recovery(paid.merchant_id, paid.currency, paid.amount),),
                    lift=paid.par,
                )

            try:
                result = reqs.apply(request, decide, debt_id=debt.id)
            except DebtStateError:
                self._payments.operate(
                    OperationKind.VOID,
                    terminal_id=terminal_id,
                    idempotency_key=f"debt-void:{idempotency_key}",
                    payment_id=outcome.authorization_id,
                )
                raise
            log.info("debt %s paid by %s", debt.id, outcome.authorization_id)
            return result

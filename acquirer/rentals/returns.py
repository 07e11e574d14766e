"""The return of a bike: find the rental, price the ride, complete the hold, record a debt.

The rider is found by the PAR of a verified tap-off (an account verification of amount 0) or
the bike by its id, at any dock of the same operator; see :mod:`acquirer.rentals.service` for
the states and the rules of the return (incremental authorization, capture, debt). The hold's
operations run in the rental's own transaction (:class:`~acquirer.rentals.rows.RentalChange`).
:class:`RentalReturns` is the part of :class:`~acquirer.rentals.service.RentalService` that
does it.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime

from acquirer.errors import (
    RentalNotFoundError,
    RentalStateError,
    RequestError,
)
from acquirer.idempotency import StoredAnswer
from acquirer.ids import new_id
from acquirer.payments import ledger
from acquirer.payments.lifecycle import PaymentService
from acquirer.payments.rows import Intent, OperationKind, PaymentRow, PaymentStatus, PaymentStep
from acquirer.payments.service import AuthorizationRequest, AuthorizationService
from acquirer.rentals.requests import BikeRequests, dumps, money
from acquirer.rentals.rows import (
    ACTIVE_RENTAL_STATES,
    BikeRequest,
    DebtRow,
    DebtStatus,
    RentalChange,
    RentalRow,
    RentalState,
    RentalStore,
)
from acquirer.rentals.tariff import fare

log = logging.getLogger("acquirer.rentals.service")


class RentalReturns:
    """Ends rentals: the ``return`` request of :class:`~acquirer.rentals.service.RentalService`."""

    _requests: BikeRequests
    _store: RentalStore
    _auth: AuthorizationService
    _payments: PaymentService

    def _step(
        self, kind: OperationKind, request_id: str, payment: PaymentRow, amount: int | None
    ) -> PaymentStep:
        return self._payments.prepare(
            kind,
            terminal_id=payment.terminal_id,
            idempotency_key=f"{request_id}:{kind.value}",
            payment_id=payment.id,
            amount=amount,
        )

    # -- return ------------------------------------------------------------------------------

    def return_bike(
        self,
        *,
        terminal_id: str,
        idempotency_key: str,
        dock_id: str,
        bike_id: str | None = None,
        emv_data: bytes | None = None,
        ended_at: datetime | None = None,
    ) -> StoredAnswer:
        """End the rider's (tap-off) or the bike's active rental; price, complete, debt."""
        fields = {
            "dock_id": dock_id,
            "bike_id": bike_id,
            "emv_data": None if emv_data is None else emv_data.hex(),
            "ended_at": None if ended_at is None else ended_at.isoformat(),
        }
        reqs = self._requests
        request = reqs.request("return", terminal_id, idempotency_key, fields)
        with reqs.in_flight.claim("bike", terminal_id, idempotency_key):
            replayed = reqs.replay(request)
            if replayed is not None:
                return replayed
            merchant = reqs.merchant(terminal_id)
            now = reqs.clock()
            end = ended_at or now
            if end > now:
                raise RequestError("ended_at is in the future")
            rental = self._find(merchant.id, terminal_id, idempotency_key, bike_id, emv_data)
            # The payment lifecycle's rule for increments (token, deny list, category
            # limit, n 12): the hold grows to the fare only as far as it allows.
            ceiling = (
                0
                if rental.payment_id is None
                else self._payments.increment_ceiling(rental.payment_id)
            )

            def decide(
                locked: RentalRow | None, payment: PaymentRow | None, _: object
            ) -> RentalChange:
                if locked is None or locked.state not in ACTIVE_RENTAL_STATES:
                    state = "gone" if locked is None else locked.state.value
                    raise RentalStateError(f"the rental is already {state}")
                return self._end(request, locked, payment, end, dock_id, ceiling)

            result = reqs.apply(request, decide, rental_id=rental.id)
            log.info("rental %s returned at terminal=%s", rental.id, terminal_id)
            return result

    def _find(
        self,
        merchant_id: str,
        terminal_id: str,
        idempotency_key: str,
        bike_id: str | None,
        emv_data: bytes | None,
    ) -> RentalRow:
        rental = None
        declined = None
        if emv_data is not None:
            tariff = self._store.get_tariff(merchant_id)
            merchant = self._store.get_merchant(merchant_id)
            code = tariff.currency if tariff else (merchant.currency if merchant else "EUR")
            outcome = self._auth.authorize(
                AuthorizationRequest(
                    terminal_id=terminal_id,
                    idempotency_key=f"return:{idempotency_key}",
                    amount=0,
                    currency=code,
                    emv_data=emv_data,
                    intent=Intent.ACCOUNT_VERIFICATION,
                )
            )
            if outcome.approved:
                par = outcome.result.par
                rental = self._store.find_active_rental(merchant_id, par=par)
            else:
                declined = outcome.reason
        if rental is None and bike_id is not None:
            rental = self._store.find_active_rental(merchant_id, bike_id=bike_id)
        if rental is None:
            if declined is not None:
                raise RentalNotFoundError(
                    f"the tap-off was declined ({declined}) and no active rental of the bike "
                    "was found"
                )
            raise RentalNotFoundError("no active rental of this card or bike at this operator")
        return rental

    def _end(
        self,
        request: BikeRequest,
        rental: RentalRow,
        payment: PaymentRow | None,
        end: datetime,
        dock_id: str,
        ceiling: int,
    ) -> RentalChange:
        request_id = request.id
        started = rental.started_at or rental.created_at
        if end < started:
            raise RequestError("ended_at is before the ride started")
        price = fare(rental.tariff, int((end - started).total_seconds()))
        held = payment.authorized if payment and payment.status is PaymentStatus.AUTHORIZED else 0
        steps: list[PaymentStep] = []
        captured = 0
        if payment is not None and held > 0:
            cover = held
            if held < price.amount <= ceiling:
                steps.append(
                    self._step(OperationKind.INCREMENT, request_id, payment, price.amount - held)
                )
                cover = price.amount
            captured = min(price.amount, cover)
            if captured > 0:
                steps.append(self._step(OperationKind.CAPTURE, request_id, payment, captured))
            else:
                steps.append(self._step(OperationKind.VOID, request_id, payment, None))
        owed = price.amount - captured
        new = dataclasses.replace(
            rental,
            state=RentalState.ENDED,
            ended_at=end,
            end_terminal_id=request.terminal_id,
            end_dock_id=dock_id,
            fare=price.amount,
            captured=captured,
            debt=owed,
            minutes=price.minutes,
            lost=price.lost,
            updated_at=request.created_at,
        )
        debt = None
        journals: tuple[ledger.Journal, ...] = ()
        deny = None
        if owed > 0:
            debt = DebtRow(
                id=new_id("debt_", end),
                rental_id=rental.id,
                merchant_id=rental.merchant_id,
                par=rental.par,
                amount=owed,
                currency=rental.currency,
                status=DebtStatus.OPEN,
                created_at=end,
            )
            journals = (ledger.debt(rental.merchant_id, rental.currency, owed),)
            if rental.par is not None:
                deny = (rental.par, f"unpaid rental {rental.id}")
        body = {
            "rental_id": rental.id,
            "state": new.state.value,
            "fare": price.amount,
            "captured": captured,
            "debt": owed,
            "debt_id": None if debt is None else debt.id,
            "currency": rental.currency,
            "minutes": price.minutes,
            "lost": price.lost,
            "message": _return_message(price.amount, owed, rental.currency, price.lost),
        }
        return RentalChange(
            dumps(body),
            rental=new,
            payment_steps=tuple(steps),
            debt=debt,
            journals=journals,
            deny=deny,
        )


def _return_message(amount: int, owed: int, currency: str, lost: bool) -> str:
    if lost:
        return f"Ride over the maximum time: charged as a lost bike, {money(amount, currency)}"
    if owed:
        return f"Ride {money(amount, currency)}; unpaid {money(owed, currency)}"
    return f"Thank you: ride {money(amount, currency)}"

"""Bike rentals: a tap at a dock holds a deposit and unlocks a bike; the return prices the ride.

States and the requests that move them (each idempotent, one transaction with its journals):

=============  ==========================================  ===================================
request        from                                        to, and what moves
=============  ==========================================  ===================================
create         (tap at a dock: pre-authorization of the    ``unlocking``: hold of the deposit
               tariff's deposit, ``Intent.PREAUTHORIZATION``) (``hold`` journal)
create offline (``started_at`` in the past: the dock       ``riding``; with a hold if the late
               unlocked without asking; ARQC checked late)  ARQC verification approves, none if not
start          ``unlocking`` (the lock reported open)      ``riding``, ``started_at`` = now
cancel         ``unlocking`` (lock timeout, the card       ``cancelled``: the hold voided
               refused the ARPC, actuator error, the       (``release`` journal)
               dock lost the tap-on's answer)
return         ``unlocking`` or ``riding``                  ``ended``: see below
=============  ==========================================  ===================================

**Return.** The rider is found by the PAR of a verified tap-off (an account verification of
amount 0, :class:`~acquirer.payments.rows.Intent`), or the bike by its id, at any dock of the
same operator. The fare comes from the tariff the rental started under
(:func:`acquirer.rentals.tariff.fare`). The hold is completed with the payment lifecycle's own
operations, in the rental's transaction:

1. fare above the hold: an **incremental authorization** for the difference is attempted. It is
   refused by the same risk rules an authorization has (the account on the deny list, the
   merchant category's amount limit on the new total); velocity does not apply (same ride).
2. **capture** of ``min(fare, hold)``. A completion of a pre-authorization releases the whole
   hold and captures the final amount (:func:`acquirer.payments.lifecycle.transition`: ``release`` of the
   hold, then ``capture``), so the rest of the hold goes back to the cardholder in the same
   step. A fare of 0 voids the hold instead (nothing to capture).
3. what the hold did not cover is a **debt** (``debt`` journal, a memo of what the rider
   owes the operator) and the PAR goes on the deny list; a new rental then answers
   ``par_denied`` with the amount owed, until the debt is paid (:mod:`acquirer.rentals.debts`).

Refusals of ``create`` are ``200`` answers with ``approved: false``, a ``reason`` (every
authorization reason of :class:`~acquirer.payments.reasons.Reason`, and ``rental_active`` when the
account already rides) and a ``message`` for the rider.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime
from typing import Any

from acquirer.clock import format_timestamp
from acquirer.errors import (
    DepositMismatchError,
    RentalNotFoundError,
    RentalStateError,
    RequestError,
    TariffMissingError,
)
from acquirer.idempotency import StoredAnswer
from acquirer.ids import new_id
from acquirer.payments.issuer import parse_emv_data
from acquirer.payments.lifecycle import PaymentService
from acquirer.payments.rows import Intent, OperationKind, PaymentRow, PaymentStatus, PaymentStep
from acquirer.payments.service import AuthorizationRequest, AuthorizationService
from acquirer.registry import MerchantRow
from acquirer.rentals.requests import BikeRequests, dumps, money
from acquirer.rentals.returns import RentalReturns
from acquirer.rentals.rows import (
    DebtStatus,
    RentalChange,
    RentalRow,
    RentalState,
)

log = logging.getLogger("acquirer.rentals.service")

#: Why a dock cancels an unlock: the lock did not report open in time, the card rejected the
#: issuer's ARPC (EMV Book 3 6.5.4), the lock controller failed, or the dock never got the
#: tap-on's answer and undoes the rental it may have opened (a reversal after a time-out).
CANCEL_REASONS = ("lock_timeout", "card_rejected_arpc", "actuator_error", "answer_lost")
RENTAL_ACTIVE = "rental_active"

_MESSAGES = {
    "approved": "Take your bike",
    RENTAL_ACTIVE: "You already have a bike out: return it first",
    "token_expired": "Card expired",
    "amount_limit_exceeded": "Deposit not approved: try another card",
    "velocity_exceeded": "Too many rides: try again later",
}


def rental_json(rental: RentalRow) -> dict[str, Any]:
    """The public view of a rental (amounts in minor units of ``currency``)."""

    def at(value: datetime | None) -> str | None:
        return None if value is None else format_timestamp(value)

    return {
        "rental_id": rental.id,
        "state": rental.state.value,
        "merchant_id": rental.merchant_id,
        "terminal_id": rental.terminal_id,
        "dock_id": rental.dock_id,
        "bike_id": rental.bike_id,
        "par": rental.par,
        "authorization_id": rental.authorization_id,
        "payment_id": rental.payment_id,
        "deposit": rental.deposit,
        "currency": rental.currency,
        "offline": rental.offline,
        "created_at": at(rental.created_at),
        "started_at": at(rental.started_at),
        "ended_at": at(rental.ended_at),
        "end_terminal_id": rental.end_terminal_id,
        "end_dock_id": rental.end_dock_id,
        "fare": rental.fare,
        "captured": rental.captured,
        "debt": rental.debt,
        "minutes": rental.minutes,
        "lost": rental.lost,
        "cancel_reason": rental.cancel_reason,
    }


class RentalService(RentalReturns):
    """Creates, starts, cancels and ends rentals (see the module docstring)."""

    def __init__(
        self,
        requests: BikeRequests,
        authorizations: AuthorizationService,
        payments: PaymentService,
    ) -> None:
        self._requests = requests
        self._store = requests.store
        self._auth = authorizations
        self._payments = payments

    # -- reads -------------------------------------------------------------------------------

    def merchant(self, terminal_id: str) -> MerchantRow:
        """The operator of a registered terminal (:class:`TariffMissingError` if none)."""
        return self._requests.merchant(terminal_id)

    def tariff(self, terminal_id: str) -> dict[str, Any]:
        """The tariff of the terminal's operator, as a dock shows it and holds its deposit.

        :class:`TariffMissingError` when the operator has none (a dock then cannot rent).
        """
        merchant = self._requests.merchant(terminal_id)
        tariff = self._store.get_tariff(merchant.id)
        if tariff is None:
            raise TariffMissingError(f"operator {merchant.id} has no bike tariff")
        return {"merchant_id": merchant.id, **dataclasses.asdict(tariff)}

    def get(self, terminal_id: str, rental_id: str) -> RentalRow:
        """A rental of the terminal's operator; :class:`RentalNotFoundError` otherwise."""
        merchant = self._requests.merchant(terminal_id)
        rental = self._store.get_rental(rental_id)
        if rental is None or rental.merchant_id != merchant.id:
            raise RentalNotFoundError("no such rental at this operator")
        return rental

    def unpaid_message(self, par: str | None) -> str:
        """The rider's message for a denied account: what is owed."""
        debts = [] if par is None else self._store.list_debts(par=par, status=DebtStatus.OPEN)
        owed: dict[str, int] = {}
        for debt in debts:
            owed[debt.currency] = owed.get(debt.currency, 0) + debt.amount
        if not owed:
            return "Card not accepted: contact the operator"
        amounts = " + ".join(money(amount, code) for code, amount in sorted(owed.items()))
        return f"Unpaid rides: {amounts}. Pay the debt to ride again"

    # -- create ------------------------------------------------------------------------------

    def create(
        self,
        *,
        terminal_id: str,
        idempotency_key: str,
        dock_id: str,
        bike_id: str,
        amount: int,
        currency: str,
        emv_data: bytes,
        started_at: datetime | None = None,
    ) -> StoredAnswer:
        """Hold the deposit and open a rental; ``started_at``: the dock unlocked offline."""
        fields = {
            "dock_id": dock_id,
            "bike_id": bike_id,
            "amount": amount,
            "currency": currency,
            "emv_data": emv_data.hex(),
            "started_at": None if started_at is None else started_at.isoformat(),
        }
        reqs = self._requests
        request = reqs.request("rental", terminal_id, idempotency_key, fields)
        with reqs.in_flight.claim("bike", terminal_id, idempotency_key):
            replayed = reqs.replay(request)
            if replayed is not None:
                return replayed
            merchant = reqs.merchant(terminal_id)
            tariff = self._store.get_tariff(merchant.id)
            if tariff is None:
                raise TariffMissingError(f"operator {merchant.id} has no bike tariff")
            if amount != tariff.deposit or currency != tariff.currency:
                raise DepositMismatchError(
                    f"the hold must be the tariff's deposit, {tariff.deposit} {tariff.currency}"
                )
            now = reqs.clock()
            offline = started_at is not None
            if started_at is not None and started_at > now:
                raise RequestError("started_at is in the future")
            card = parse_emv_data(emv_data)
            token = self._store.get_token(card.pan)
            base: dict[str, Any] = {
                "rental_id": None,
                "approved": False,
                "reason": RENTAL_ACTIVE,
                "message": _MESSAGES[RENTAL_ACTIVE],
                "issuer_authentication_data": None,
                "authorization_id": None,
                "par": None if token is None else token.par,
                "state": None,
                "deposit": tariff.deposit,
                "currency": tariff.currency,
            }
            if (
                not offline
                and token is not None
                and self._store.find_active_rental(merchant.id, par=token.par) is not None
            ):
                return reqs.record(request, dumps(base))
            outcome = self._auth.authorize(
                AuthorizationRequest(
                    terminal_id=terminal_id,
                    idempotency_key=f"rental:{idempotency_key}",
                    amount=amount,
                    currency=currency,
                    emv_data=emv_data,
                    intent=Intent.PREAUTHORIZATION,
                )
            )
            auth = outcome.result
            reason = auth.reason
            body = {
                **base,
                "approved": outcome.approved,
                "reason": reason,
                "message": self._message(reason, auth.par, offline),
                "issuer_authentication_data": auth.tag_91,
                "authorization_id": outcome.authorization_id,
                "par": auth.par,
            }
            if not outcome.approved and not offline:
                return reqs.record(request, dumps(body))
            rental = RentalRow(
                id=new_id("rent_", now),
                merchant_id=merchant.id,
                terminal_id=terminal_id,
                dock_id=dock_id,
                bike_id=bike_id,
                par=auth.par,
                authorization_id=outcome.authorization_id,
                payment_id=outcome.authorization_id if outcome.approved else None,
                state=RentalState.RIDING if offline else RentalState.UNLOCKING,
                tariff=tariff,
                deposit=tariff.deposit,
                currency=tariff.currency,
                offline=offline,
                created_at=now,
                updated_at=now,
                started_at=started_at,
            )
            body.update(rental_id=rental.id, state=rental.state.value)
            try:
                result = reqs.apply(request, lambda *_: RentalChange(dumps(body), rental=rental))
            except RentalStateError:
                # Another unlock of this account or bike won the race: give the hold back.
                if outcome.approved:
                    self._payments.operate(
                        OperationKind.VOID,
                        terminal_id=terminal_id,
                        idempotency_key=f"rental-void:{idempotency_key}",
                        payment_id=outcome.authorization_id,
                    )
                return reqs.record(request, dumps(base))
            log.info(
                "rental %s %s terminal=%s bike=%s par=%s%s",
                rental.id,
                rental.state.value,
                terminal_id,
                bike_id,
                rental.par,
                " offline" if offline else "",
            )
            return result

    def _message(self, reason: str, par: str | None, offline: bool) -> str:
        if reason == "par_denied":
            return self.unpaid_message(par)
        if offline:
            return "Ride recorded" if reason == "approved" else "Ride recorded; payment due"
        return _MESSAGES.get(reason, "Card declined: try another card")

    # -- start and cancel --------------------------------------------------------------------

    def start(self, *, rental_id: str, terminal_id: str, idempotency_key: str) -> StoredAnswer:
        """The lock reported open: the ride's clock starts now."""
        reqs = self._requests
        request = reqs.request("start", terminal_id, idempotency_key, {"rental_id": rental_id})

        def decide(rental: RentalRow | None, *_: object) -> RentalChange:
            rental = _own(rental, terminal_id)
            if rental.state is not RentalState.UNLOCKING:
                raise RentalStateError(f"cannot start a rental that is {rental.state.value}")
            now = request.created_at
            new = dataclasses.replace(
                rental, state=RentalState.RIDING, started_at=now, updated_at=now
            )
            return RentalChange(dumps(rental_json(new)), rental=new)

        with reqs.in_flight.claim("bike", terminal_id, idempotency_key):
            return reqs.replay(request) or reqs.apply(request, decide, rental_id=rental_id)

    def cancel(
        self, *, rental_id: str, terminal_id: str, idempotency_key: str, reason: str
    ) -> StoredAnswer:
        """The bike never left: void the hold (the payment lifecycle's void), ``cancelled``."""
        reqs = self._requests
        fields = {"rental_id": rental_id, "reason": reason}
        request = reqs.request("cancel", terminal_id, idempotency_key, fields)

        def decide(rental: RentalRow | None, payment: PaymentRow | None, _: object) -> RentalChange:
            rental = _own(rental, terminal_id)
            if rental.state is not RentalState.UNLOCKING:
                raise RentalStateError(f"cannot cancel a rental that is {rental.state.value}")
            steps: tuple[PaymentStep, ...] = ()
            if payment is not None and payment.status is PaymentStatus.AUTHORIZED:
                steps = (self._step(OperationKind.VOID, request.id, payment, None),)
            now = request.created_at
            new = dataclasses.replace(
                rental, state=RentalState.CANCELLED, cancel_reason=reason, updated_at=now
            )
            return RentalChange(dumps(rental_json(new)), rental=new, payment_steps=steps)

        with reqs.in_flight.claim("bike", terminal_id, idempotency_key):
            return reqs.replay(request) or reqs.apply(request, decide, rental_id=rental_id)


def _own(rental: RentalRow | None, terminal_id: str) -> RentalRow:
    """The rental, if the dock terminal that unlocked it is the one asking."""
    if rental is None or rental.terminal_id != terminal_id:
        raise RentalNotFoundError("no such rental at this terminal")
    return rental

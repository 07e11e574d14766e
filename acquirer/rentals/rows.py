"""The rows of bike rentals and debts, and :class:`RentalStore`, the interface they cross.

A *rental* holds one bike for one account (PAR) from the unlock to the return, with a
pre-authorization (its *hold*) for the deposit; what the hold cannot cover at the end becomes a
*debt*, and an account with an open debt goes on the *deny list*. Every state-changing rental or
debt request is a *bike request* (kept with its idempotency key and exact response), and
:class:`RentalChange` is everything one such request writes in one transaction. Business rules
live in :mod:`acquirer.rentals.service` and :mod:`acquirer.rentals.debts`; the store only reads
and writes. :class:`RentalStore` extends the payments store, and its SQL
(:class:`~acquirer.rentals.sql.SqlRentalStore`) writes a rental change and its hold's
payment operation in one database transaction.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from acquirer.payments.ledger import Journal
from acquirer.payments.rows import PaymentRow, PaymentStep
from acquirer.payments.store import PaymentStore
from acquirer.rentals.tariff import Tariff


class RentalState(enum.StrEnum):
    """Where a bike rental stands (see :mod:`acquirer.rentals`)."""

    UNLOCKING = "unlocking"
    """The hold is approved; the dock was told to open and has not confirmed yet."""
    RIDING = "riding"
    """The lock opened (or the dock unlocked offline): the ride's clock runs."""
    ENDED = "ended"
    """The bike was returned: priced, the hold completed, any rest a debt."""
    CANCELLED = "cancelled"
    """The bike never left (lock timeout, card refused the ARPC, actuator error): hold voided."""


#: States in which a rental holds its bike and its rider.
ACTIVE_RENTAL_STATES = (RentalState.UNLOCKING, RentalState.RIDING)


@dataclass(frozen=True, slots=True)
class RentalRow:
    """One bike rental: who (PAR), which bike, its hold (payment) and, once ended, its price.

    ``tariff`` is the operator's tariff when the rental began: a later change of the tariff
    does not reprice rides already under way.
    """

    id: str
    merchant_id: str
    terminal_id: str
    dock_id: str
    bike_id: str
    par: str | None
    authorization_id: str | None
    payment_id: str | None
    """The pre-authorization holding the deposit; ``None`` when the unlock was not approved."""
    state: RentalState
    tariff: Tariff
    deposit: int
    currency: str
    offline: bool
    created_at: datetime
    updated_at: datetime
    started_at: datetime | None = None
    ended_at: datetime | None = None
    end_terminal_id: str | None = None
    end_dock_id: str | None = None
    fare: int | None = None
    captured: int = 0
    debt: int = 0
    minutes: int | None = None
    lost: bool = False
    cancel_reason: str | None = None


class DebtStatus(enum.StrEnum):
    """Whether a rider's debt is still owed."""

    OPEN = "open"
    PAID = "paid"


@dataclass(frozen=True, slots=True)
class DebtRow:
    """What a rental's hold could not cover, owed by the account (PAR) to the operator."""

    id: str
    rental_id: str
    merchant_id: str
    par: str | None
    amount: int
    currency: str
    status: DebtStatus
    created_at: datetime
    paid_at: datetime | None = None
    payment_id: str | None = None
    """The sale that paid it."""


@dataclass(frozen=True, slots=True)
class DeniedRow:
    """An account on the deny list."""

    par: str
    reason: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BikeRequest:
    """A state-changing rental or debt request, before its effect is known."""

    id: str
    terminal_id: str
    idempotency_key: str
    kind: str
    request_hash: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class BikeRequestRow:
    """A recorded rental or debt request and the exact response sent."""

    id: str
    terminal_id: str
    idempotency_key: str
    kind: str
    request_hash: str
    response_json: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class RentalChange:
    """What a rental or debt request does, all in one transaction.

    ``rental`` and ``debt`` are written (inserted when new, updated otherwise); the
    ``payment_steps`` run the payment lifecycle's own operations on the rental's hold;
    ``journals`` are the debt's; ``deny`` puts ``(par, reason)`` on the deny list and ``lift``
    takes a PAR off it unless it still has another open debt.
    """

    response_json: str
    rental: RentalRow | None = None
    payment_steps: tuple[PaymentStep, ...] = ()
    debt: DebtRow | None = None
    journals: tuple[Journal, ...] = ()
    deny: tuple[str, str] | None = None
    lift: str | None = None


@dataclass(frozen=True, slots=True)
class RentalResult:
    """Outcome of :meth:`Store.apply_rental_change`: the request row; whether replayed."""

    row: BikeRequestRow
    replayed: bool


class RentalStore(PaymentStore, Protocol):
    """Persistence of bike tariffs, rentals, debts and rental requests, over the payments store.

    Safe to call from several threads at once; every write durable before it returns.
    """

    def put_tariff(self, merchant_id: str, tariff: Tariff, at: datetime) -> None:
        """Set the operator's bike tariff; :class:`~acquirer.errors.RegistryError` without it."""
        ...

    def get_tariff(self, merchant_id: str) -> Tariff | None:
        """The operator's bike tariff, or ``None``."""
        ...

    def find_bike_request(self, terminal_id: str, idempotency_key: str) -> BikeRequestRow | None:
        """The rental or debt request a terminal recorded under an idempotency key."""
        ...

    def apply_rental_change(
        self,
        request: BikeRequest,
        decide: Callable[[RentalRow | None, PaymentRow | None, DebtRow | None], RentalChange],
        *,
        rental_id: str | None = None,
        debt_id: str | None = None,
    ) -> RentalResult:
        """Run one rental or debt request in one durable transaction.

        A used ``(request.terminal_id, request.idempotency_key)`` writes nothing and returns
        that request (``replayed``). Otherwise the rental, its hold and the debt named are
        locked (in that order), ``decide`` computes the change (raising to refuse it, which
        writes nothing), and everything in it is written together with the request.
        A new rental whose PAR or bike already has an active rental raises
        :class:`~acquirer.errors.RentalStateError` (a database constraint decides races).
        """
        ...

    def get_rental(self, rental_id: str) -> RentalRow | None:
        """The rental, or ``None``."""
        ...

    def find_active_rental(
        self, merchant_id: str, *, par: str | None = None, bike_id: str | None = None
    ) -> RentalRow | None:
        """The oldest active rental of the operator for that PAR or bike, or ``None``."""
        ...

    def list_rentals(
        self,
        *,
        merchant_id: str | None = None,
        states: Sequence[RentalState] = (),
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[RentalRow]:
        """Rentals by id (oldest first), after the id ``after``; all states when none given."""
        ...

    def get_debt(self, debt_id: str) -> DebtRow | None:
        """The debt, or ``None``."""
        ...

    def list_debts(
        self,
        *,
        merchant_id: str | None = None,
        status: DebtStatus | None = None,
        par: str | None = None,
        after: str | None = None,
        limit: int = 50,
    ) -> Sequence[DebtRow]:
        """Debts by id (oldest first), after the id ``after``."""
        ...

    def list_denied(self, *, after: str | None = None, limit: int = 100) -> Sequence[DeniedRow]:
        """The deny list by PAR, after the PAR ``after``."""
        ...

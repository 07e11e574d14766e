"""HTTP routes of bike rentals, riders' debts and the docks' deny list.

- ``POST /v1/rentals``: a tap at a dock (deposit hold, or an offline unlock with ``started_at``).
- ``POST /v1/rentals/{id}/start`` | ``/cancel``: the lock opened, or the bike never left.
- ``POST /v1/rentals/returns``: a tap-off or a docked bike ends the ride.
- ``GET  /v1/bikes/tariff?terminal_id=``: the tariff of the dock's operator (the deposit a
  tap-on must hold).
- ``GET  /v1/rentals?terminal_id=&state=active|unlocking|riding|ended|cancelled``,
  ``GET /v1/rentals/{id}?terminal_id=``: the operator's rentals.
- ``GET  /v1/debts?terminal_id=&status=open|paid``, ``GET /v1/debts/{id}?terminal_id=``,
  ``POST /v1/debts/{id}/payments``: debts of the operator, and paying one with a tap.
- ``GET  /v1/deny-list?terminal_id=``: the PARs the docks refuse when offline.

Every POST requires ``Idempotency-Key`` and replays its first answer byte for byte (with
``Idempotent-Replayed: true``). Lists are pages in id order (by PAR for the deny list), as
:mod:`acquirer.pagination` says: ``limit`` and ``cursor`` in, ``next_cursor`` out.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from operator import attrgetter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from acquirer.auth import TerminalCheck, terminal_for
from acquirer.clock import format_timestamp
from acquirer.idempotency import IdempotencyKeyHeader, answer_response, idempotency_key
from acquirer.pagination import Cursor, Limit, read_page
from acquirer.problems import problem_responses
from acquirer.rentals.debts import DebtService, debt_json
from acquirer.rentals.rows import (
    ACTIVE_RENTAL_STATES,
    DebtStatus,
    DeniedRow,
    RentalState,
    RentalStore,
)
from acquirer.rentals.schemas import (
    DEBT_ID_PATTERN,
    RENTAL_ID_PATTERN,
    CancelBody,
    DebtBody,
    DebtPage,
    DebtPaymentBody,
    DebtPaymentResponse,
    DenyListPage,
    RentalBody,
    RentalCreateBody,
    RentalCreateResponse,
    RentalPage,
    ReturnBody,
    ReturnResponse,
    TariffBody,
    TerminalBody,
)
from acquirer.rentals.service import RentalService, rental_json

#: The calling terminal, checked for the action of the route (acquirer.auth.terminal_for).
AnyTerminal = Annotated[TerminalCheck, Depends(terminal_for(None))]
BikeTerminal = Annotated[TerminalCheck, Depends(terminal_for("bike"))]
RentalId = Annotated[str, Path(pattern=RENTAL_ID_PATTERN, description="The rental id")]
DebtId = Annotated[str, Path(pattern=DEBT_ID_PATTERN, description="The debt id")]
TerminalQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")]
_POST_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503)
_GET_ERRORS = problem_responses(401, 403, 404, 409, 422)
_JSON = "application/json"
_id = attrgetter("id")
_par = attrgetter("par")


def _json(body: Any) -> Response:
    return Response(json.dumps(body, separators=(",", ":")), media_type=_JSON)


def _denied_json(denied: DeniedRow) -> dict[str, Any]:
    return {
        "par": denied.par,
        "reason": denied.reason,
        "created_at": format_timestamp(denied.created_at),
    }


@dataclass(frozen=True, slots=True)
class RentalRoutes:
    """What the bike routes reach (``app.state.rentals``, set when the domain is mounted)."""

    rentals: RentalService
    debts: DebtService
    store: RentalStore

    @staticmethod
    def of(request: Request) -> RentalRoutes:
        """The app's, for a dependency."""
        routes: RentalRoutes = request.app.state.rentals
        return routes


def _rentals(request: Request) -> RentalService:
    return RentalRoutes.of(request).rentals


def _debts(request: Request) -> DebtService:
    return RentalRoutes.of(request).debts


def _store(request: Request) -> RentalStore:
    return RentalRoutes.of(request).store


Rentals = Annotated[RentalService, Depends(_rentals)]
Debts = Annotated[DebtService, Depends(_debts)]
Store = Annotated[RentalStore, Depends(_store)]

#: The rental, debt and deny-list routes.
router = APIRouter()
# What the routes share, so each decorator states only its path and answer.
post_rental = partial(router.post, responses=_POST_ERRORS, tags=["rentals"])
get_rentals = partial(router.get, responses=_GET_ERRORS, tags=["rentals"])
post_debt = partial(router.post, responses=_POST_ERRORS, tags=["debts"])
get_debts = partial(router.get, responses=_GET_ERRORS, tags=["debts"])


@post_rental("/v1/rentals", response_model=RentalCreateResponse)
def create_rental(
    allowed: BikeTerminal, rentals: Rentals, body: RentalCreateBody, key: IdempotencyKeyHeader
) -> Response:
    """A tap at a dock: pre-authorization of the deposit, then the rental ``unlocking``.

    Refusals are ``200`` with ``approved: false`` and a ``reason``; with ``started_at``
    (an offline unlock) the rental exists whatever the late verification decides, and a
    declined one rides without a hold (its fare becomes a debt).
    """
    allowed(body.terminal_id)
    return answer_response(
        rentals.create(
            terminal_id=body.terminal_id,
            idempotency_key=idempotency_key(key),
            dock_id=body.dock_id,
            bike_id=body.bike_id,
            amount=body.amount,
            currency=body.currency,
            emv_data=bytes.fromhex(body.emv_data),
            started_at=body.started_at,
        )
    )


@post_rental("/v1/rentals/returns", response_model=ReturnResponse)
def return_bike(
    allowed: BikeTerminal, rentals: Rentals, body: ReturnBody, key: IdempotencyKeyHeader
) -> Response:
    """End the tapping rider's or the docked bike's ride, at any dock of the operator.

    The fare is captured from the hold (an incremental authorization first if the fare is
    above it); what the hold cannot cover becomes a debt and the account is denied.
    """
    allowed(body.terminal_id)
    return answer_response(
        rentals.return_bike(
            terminal_id=body.terminal_id,
            idempotency_key=idempotency_key(key),
            dock_id=body.dock_id,
            bike_id=body.bike_id,
            emv_data=None if body.emv_data is None else bytes.fromhex(body.emv_data),
            ended_at=body.ended_at,
        )
    )


@post_rental("/v1/rentals/{rental_id}/start", response_model=RentalBody)
def start_rental(
    allowed: BikeTerminal,
    rentals: Rentals,
    rental_id: RentalId,
    body: TerminalBody,
    key: IdempotencyKeyHeader,
) -> Response:
    """The lock reported open: the rental is ``riding`` from now."""
    allowed(body.terminal_id)
    return answer_response(
        rentals.start(
            rental_id=rental_id,
            terminal_id=body.terminal_id,
            idempotency_key=idempotency_key(key),
        )
    )


@post_rental("/v1/rentals/{rental_id}/cancel", response_model=RentalBody)
def cancel_rental(
    allowed: BikeTerminal,
    rentals: Rentals,
    rental_id: RentalId,
    body: CancelBody,
    key: IdempotencyKeyHeader,
) -> Response:
    """The bike never left: the hold is voided, the rental ``cancelled``."""
    allowed(body.terminal_id)
    return answer_response(
        rentals.cancel(
            rental_id=rental_id,
            terminal_id=body.terminal_id,
            idempotency_key=idempotency_key(key),
            reason=body.reason,
        )
    )


@get_rentals("/v1/bikes/tariff", response_model=TariffBody)
def get_tariff(allowed: BikeTerminal, rentals: Rentals, terminal_id: TerminalQuery) -> Response:
    """The tariff of the dock terminal's operator: its deposit is what a tap-on holds.

    ``409 tariff_missing`` when the operator has none.
    """
    allowed(terminal_id)
    return _json(rentals.tariff(terminal_id))


@get_rentals("/v1/rentals", response_model=RentalPage)
def list_rentals(
    allowed: AnyTerminal,
    rentals: Rentals,
    store: Store,
    terminal_id: TerminalQuery,
    state: Annotated[
        Literal["active", "unlocking", "riding", "ended", "cancelled"] | None, Query()
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    """The rentals of the terminal's operator, oldest first."""
    allowed(terminal_id)
    merchant = rentals.merchant(terminal_id)
    states = (
        ACTIVE_RENTAL_STATES
        if state == "active"
        else (() if state is None else (RentalState(state),))
    )
    fetch = partial(store.list_rentals, merchant_id=merchant.id, states=states)
    return _json(read_page(fetch, cursor=cursor, limit=limit, render=rental_json, key=_id))


@get_rentals("/v1/rentals/{rental_id}", response_model=RentalBody)
def get_rental(
    allowed: AnyTerminal, rentals: Rentals, rental_id: RentalId, terminal_id: TerminalQuery
) -> Response:
    """One rental of the terminal's operator."""
    allowed(terminal_id)
    return _json(rental_json(rentals.get(terminal_id, rental_id)))


@get_debts("/v1/debts", response_model=DebtPage)
def list_debts(
    allowed: AnyTerminal,
    rentals: Rentals,
    store: Store,
    terminal_id: TerminalQuery,
    status: Annotated[DebtStatus | None, Query()] = None,
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Response:
    """Debts owed to the terminal's operator, oldest first."""
    allowed(terminal_id)
    merchant = rentals.merchant(terminal_id)
    fetch = partial(store.list_debts, merchant_id=merchant.id, status=status)
    return _json(read_page(fetch, cursor=cursor, limit=limit, render=debt_json, key=_id))


@get_debts("/v1/debts/{debt_id}", response_model=DebtBody)
def get_debt(
    allowed: AnyTerminal, debts: Debts, debt_id: DebtId, terminal_id: TerminalQuery
) -> Response:
    """One debt owed to the terminal's operator."""
    allowed(terminal_id)
    return _json(debt_json(debts.get(terminal_id, debt_id)))


@post_debt("/v1/debts/{debt_id}/payments", response_model=DebtPaymentResponse)
def pay_debt(
    allowed: AnyTerminal,
    debts: Debts,
    debt_id: DebtId,
    body: DebtPaymentBody,
    key: IdempotencyKeyHeader,
) -> Response:
    """Pay a debt with a tap: a sale of its amount; approved, the account is lifted."""
    allowed(body.terminal_id)
    return answer_response(
        debts.pay(
            debt_id=debt_id,
            terminal_id=body.terminal_id,
            idempotency_key=idempotency_key(key),
            amount=body.amount,
            currency=body.currency,
            emv_data=bytes.fromhex(body.emv_data),
        )
    )


@get_debts("/v1/deny-list", response_model=DenyListPage)
def deny_list(
    allowed: BikeTerminal,
    store: Store,
    terminal_id: TerminalQuery,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    """The accounts (PARs) docks refuse, for their offline cache, by PAR."""
    allowed(terminal_id)
    page = read_page(store.list_denied, cursor=cursor, limit=limit, render=_denied_json, key=_par)
    return _json(page)

"""The rentals domain: shared bikes, their rentals, riders' debts and the deny list's views.

Layout: :mod:`~acquirer.rentals.service` (unlock, start, cancel),
:mod:`~acquirer.rentals.returns` (the return: pricing, completion, debt),
:mod:`~acquirer.rentals.debts`, :mod:`~acquirer.rentals.requests` (bike requests, through
the core's idempotency), :mod:`~acquirer.rentals.tariff`; the routes in
:mod:`~acquirer.rentals.api`, the schemas, the store part (:mod:`~acquirer.rentals.rows`
with :class:`~acquirer.rentals.rows.RentalStore`, :mod:`~acquirer.rentals.sql`), schema step
5 and the ``bikes`` command. It builds on payments (holds, captures, the deny list), never
on parcels.
"""

from http import HTTPStatus

from fastapi import FastAPI

from acquirer.domain import Core, Domain
from acquirer.errors import (
    DebtNotFoundError,
    DebtStateError,
    RentalNotFoundError,
    RentalStateError,
    TariffMissingError,
)
from acquirer.payments.services import PaymentServices
from acquirer.rentals.api import RentalRoutes, router
from acquirer.rentals.cli import bikes_app
from acquirer.rentals.debts import DebtService
from acquirer.rentals.migrations import MIGRATIONS
from acquirer.rentals.requests import BikeRequests
from acquirer.rentals.service import RentalService
from acquirer.rentals.sql import SqlRentalStore
from acquirer.status import StatusSource


def mount(app: FastAPI, core: Core) -> None:
    """Build the rental and debt services over the payments ones; include the bike routes."""
    payments: PaymentServices = app.state.payments
    store = SqlRentalStore(core.engine)
    requests = BikeRequests(store, core.in_flight, core.clock)
    rentals = RentalService(requests, payments.authorizations, payments.payments)
    debts = DebtService(requests, payments.authorizations, payments.payments)
    app.state.rentals = RentalRoutes(rentals, debts, store)
    app.include_router(router)


DOMAIN = Domain(
    name="rentals",
    mount=mount,
    migrations=MIGRATIONS,
    commands=(("bikes", bikes_app),),
    status_sources=(StatusSource("rentals", "bike", "bike_requests"),),
    statuses={
        RentalNotFoundError: HTTPStatus.NOT_FOUND,
        DebtNotFoundError: HTTPStatus.NOT_FOUND,
        RentalStateError: HTTPStatus.CONFLICT,
        DebtStateError: HTTPStatus.CONFLICT,
        TariffMissingError: HTTPStatus.CONFLICT,
    },
)

"""The parcels domain: lockers, compartments, parcels, pickups, codes and reversals.

Layout: :mod:`~acquirer.parcels.service` (registration, views, door events),
:mod:`~acquirer.parcels.pickups`, :mod:`~acquirer.parcels.reversals`,
:mod:`~acquirer.parcels.operations` (idempotent parcel operations, through the core's
idempotency), :mod:`~acquirer.parcels.rules` (amount due, pickup codes),
:mod:`~acquirer.parcels.binding` (a parcel step in its authorization's transaction); the
routes in :mod:`~acquirer.parcels.api`, the store part (:mod:`~acquirer.parcels.rows` with
:class:`~acquirer.parcels.rows.ParcelStore`, :mod:`~acquirer.parcels.sql`,
:mod:`~acquirer.parcels.tx`), schema step 6 and the ``lockers`` command. It builds on
payments, never on rentals.
"""

from http import HTTPStatus

from fastapi import FastAPI

from acquirer.domain import Core, Domain
from acquirer.errors import LockerNotFoundError, ParcelConflictError, ParcelNotFoundError
from acquirer.parcels.api import parcel_reversals_router, parcels_router
from acquirer.parcels.binding import bound_store
from acquirer.parcels.cli import lockers_app
from acquirer.parcels.migrations import MIGRATIONS
from acquirer.parcels.reversals import ParcelReversals
from acquirer.parcels.rules import PickupCodes
from acquirer.parcels.service import ParcelService
from acquirer.parcels.sql import SqlParcelStore
from acquirer.payments.services import PaymentServices
from acquirer.status import StatusSource


def mount(app: FastAPI, core: Core) -> None:
    """Build the parcel services over the payments ones; include the parcel routes."""
    payments: PaymentServices = app.state.payments
    store = SqlParcelStore(core.engine)
    bound, view = bound_store(store)
    parcels = ParcelService(
        store,
        bound,
        payments.authorizer(view),
        PickupCodes(core.keys.vault_key),
        clock=core.clock,
        in_flight=core.in_flight,
    )
    app.include_router(parcels_router(parcels))
    reversals = ParcelReversals(parcels, payments.payments, store)
    app.include_router(parcel_reversals_router(reversals))


DOMAIN = Domain(
    name="parcels",
    mount=mount,
    migrations=MIGRATIONS,
    commands=(("lockers", lockers_app),),
    status_sources=(StatusSource("parcels", "parcel", "parcel_operations"),),
    statuses={
        ParcelNotFoundError: HTTPStatus.NOT_FOUND,
        LockerNotFoundError: HTTPStatus.NOT_FOUND,
        ParcelConflictError: HTTPStatus.CONFLICT,
    },
)

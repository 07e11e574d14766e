"""The mandates domain: agents pay checkout sessions under wallet-signed mandates (issue 16).

Layout: :mod:`~acquirer.mandates.service` (keys, the chain check on the acquirer's own
session, the stateful budget, the payment through the payments authorization, revocation,
listing), :mod:`~acquirer.mandates.rows` (a mandate's state, refusal reasons), the routes in
:mod:`~acquirer.mandates.api` and their :mod:`~acquirer.mandates.schemas`, the store part
:mod:`~acquirer.mandates.sql` and schema step 9. It builds on checkout and payments, never on
rentals or parcels; no other domain imports it.
"""

from http import HTTPStatus

from fastapi import FastAPI

from acquirer.domain import Core, Domain
from acquirer.errors import MandateKeyError, MandateNotFoundError
from acquirer.mandates.api import router
from acquirer.mandates.migrations import MIGRATIONS
from acquirer.mandates.service import AgentPayment, MandateService
from acquirer.mandates.sql import SqlMandateStore
from acquirer.payments.services import PaymentServices

__all__ = ["DOMAIN", "AgentPayment", "MandateService", "SqlMandateStore"]


def mount(app: FastAPI, core: Core) -> None:
    """Build the mandates service over the payments authorizer; include its routes."""
    payments: PaymentServices = app.state.payments
    app.state.mandates = MandateService(
        SqlMandateStore(core.engine),
        payments.authorizer,
        in_flight=core.in_flight,
        clock=core.clock,
    )
    app.include_router(router)


DOMAIN = Domain(
    name="mandates",
    mount=mount,
    migrations=MIGRATIONS,
    statuses={
        MandateNotFoundError: HTTPStatus.NOT_FOUND,
        MandateKeyError: HTTPStatus.UNPROCESSABLE_ENTITY,
    },
)

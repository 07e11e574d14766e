"""The checkout domain: sessions a terminal asks to be paid, paid by a phone wallet (Tap! mode).

Layout: :mod:`~acquirer.checkout.service` (create, link per tap, cancel, the wallet's view
and payment through the payments authorization), :mod:`~acquirer.checkout.rows` (session
state, refusal reasons), the routes in :mod:`~acquirer.checkout.api` and their
:mod:`~acquirer.checkout.schemas`, the store part :mod:`~acquirer.checkout.sql` and schema
step 7. It builds on payments, never on rentals or parcels.
"""

from datetime import timedelta
from http import HTTPStatus

from fastapi import FastAPI

from acquirer.checkout.api import router
from acquirer.checkout.migrations import MIGRATIONS
from acquirer.checkout.service import CheckoutService, link_master_key
from acquirer.checkout.sql import SqlCheckoutStore
from acquirer.domain import Core, Domain
from acquirer.errors import CheckoutLinkRefusedError, CheckoutSessionNotFoundError
from acquirer.payments.services import PaymentServices


def mount(app: FastAPI, core: Core) -> None:
    """Build the checkout service over the payments authorizer; include the checkout routes."""
    payments: PaymentServices = app.state.payments
    app.state.checkout = CheckoutService(
        SqlCheckoutStore(core.engine),
        payments.authorizer,
        master_key=link_master_key(core.keys.vault_key),
        base_url=core.settings.tap_base_url,
        lifetime=timedelta(seconds=core.settings.checkout_session_seconds),
        clock=core.clock,
    )
    app.include_router(router)


DOMAIN = Domain(
    name="checkout",
    mount=mount,
    migrations=MIGRATIONS,
    statuses={
        CheckoutSessionNotFoundError: HTTPStatus.NOT_FOUND,
        CheckoutLinkRefusedError: HTTPStatus.FORBIDDEN,
    },
)

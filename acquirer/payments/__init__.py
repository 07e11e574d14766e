"""The payments domain: authorizations, issuer, risk, the payment lifecycle, ledger, settlement.

Layout: :mod:`~acquirer.payments.service` (the authorization service and its sans-I/O
generator), :mod:`~acquirer.payments.issuer`, :mod:`~acquirer.payments.risk`,
:mod:`~acquirer.payments.reasons`, :mod:`~acquirer.payments.lifecycle`,
:mod:`~acquirer.payments.ledger`, :mod:`~acquirer.payments.settlement`; the HTTP routes in
:mod:`acquirer.payments.api`, the schemas, the store part (:mod:`~acquirer.payments.rows`,
:mod:`~acquirer.payments.store`, :mod:`acquirer.payments.sql`), the schema steps 1-4 and the
``settlement`` and ``risk`` commands. It imports neither rentals nor parcels; they build on it
(:class:`~acquirer.payments.services.PaymentServices`).
"""

from http import HTTPStatus

from acquirer.domain import Domain
from acquirer.errors import (
    AmountExceededError,
    BatchNotFoundError,
    IncrementDeclinedError,
    PaymentNotFoundError,
    PaymentStateError,
    SettlementScopeNotFoundError,
)
from acquirer.payments.cli import payments_app, risk_app, settlement_app
from acquirer.payments.migrations import MIGRATIONS
from acquirer.payments.services import mount
from acquirer.status import StatusSource

DOMAIN = Domain(
    name="payments",
    mount=mount,
    migrations=MIGRATIONS,
    commands=(("settlement", settlement_app), ("risk", risk_app), ("payments", payments_app)),
    status_sources=(
        StatusSource("authorizations", "authorization", "authorizations"),
        StatusSource("operations", "operation", "operations"),
    ),
    statuses={
        PaymentNotFoundError: HTTPStatus.NOT_FOUND,
        BatchNotFoundError: HTTPStatus.NOT_FOUND,
        SettlementScopeNotFoundError: HTTPStatus.NOT_FOUND,
        AmountExceededError: HTTPStatus.UNPROCESSABLE_ENTITY,
        IncrementDeclinedError: HTTPStatus.UNPROCESSABLE_ENTITY,
        PaymentStateError: HTTPStatus.CONFLICT,
    },
)

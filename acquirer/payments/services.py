"""The payments domain's services, built once per app and shared with the domains after it.

:func:`mount` builds them over the shared engine, publishes them as
``app.state.payments`` (:class:`PaymentServices`: the rentals and parcels domains authorize
and operate on payments through them) and includes the payments routers: authorizations
(with the fast path, the same handler), the payment lifecycle and settlement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from acquirer.auth import TerminalAuthenticator
from acquirer.domain import Core
from acquirer.payments.api import authorizations, operations, settlement
from acquirer.payments.api.fastpath import AuthorizationFastPath
from acquirer.payments.issuer import Issuer
from acquirer.payments.lifecycle import PaymentService
from acquirer.payments.risk import RiskRules
from acquirer.payments.service import AuthorizationService
from acquirer.payments.settlement import SettlementService
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.store import PaymentStore


@dataclass(frozen=True, slots=True)
class PaymentServices:
    """What the payments domain offers the routes and the domains mounted after it."""

    authorizations: AuthorizationService
    payments: PaymentService
    authorizer: Callable[[PaymentStore], AuthorizationService]
    """An :class:`AuthorizationService` over another view of the store (the parcels' one)."""
    settlement: SettlementService
    authenticator: TerminalAuthenticator
    reads_are_local: bool


def mount(app: FastAPI, core: Core) -> None:
    """Build the payments services and include the payments routers."""
    settings = core.settings
    store = SqlPaymentStore(core.engine)
    issuer = Issuer(core.keys.issuer_keys)
    risk_rules = RiskRules(
        settings.velocity_limit, timedelta(seconds=settings.velocity_window_seconds)
    )

    def authorizer(on: PaymentStore) -> AuthorizationService:
        return AuthorizationService(
            on,
            issuer,
            atc_window=settings.atc_window,
            fee_bps=settings.fee_bps,
            risk_rules=risk_rules,
            clock=core.clock,
            in_flight=core.in_flight,
            tvr_exempt_bins=settings.tvr_exempt_bins,
        )

    service = authorizer(store)
    payments = PaymentService(
        store, fee_bps=settings.fee_bps, clock=core.clock, in_flight=core.in_flight
    )
    app.state.payments = PaymentServices(
        authorizations=service,
        payments=payments,
        settlement=SettlementService(store, clock=core.clock),
        authorizer=authorizer,
        authenticator=core.authenticator,
        reads_are_local=core.engine.reads_are_local,
    )
    app.state.service = service
    # Added before the core's BodySizeLimit, so it runs inside it.
    app.add_middleware(AuthorizationFastPath, handle=authorizations.handle_authorization)
    app.include_router(authorizations.router)
    app.include_router(operations.router)
    app.include_router(settlement.router)

"""The acquirer's HTTP API: a thin FastAPI layer over :mod:`acquirer.payments.service`.

``create_app(settings)`` loads and checks the keys, opens and migrates the database, and
wires the service; routes only translate HTTP to service calls and back. Endpoints are
plain ``def`` functions: FastAPI runs them in its thread pool, and the service and store
are thread-safe.

- ``GET /v1/health``: liveness, and whether test keys are loaded.
- ``POST /v1/authorizations``: authorize one tap (a sale, or a pre-authorization's hold).
  Requires ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header); errors are
  problem details (RFC 9457).
- the payment lifecycle (:mod:`acquirer.payments.api.operations`), settlement
  (:mod:`acquirer.payments.api.settlement`), bike rentals, debts and the deny list
  (:mod:`acquirer.rentals.api`), and parcel lockers (:mod:`acquirer.parcels.api`).

Well-formed authorization requests are answered by :mod:`acquirer.payments.api.fastpath` without
FastAPI's per-request machinery (the same logic, the same bytes); the FastAPI route documents
the operation and answers every request the fast path passes on.

With ``require_client_certificates`` every request is checked against the terminal registry
(:mod:`acquirer.auth`).
"""

from __future__ import annotations

import binascii
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated

import anyio.to_thread
from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from acquirer.auth import TerminalAuthenticator
from acquirer.bodylimit import BodySizeLimit
from acquirer.clock import utc_now
from acquirer.domains import open_database
from acquirer.idempotency import InFlight, answer_response
from acquirer.idempotency import idempotency_key as parse_key_header
from acquirer.keys import load_key_material
from acquirer.parcels.api import parcel_reversals_router, parcels_router
from acquirer.parcels.binding import bound_store
from acquirer.parcels.reversals import ParcelReversals
from acquirer.parcels.rules import PickupCodes
from acquirer.parcels.service import ParcelService
from acquirer.parcels.sql import SqlParcelStore
from acquirer.payments.api.fastpath import AuthorizationFastPath
from acquirer.payments.api.operations import payments_router
from acquirer.payments.api.settlement import settlement_router
from acquirer.payments.issuer import Issuer
from acquirer.payments.lifecycle import PaymentService
from acquirer.payments.risk import RiskRules
from acquirer.payments.rows import Intent
from acquirer.payments.schemas import (
    AuthorizationRequestBody,
    AuthorizationResponseBody,
    HealthBody,
)
from acquirer.payments.service import (
    AuthorizationRequest,
    AuthorizationService,
)
from acquirer.payments.settlement import SettlementService
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.store import PaymentStore
from acquirer.problems import install_problem_handlers, problem_responses
from acquirer.rentals.api import bikes_router
from acquirer.rentals.debts import DebtService
from acquirer.rentals.requests import BikeRequests
from acquirer.rentals.service import RentalService
from acquirer.rentals.sql import SqlRentalStore
from acquirer.settings import LOG_FORMAT, Settings, settings_from_environment

API_TITLE = "Tap acquirer"

#: The terminal action each intent needs (``None``: any registered terminal may verify).
_ACTIONS: dict[Intent, str | None] = {
    Intent.SALE: "pay",
    Intent.PREAUTHORIZATION: "bike",
    Intent.ACCOUNT_VERIFICATION: None,
}


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the acquirer app for one data directory.

    Raises :class:`~acquirer.errors.ConfigurationError` (e.g. test keys in production mode)
    or :class:`~acquirer.errors.StoreError` before any request is served. ``clock`` replaces
    the wall clock (tests of token expiry).
    """
    keys = load_key_material(settings)
    engine = open_database(settings)
    try:
        engine.migrate()
    except BaseException:
        engine.close()
        raise
    store = SqlPaymentStore(engine)
    rental_store = SqlRentalStore(engine)
    parcel_sql = SqlParcelStore(engine)
    in_flight = InFlight()
    issuer = Issuer(keys.issuer_keys)

    def authorizer(on: PaymentStore) -> AuthorizationService:
        return AuthorizationService(
            on,
            issuer,
            atc_window=settings.atc_window,
            fee_bps=settings.fee_bps,
            risk_rules=RiskRules(
                settings.velocity_limit, timedelta(seconds=settings.velocity_window_seconds)
            ),
            clock=clock or utc_now,
            in_flight=in_flight,
        )

    service = authorizer(store)
    authenticator = TerminalAuthenticator(store, required=settings.require_client_certificates)
    payments = PaymentService(
        store, fee_bps=settings.fee_bps, clock=clock or utc_now, in_flight=in_flight
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Everything built so far lives as long as the server: move it out of the cyclic
        # collector's reach, so a full collection under load walks only per-request garbage
        # (CPython gc.freeze, added for exactly this in 3.7).
        gc.freeze()
        yield
        engine.close()

    app = FastAPI(
        title=API_TITLE,
        version="1",
        summary="Token vault and online authorization of contactless EMV payments",
        lifespan=lifespan,
    )

    def authorization_request(
        request: Request, body: AuthorizationRequestBody, key: str
    ) -> AuthorizationRequest:
        """The service's request for a route call, once the terminal may make it."""
        terminal = authenticator.authenticate(request)
        authenticator.check(terminal, body.terminal_id, _ACTIONS[body.intent])
        try:
            emv_data = binascii.unhexlify(body.emv_data)
        except binascii.Error:  # the schema's pattern makes this unreachable
            raise RequestValidationError(
                [{"loc": ("body", "emv_data"), "msg": "not hexadecimal", "type": "value_error"}]
            ) from None
        return AuthorizationRequest(
            terminal_id=body.terminal_id,
            idempotency_key=key,
            amount=body.amount,
            currency=body.currency,
            emv_data=emv_data,
            intent=body.intent,
        )

    def authorize_in_thread(request: Request, body: AuthorizationRequestBody, key: str) -> Response:
        return answer_response(service.authorize(authorization_request(request, body, key)))

    async def handle_authorization(
        request: Request, body: AuthorizationRequestBody, key: str
    ) -> Response:
        """The route's logic, shared by the FastAPI route and :mod:`acquirer.payments.api.fastpath`.

        On a store with local reads (SQLite) the whole request runs on the event loop and
        awaits only its group commit; otherwise it runs in a worker thread.
        """
        if not engine.reads_are_local:
            return await anyio.to_thread.run_sync(authorize_in_thread, request, body, key)
        outcome = await service.authorize_async(authorization_request(request, body, key))
        return answer_response(outcome)

    # Added first, so it runs inside BodySizeLimit (the last added middleware is outermost).
    app.add_middleware(AuthorizationFastPath, handle=handle_authorization)
    app.add_middleware(BodySizeLimit)
    install_problem_handlers(app)
    app.state.settings = settings
    app.state.service = service

    @app.get("/v1/health", response_model=HealthBody, tags=["operations"])
    def health() -> HealthBody:
        """Liveness probe; ``test_keys`` is true when running with keys made by ``init``."""
        return HealthBody(status="ok", test_keys=keys.test_keys)

    @app.post(
        "/v1/authorizations",
        response_model=AuthorizationResponseBody,
        tags=["authorizations"],
        responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 500, 503),
    )
    async def authorize(
        request: Request,
        body: AuthorizationRequestBody,
        idempotency_key: Annotated[
            str,
            Header(
                alias="Idempotency-Key",
                description="Client-chosen key, 1-64 of A-Z a-z 0-9 . _ : - (may be quoted); "
                "repeating it returns the first answer",
            ),
        ],
    ) -> Response:
        """Authorize one tap: verify the card's ARQC, decide, record durably, answer.

        Declines are ``200`` responses with ``approved: false``; problem responses mean the
        request itself could not be processed.
        """
        return await handle_authorization(request, body, parse_key_header(idempotency_key))

    app.include_router(payments_router(payments, service, authenticator))
    app.include_router(
        settlement_router(SettlementService(store, clock=clock or utc_now), authenticator)
    )
    bike_requests = BikeRequests(rental_store, in_flight, clock or utc_now)
    app.include_router(
        bikes_router(
            RentalService(bike_requests, service, payments),
            DebtService(bike_requests, service, payments),
            rental_store,
            authenticator,
        )
    )
    parcel_store, parcel_view = bound_store(parcel_sql)
    parcels = ParcelService(
        parcel_sql,
        parcel_store,
        authorizer(parcel_view),
        PickupCodes(keys.vault_key),
        clock=clock or utc_now,
        in_flight=in_flight,
    )
    app.include_router(parcels_router(parcels, authenticator))
    app.include_router(
        parcel_reversals_router(ParcelReversals(parcels, payments, parcel_sql), authenticator)
    )
    return app


def app_from_environment() -> FastAPI:
    """The app for ``tap-acquirer serve --workers N``: each worker process builds its own.

    uvicorn's worker processes import the app by name, so the settings travel in the
    environment: :data:`~acquirer.settings.HOME_ENV`, the database URL variable, and
    ``TAP_ACQUIRER_REQUIRE_CLIENT_CERTIFICATES=1`` for mutual TLS. A spawned worker starts
    with no logging configured: it logs as ``serve`` does, so every authorization of every
    worker reaches the log.
    """
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    return create_app(settings_from_environment())

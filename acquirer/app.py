"""The acquirer's HTTP API: a thin FastAPI layer over :mod:`acquirer.service`.

``create_app(settings)`` loads and checks the keys, opens and migrates the database, and
wires the service; routes only translate HTTP to service calls and back. Endpoints are
plain ``def`` functions: FastAPI runs them in its thread pool, and the service and store
are thread-safe.

- ``GET /v1/health``: liveness, and whether test keys are loaded.
- ``POST /v1/authorizations``: authorize one tap. Requires ``Idempotency-Key``
  (draft-ietf-httpapi-idempotency-key-header); errors are problem details (RFC 9457).
"""

from __future__ import annotations

import binascii
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Annotated

from fastapi import FastAPI, Header
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from acquirer.bodylimit import BodySizeLimit
from acquirer.issuer import Issuer
from acquirer.keys import load_key_material
from acquirer.problems import install_problem_handlers, problem_responses
from acquirer.schemas import (
    AuthorizationRequestBody,
    AuthorizationResponseBody,
    HealthBody,
    parse_idempotency_key,
)
from acquirer.service import AuthorizationRequest, AuthorizationService
from acquirer.settings import Settings
from acquirer.store.sqlite import SqliteStore
from acquirer.vault import utc_now

API_TITLE = "Tap acquirer"


def create_app(settings: Settings, *, clock: Callable[[], datetime] | None = None) -> FastAPI:
    """Build the acquirer app for one data directory.

    Raises :class:`~acquirer.errors.ConfigurationError` (e.g. test keys in production mode)
    or :class:`~acquirer.errors.StoreError` before any request is served. ``clock`` replaces
    the wall clock (tests of token expiry).
    """
    keys = load_key_material(settings)
    store = SqliteStore(settings.database)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    service = AuthorizationService(
        store, Issuer(keys.issuer_keys), atc_window=settings.atc_window, clock=clock or utc_now
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        store.close()

    app = FastAPI(
        title=API_TITLE,
        version="1",
        summary="Token vault and online authorization of contactless EMV payments",
        lifespan=lifespan,
    )
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
        responses=problem_responses(400, 409, 413, 415, 422, 500, 503),
    )
    def authorize(
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
        key = parse_idempotency_key(idempotency_key)
        if key is None:
            raise RequestValidationError(
                [
                    {
                        "loc": ("header", "Idempotency-Key"),
                        "msg": "invalid idempotency key",
                        "type": "value_error",
                    }
                ]
            )
        try:
            emv_data = binascii.unhexlify(body.emv_data)
        except binascii.Error:  # the schema's pattern makes this unreachable
            raise RequestValidationError(
                [{"loc": ("body", "emv_data"), "msg": "not hexadecimal", "type": "value_error"}]
            ) from None
        outcome = service.authorize(
            AuthorizationRequest(
                terminal_id=body.terminal_id,
                idempotency_key=key,
                amount=body.amount,
                currency=body.currency,
                emv_data=emv_data,
            )
        )
        headers = {"Idempotent-Replayed": "true"} if outcome.replayed else None
        return Response(outcome.response_json, media_type="application/json", headers=headers)

    return app

"""The acquirer's HTTP API: the core's wiring, then one loop over the domains.

``create_app(settings)`` loads and checks the keys, opens and migrates the database (every
domain's schema steps), builds the core (terminal authentication, keys in flight, clock) and
mounts each domain of :mod:`acquirer.domains` in order: payments (authorizations, the
payment lifecycle, settlement), rentals, parcels. Routes only translate HTTP to service calls
and back. Endpoints are plain ``def`` functions: FastAPI runs them in its thread pool, and
the services and stores are thread-safe.

- ``GET /v1/health``: liveness, and whether test keys are loaded (a core route).
- ``GET /v1/status/{kind}/{idempotency_key}`` (:mod:`acquirer.status`): what became of a
  request, for every domain's idempotency scopes (a core route over the domains' sources).
- ``POST /v1/authorizations`` (:mod:`acquirer.payments.api.authorizations`): authorize one
  tap; well-formed requests are answered by :mod:`acquirer.payments.api.fastpath` without
  FastAPI's per-request machinery, through the same handler the route calls.
- the payment lifecycle and settlement, bike rentals and debts, parcel lockers: each domain's
  routers. Errors are problem details (RFC 9457), statuses from the core's and each domain's
  table (:mod:`acquirer.problems`).

With ``require_client_certificates`` every request is checked against the terminal registry
(:mod:`acquirer.auth`).
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from pydantic import BaseModel, Field

from acquirer.auth import TerminalAuthenticator
from acquirer.bodylimit import BodySizeLimit
from acquirer.clock import utc_now
from acquirer.domain import Core
from acquirer.domains import DOMAINS, open_database
from acquirer.idempotency import InFlight
from acquirer.keys import load_key_material
from acquirer.problems import install_problem_handlers
from acquirer.registry import SqlRegistryStore
from acquirer.settings import LOG_FORMAT, Settings, settings_from_environment
from acquirer.status import StatusLookup
from acquirer.status import router as status_router

API_TITLE = "Tap acquirer"


class HealthBody(BaseModel):
    """``GET /v1/health`` response."""

    status: str = Field(examples=["ok"])
    test_keys: bool = Field(description="True when running with keys made by init (test keys)")


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
    registry = SqlRegistryStore(engine)
    core = Core(
        settings=settings,
        keys=keys,
        engine=engine,
        authenticator=TerminalAuthenticator(
            registry, required=settings.require_client_certificates
        ),
        in_flight=InFlight(),
        clock=clock or utc_now,
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
    app.state.settings = settings
    app.state.authenticator = core.authenticator

    @app.get("/v1/health", response_model=HealthBody, tags=["operations"])
    def health() -> HealthBody:
        """Liveness probe; ``test_keys`` is true when running with keys made by ``init``."""
        return HealthBody(status="ok", test_keys=keys.test_keys)

    for domain in DOMAINS:
        domain.mount(app, core)
    app.state.status = StatusLookup(
        engine, core.in_flight, (s for domain in DOMAINS for s in domain.status_sources)
    )
    app.include_router(status_router)
    # Added after the domains' middleware (the fast path), so it is the outermost.
    app.add_middleware(BodySizeLimit)
    install_problem_handlers(app, [domain.statuses for domain in DOMAINS])
    return app


class LoadBalancerHealth(BaseModel):
    """``GET /v1/health`` on the load balancer's port: nothing but liveness."""

    status: str = Field(examples=["ok"])


def create_health_app() -> FastAPI:
    """The app of ``serve --health-port``: ``/v1/health`` only, no client certificate.

    It holds no keys and no database, and says nothing but ``ok``: a load balancer may
    probe it from anywhere without learning anything about the acquirer.
    """
    app = FastAPI(title=f"{API_TITLE} health", openapi_url=None, docs_url=None, redoc_url=None)

    @app.get("/v1/health", response_model=LoadBalancerHealth)
    def health() -> LoadBalancerHealth:
        return LoadBalancerHealth(status="ok")

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

"""HTTP routes of agent payments and mandates (issue 16).

The agent's (no client certificate: the mandate, the agent's binding and the wallet's
confirmation authenticate a payment; no terminal route accepts an agent, so an agent can
neither unlock a bike nor open a locker):

- ``GET  /v1/agent/checkouts/{session_id}``: the checkout document the acquirer holds for the
  session and its ``checkout_hash``, what the agent signs (and the wallet confirms);
- ``POST /v1/agent/payments``: pay a session under a mandate. ``Idempotency-Key`` is required
  (missing: ``400``); the same key with another body is ``422`` ``idempotency_key_reused``;
  while the first is running, ``409`` with ``Retry-After``. Refusals are ``200`` with
  ``approved: false`` and a stable ``reason``;
- ``POST /v1/agent/keys``: register an agent's public key (JWK), answered with its thumbprint.

The payer's:

- ``POST /v1/mandates``: verify and record a mandate before its first use;
- ``GET  /v1/mandates?wallet=``: the wallet's mandates with what remains of each budget;
- ``POST /v1/mandates/{id}/revoke``: revoke, with a revocation signed by the wallet's key.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from acquirer.checkout.schemas import SESSION_ID_PATTERN
from acquirer.errors import IdempotencyKeyInFlightError, IdempotencyKeyReusedError
from acquirer.idempotency import IdempotencyKeyHeader, parse_idempotency_key
from acquirer.mandates.schemas import (
    MANDATE_ID_PATTERN,
    AgentKeyBody,
    AgentPaymentBody,
    AgentPaymentResponse,
    MandateBody,
    MandateView,
    RevocationBody,
)
from acquirer.mandates.service import AgentPayment, MandateService, mandate_json
from acquirer.problems import problem_response, problem_responses

_ERRORS = problem_responses(400, 404, 409, 413, 415, 422, 503)
_JSON = "application/json"
#: Seconds an agent waits before retrying a payment still in flight.
RETRY_AFTER = 1


def _service(request: Request) -> MandateService:
    service: MandateService = request.app.state.mandates
    return service


Mandates = Annotated[MandateService, Depends(_service)]
MandateId = Annotated[str, Path(pattern=MANDATE_ID_PATTERN)]

#: The agent and mandate routes.
router = APIRouter()
post = partial(router.post, responses=_ERRORS, tags=["mandates"])
get = partial(router.get, responses=_ERRORS, tags=["mandates"])


def _body(body: object, *, replayed: bool = False) -> Response:
    headers = {"Cache-Control": "no-store"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(json.dumps(body, separators=(",", ":")), media_type=_JSON, headers=headers)


@get("/v1/agent/checkouts/{session_id}")
def agent_checkout(
    mandates: Mandates, session_id: Annotated[str, Path(pattern=SESSION_ID_PATTERN)]
) -> Response:
    """The session's checkout as the acquirer holds it, and the hash an agent signs."""
    checkout = mandates.checkout(session_id)
    return _body({"checkout": checkout.document(), "checkout_hash": checkout.hash()})


@post("/v1/agent/payments", response_model=AgentPaymentResponse)
def agent_payment(
    mandates: Mandates,
    body: AgentPaymentBody,
    key: IdempotencyKeyHeader,
) -> Response:
    """Pay a checkout session under a mandate (module docstring).

    A missing or malformed ``Idempotency-Key`` is a 400, answered by the shared header
    check (:mod:`acquirer.idempotency`), as on every state-changing route.
    """
    parsed = parse_idempotency_key(key)
    if parsed is None:
        return problem_response(400, "idempotency_key_invalid", "invalid idempotency key")
    payment = AgentPayment(body.session_id, body.mandate, body.binding, body.confirmation)
    try:
        answer = mandates.pay(payment, parsed)
    except IdempotencyKeyReusedError as exc:
        return problem_response(422, exc.code, str(exc))
    except IdempotencyKeyInFlightError as exc:
        return problem_response(409, exc.code, str(exc), headers={"Retry-After": str(RETRY_AFTER)})
    headers = {"Cache-Control": "no-store"}
    if answer.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(answer.response_json, media_type=_JSON, headers=headers)


@post("/v1/agent/keys")
def agent_key(mandates: Mandates, body: AgentKeyBody) -> Response:
    """Register an agent's public key; its RFC 7638 thumbprint (the mandate's ``cnf.jkt``)."""
    return _body({"thumbprint": mandates.register_agent_key(body.jwk, body.name)})


@post("/v1/mandates", response_model=MandateView)
def register_mandate(mandates: Mandates, body: MandateBody) -> Response:
    """Verify and record a mandate (its state starts at nothing spent)."""
    return _body(mandate_json(mandates.register_mandate(body.mandate)))


@get("/v1/mandates", response_model=list[MandateView])
def list_mandates(
    mandates: Mandates, wallet: Annotated[str, Query(pattern=r"^[A-Za-z0-9_-]{43}$")]
) -> Response:
    """The wallet's mandates with their remaining budgets."""
    return _body([mandate_json(row) for row in mandates.mandates(wallet)])


@post("/v1/mandates/{mandate_id}/revoke", response_model=MandateView)
def revoke_mandate(mandates: Mandates, mandate_id: MandateId, body: RevocationBody) -> Response:
    """Revoke a mandate; no payment under it is approved afterwards."""
    return _body(mandate_json(mandates.revoke(mandate_id, body.revocation)))

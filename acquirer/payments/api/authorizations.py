"""``POST /v1/authorizations``: the route, and the one handler both the route and the fast path run.

:func:`handle_authorization` authenticates the terminal, builds the service's request and
awaits the answer; the registered FastAPI route (:func:`authorize`) calls it, and so does
:class:`~acquirer.payments.api.fastpath.AuthorizationFastPath` for well-formed requests, so the
route that is documented is the code that runs. The services come from
``request.app.state.payments`` (:class:`~acquirer.payments.PaymentServices`, set when the
domain is mounted).

Requires ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header); errors are problem
details (RFC 9457).
"""

from __future__ import annotations

import binascii
from typing import TYPE_CHECKING

import anyio.to_thread
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from acquirer.idempotency import IdempotencyKeyHeader, answer_response, idempotency_key
from acquirer.payments.rows import Intent
from acquirer.payments.schemas import AuthorizationRequestBody, AuthorizationResponseBody
from acquirer.payments.service import AuthorizationRequest
from acquirer.problems import problem_responses

if TYPE_CHECKING:
    from acquirer.payments.services import PaymentServices

#: The terminal action each intent needs (``None``: any registered terminal may verify).
ACTIONS: dict[Intent, str | None] = {
    Intent.SALE: "pay",
    Intent.PREAUTHORIZATION: "bike",
    Intent.ACCOUNT_VERIFICATION: None,
}

router = APIRouter()


def _services(request: Request) -> PaymentServices:
    services: PaymentServices = request.app.state.payments
    return services


def authorization_request(
    request: Request, body: AuthorizationRequestBody, key: str
) -> AuthorizationRequest:
    """The service's request for a route call, once the terminal may make it."""
    authenticator = _services(request).authenticator
    terminal = authenticator.authenticate(request)
    authenticator.check(terminal, body.terminal_id, ACTIONS[body.intent])
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
        reference=body.reference,
    )


def _authorize_in_thread(request: Request, body: AuthorizationRequestBody, key: str) -> Response:
    service = _services(request).authorizations
    return answer_response(service.authorize(authorization_request(request, body, key)))


async def handle_authorization(
    request: Request, body: AuthorizationRequestBody, key: str
) -> Response:
    """The route's logic, shared by the FastAPI route and the fast path.

    On a store with local reads (SQLite) the whole request runs on the event loop and
    awaits only its group commit; otherwise it runs in a worker thread.
    """
    services = _services(request)
    if not services.reads_are_local:
        return await anyio.to_thread.run_sync(_authorize_in_thread, request, body, key)
    outcome = await services.authorizations.authorize_async(
        authorization_request(request, body, key)
    )
    return answer_response(outcome)


@router.post(
    "/v1/authorizations",
    response_model=AuthorizationResponseBody,
    tags=["authorizations"],
    responses=problem_responses(400, 401, 403, 409, 413, 415, 422, 500, 503),
)
async def authorize(
    request: Request, body: AuthorizationRequestBody, idempotency_key_header: IdempotencyKeyHeader
) -> Response:
    """Authorize one tap: verify the card's ARQC, decide, record durably, answer.

    Declines are ``200`` responses with ``approved: false``; problem responses mean the
    request itself could not be processed.
    """
    return await handle_authorization(request, body, idempotency_key(idempotency_key_header))

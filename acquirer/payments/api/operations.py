"""HTTP routes of the payment lifecycle: a thin layer over :class:`~acquirer.payments.lifecycle.PaymentService`.

- ``GET  /v1/payments?terminal_id=&reference=``: the terminal's payments (cursor pages,
  :mod:`acquirer.pagination`), optionally of one merchant reference.
- ``GET  /v1/payments/{id}?terminal_id=``: a payment's state.
- ``POST /v1/payments/{id}/increments``: incremental authorization of a pre-authorization.
- ``POST /v1/payments/{id}/capture``: completion of a pre-authorization.
- ``POST /v1/payments/{id}/void``, ``/refunds``, ``/reversals``.
- ``POST /v1/reversals``: reversal by the idempotency key of the authorization request, for a
  terminal that timed out waiting for its answer. A reversal that overtakes its original bars
  the key, so the original is declined when it arrives
  (:meth:`~acquirer.payments.service.AuthorizationService.bar_key`).

Every POST requires ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-key-header); a replayed
answer carries ``Idempotent-Replayed: true``. Errors are problem details (RFC 9457).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from acquirer.auth import TerminalCheck, terminal_for
from acquirer.errors import PaymentNotFoundError
from acquirer.idempotency import IdempotencyKeyHeader, answer_response, idempotency_key
from acquirer.pagination import Cursor, Limit, Page, read_page
from acquirer.payments.lifecycle import PaymentService, payment_json
from acquirer.payments.rows import OperationKind
from acquirer.payments.schemas import (
    PAYMENT_ID_PATTERN,
    REFERENCE_PATTERN,
    AmountBody,
    OperationResponseBody,
    PaymentBody,
    ReversalBody,
    VoidBody,
)
from acquirer.payments.service import AuthorizationService
from acquirer.problems import problem_responses

if TYPE_CHECKING:
    from acquirer.payments.services import PaymentServices

#: The calling terminal, checked for the action of the route (acquirer.auth.terminal_for).
AnyTerminal = Annotated[TerminalCheck, Depends(terminal_for(None))]
PaymentId = Annotated[str, Path(pattern=PAYMENT_ID_PATTERN, description="The authorization id")]
_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503)


def _payments(request: Request) -> PaymentService:
    services: PaymentServices = request.app.state.payments
    return services.payments


Payments = Annotated[PaymentService, Depends(_payments)]


def _authorizations(request: Request) -> AuthorizationService:
    services: PaymentServices = request.app.state.payments
    return services.authorizations


Authorizations = Annotated[AuthorizationService, Depends(_authorizations)]


router = APIRouter(tags=["payments"])


def operate(
    service: PaymentService,
    allowed: TerminalCheck,
    kind: OperationKind,
    payment_id: str,
    key: str,
    terminal_id: str,
    amount: int | None,
) -> Response:
    allowed(terminal_id)
    outcome = service.operate(
        kind,
        terminal_id=terminal_id,
        idempotency_key=idempotency_key(key),
        payment_id=payment_id,
        amount=amount,
    )
    return answer_response(outcome)


@router.get(
    "/v1/payments",
    response_model=Page[PaymentBody],
    responses=problem_responses(401, 403, 422),
)
def list_payments(
    allowed: AnyTerminal,
    terminal_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")],
    service: Payments,
    reference: Annotated[
        str | None, Query(pattern=REFERENCE_PATTERN, description="Only this merchant reference")
    ] = None,
    cursor: Cursor = None,
    limit: Limit = 100,
) -> Response:
    """This terminal's payments in id order, optionally of one reference (cursor pages)."""
    allowed(terminal_id)
    page = read_page(
        lambda after, limit: service.list(terminal_id, reference, after, limit),
        cursor=cursor,
        limit=limit,
        render=payment_json,
        key=lambda payment: payment.id,
    )
    return Response(json.dumps(page, separators=(",", ":")), media_type="application/json")


@router.get(
    "/v1/payments/{payment_id}",
    response_model=PaymentBody,
    responses=problem_responses(401, 403, 404, 422),
)
def get_payment(
    allowed: AnyTerminal,
    payment_id: PaymentId,
    terminal_id: Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")],
    service: Payments,
) -> Response:
    """A payment of this terminal."""
    allowed(terminal_id)
    body: dict[str, Any] = payment_json(service.get(terminal_id, payment_id))
    return Response(json.dumps(body, separators=(",", ":")), media_type="application/json")


@router.post(
    "/v1/payments/{payment_id}/increments",
    response_model=OperationResponseBody,
    responses=_ERRORS,
)
def increment(
    allowed: AnyTerminal,
    payment_id: PaymentId,
    body: AmountBody,
    key: IdempotencyKeyHeader,
    service: Payments,
) -> Response:
    """Incremental authorization: grow a pre-authorization's hold by ``amount``."""
    if body.amount is None:
        raise RequestValidationError(
            [{"loc": ("body", "amount"), "msg": "Field required", "type": "missing"}]
        )
    return operate(
        service, allowed, OperationKind.INCREMENT, payment_id, key, body.terminal_id, body.amount
    )


@router.post(
    "/v1/payments/{payment_id}/capture",
    response_model=OperationResponseBody,
    responses=_ERRORS,
)
def capture(
    allowed: AnyTerminal,
    payment_id: PaymentId,
    body: AmountBody,
    key: IdempotencyKeyHeader,
    service: Payments,
) -> Response:
    """Complete a pre-authorization with the final amount (at most the hold)."""
    return operate(
        service, allowed, OperationKind.CAPTURE, payment_id, key, body.terminal_id, body.amount
    )


@router.post(
    "/v1/payments/{payment_id}/void",
    response_model=OperationResponseBody,
    responses=_ERRORS,
)
def void(
    allowed: AnyTerminal,
    payment_id: PaymentId,
    body: VoidBody,
    key: IdempotencyKeyHeader,
    service: Payments,
) -> Response:
    """Cancel a hold, or a captured payment with no refund yet."""
    return operate(service, allowed, OperationKind.VOID, payment_id, key, body.terminal_id, None)


@router.post(
    "/v1/payments/{payment_id}/refunds",
    response_model=OperationResponseBody,
    responses=_ERRORS,
)
def refund(
    allowed: AnyTerminal,
    payment_id: PaymentId,
    body: AmountBody,
    key: IdempotencyKeyHeader,
    service: Payments,
) -> Response:
    """Return money of a captured payment; never more than captured minus refunded."""
    return operate(
        service, allowed, OperationKind.REFUND, payment_id, key, body.terminal_id, body.amount
    )


@router.post(
    "/v1/payments/{payment_id}/reversals",
    response_model=OperationResponseBody,
    responses=_ERRORS,
)
def reverse(
    allowed: AnyTerminal,
    payment_id: PaymentId,
    body: AmountBody,
    key: IdempotencyKeyHeader,
    service: Payments,
) -> Response:
    """Reverse an authorization in full (no amount) or in part."""
    return operate(
        service, allowed, OperationKind.REVERSAL, payment_id, key, body.terminal_id, body.amount
    )


@router.post("/v1/reversals", response_model=OperationResponseBody, responses=_ERRORS)
def reverse_by_key(
    allowed: AnyTerminal,
    body: ReversalBody,
    key: IdempotencyKeyHeader,
    service: Payments,
    authorizations: Authorizations,
) -> Response:
    """Reverse the authorization a terminal sent under ``original_idempotency_key``."""
    allowed(body.terminal_id)
    try:
        payment_id = service.find_by_key(body.terminal_id, body.original_idempotency_key)
    except PaymentNotFoundError:
        # Nothing approved under the key yet: make sure nothing ever will be.
        original = authorizations.bar_key(body.terminal_id, body.original_idempotency_key)
        if original is None or not original.approved:
            raise
        payment_id = original.id
    return operate(
        service, allowed, OperationKind.REVERSAL, payment_id, key, body.terminal_id, body.amount
    )

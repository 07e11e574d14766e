"""Errors as HTTP problem details (RFC 9457), and the handlers that produce them.

Every error response of the acquirer is ``application/problem+json`` with the members of
RFC 9457 section 3.1 (``type``, ``title``, ``status``, ``detail``) and a stable ``code``
extension member (section 3.2) that clients switch on. ``type`` is a relative reference,
``/problems/<code>``, resolved against the acquirer's base URL (section 3.1.1).

Nothing in a problem echoes the request: validation errors name the field and the rule,
never the value (an ``emv_data`` value holds a token and a cryptogram), and an unexpected
exception is logged with its traceback and answered with a generic 500 that reveals no
internals.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from acquirer.errors import (
    AcquirerError,
    AuthenticationError,
    ConfigurationError,
    IdempotencyKeyInFlightError,
    IdempotencyKeyReusedError,
    RequestError,
    StoreError,
    TerminalForbiddenError,
)
from acquirer.idempotency import KEY_REUSED_MESSAGE
from emvcore.errors import EmvError

log = logging.getLogger("acquirer.http")

#: An error class and the HTTP status its problem response carries.
StatusTable = Mapping[type[AcquirerError], int]

PROBLEM_MEDIA_TYPE = "application/problem+json"

#: Titles of the problem types (RFC 9457 section 3.1.3: the same for every occurrence).
TITLES = {
    "json_invalid": "Malformed JSON",
    "request_invalid": "Request does not match the schema",
    "unsupported_media_type": "Unsupported media type",
    "request_too_large": "Request body too large",
    "idempotency_key_missing": "Idempotency-Key header missing",
    "idempotency_key_invalid": "Idempotency-Key header invalid",
    "idempotency_key_reused": "Idempotency key reused",
    "idempotency_key_in_flight": "Request with this idempotency key in progress",
    "payment_unknown": "No such payment",
    "batch_unknown": "No such settlement batch",
    "rental_unknown": "No such rental",
    "rental_state_conflict": "Not allowed in the rental's state",
    "tariff_missing": "No bike tariff for this operator",
    "deposit_mismatch": "Amount is not the tariff's deposit",
    "debt_unknown": "No such debt",
    "debt_state_conflict": "Not allowed in the debt's state",
    "payment_state_conflict": "Not allowed in the payment's state",
    "amount_exceeded": "Amount exceeds what the payment allows",
    "increment_declined": "Incremental authorization declined",
    "ledger_imbalance": "Ledger imbalance",
    "terminal_unauthenticated": "Client certificate required",
    "terminal_forbidden": "Terminal not allowed",
    "emv_data_invalid": "EMV data invalid",
    "emv_data_incomplete": "EMV data incomplete",
    "sensitive_data_invalid": "Sensitive data unusable",
    "ksn_replayed": "KSN already used",
    "parcel_unknown": "No such parcel",
    "locker_unknown": "No such locker",
    "parcel_currency_mismatch": "Currency differs from the locker's storage fees",
    "no_compartment_free": "No compartment free",
    "parcel_state_conflict": "Not allowed in the parcel's state",
    "amount_due_mismatch": "Amount is not what is due",
    "parcel_not_identified": "No pickup asked for this payment",
    "store_failed": "Database unavailable",
    "internal_error": "Internal error",
}


class FieldProblem(BaseModel):
    """One schema violation: where (``loc``) and which rule (``msg``), never the value."""

    loc: list[str | int]
    msg: str
    type: str


class Problem(BaseModel):
    """A problem details object (RFC 9457 section 3) with the acquirer's ``code``."""

    model_config = ConfigDict(
        json_schema_extra={
            "example": {
                "type": "/problems/idempotency_key_reused",
                "title": "Idempotency key reused",
                "status": 409,
                "detail": KEY_REUSED_MESSAGE,
                "code": "idempotency_key_reused",
            }
        }
    )

    type: str = Field(description="URI reference identifying the problem type")
    title: str = Field(description="Short summary of the problem type")
    status: int = Field(description="HTTP status code")
    detail: str = Field(description="What went wrong with this request")
    code: str = Field(description="Stable machine-readable problem code")
    errors: list[FieldProblem] | None = Field(
        default=None, description="Schema violations, for code request_invalid"
    )


def problem_response(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors: Sequence[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An ``application/problem+json`` response."""
    body: dict[str, Any] = {
        "type": f"/problems/{code}",
        "title": title or TITLES.get(code) or code.replace("_", " ").capitalize(),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = [error.model_dump() for error in errors]
    return Response(
        json.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers
    )


#: The core's errors and their statuses; each domain adds its own table
#: (:attr:`acquirer.domain.Domain.statuses`). An error takes the status of the nearest class
#: in its hierarchy that a table names; one no table names is a 422.
CORE_STATUSES: StatusTable = {
    TerminalForbiddenError: HTTPStatus.FORBIDDEN,
    AuthenticationError: HTTPStatus.UNAUTHORIZED,
    IdempotencyKeyReusedError: HTTPStatus.CONFLICT,
    IdempotencyKeyInFlightError: HTTPStatus.CONFLICT,
    RequestError: HTTPStatus.UNPROCESSABLE_ENTITY,
    StoreError: HTTPStatus.SERVICE_UNAVAILABLE,
    ConfigurationError: HTTPStatus.SERVICE_UNAVAILABLE,
}


def status_of(error: AcquirerError, statuses: StatusTable) -> int:
    """The HTTP status of ``error``: its nearest class in ``statuses``, else 422.

    >>> from acquirer.errors import FundingPanError, TerminalForbiddenError
    >>> status_of(TerminalForbiddenError("x"), CORE_STATUSES)
    403
    >>> status_of(FundingPanError("x"), CORE_STATUSES)
    422
    """
    for cls in type(error).__mro__:
        status = statuses.get(cls)
        if status is not None:
            return int(status)
    return int(HTTPStatus.UNPROCESSABLE_ENTITY)


def _field_problems(exc: RequestValidationError) -> list[FieldProblem]:
    problems = []
    for error in exc.errors():
        loc = [part if isinstance(part, int) else str(part) for part in error.get("loc", ())]
        problems.append(
            FieldProblem(
                loc=loc,
                msg=str(error.get("msg", "invalid")),
                type=str(error.get("type", "value_error")),
            )
        )
    return problems


async def _validation_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = _field_problems(exc)
    if any(p.type == "json_invalid" for p in problems):
        return problem_response(
            HTTPStatus.BAD_REQUEST, "json_invalid", "the request body is not valid JSON"
        )
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type != "application/json" and any(p.loc == ["body"] for p in problems):
        return problem_response(
            HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "the request body must be application/json",
        )
    header = [p for p in problems if p.loc[:1] == ["header"]]
    if header:
        missing = any(p.type == "missing" for p in header)
        # draft-ietf-httpapi-idempotency-key-header section 2.7: a missing key is a 400.
        return problem_response(
            HTTPStatus.BAD_REQUEST,
            "idempotency_key_missing" if missing else "idempotency_key_invalid",
            "the Idempotency-Key header is required"
            if missing
            else "the Idempotency-Key header must be 1-64 characters of A-Z a-z 0-9 . _ : -",
        )
    if problems and all(p.loc[:2] == ["body", "emv_data"] for p in problems):
        return problem_response(
            HTTPStatus.UNPROCESSABLE_ENTITY,
            "emv_data_invalid",
            "emv_data must be an even number of hexadecimal digits, at most 4096 bytes",
            errors=problems,
        )
    return problem_response(
        HTTPStatus.UNPROCESSABLE_ENTITY,
        "request_invalid",
        "the request does not match the schema",
        errors=problems,
    )


async def _http_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    try:
        phrase = HTTPStatus(exc.status_code).phrase
    except ValueError:
        phrase = "Error"
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return problem_response(
        exc.status_code,
        code,
        detail,
        title=phrase,
        headers=dict(exc.headers) if exc.headers else None,
    )


async def _acquirer_handler(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, AcquirerError)
    status = status_of(exc, request.app.state.problem_statuses)
    if status >= 500:
        log.error("%s: %s", exc.__class__.__name__, exc)
        return problem_response(status, exc.code, "the acquirer cannot process requests now")
    return problem_response(status, exc.code, str(exc))


async def _emv_handler(request: Request, exc: Exception) -> Response:
    # emvcore errors are mapped into acquirer errors by the service; one that escapes is
    # still a fault of the data it was given, not of the server.
    log.warning("unmapped emvcore error %s", exc.__class__.__name__)
    return problem_response(HTTPStatus.UNPROCESSABLE_ENTITY, "emv_data_invalid", str(exc))


async def _last_resort_handler(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error handling %s %s", request.method, request.url.path)
    return problem_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        "the acquirer failed to process this request",
    )


async def known_error_response(request: Request, exc: AcquirerError | EmvError) -> Response:
    """The answer the installed handlers give to ``exc``, for routes served outside FastAPI.

    :class:`~acquirer.payments.api.fastpath.AuthorizationFastPath` answers through this, so its problem
    responses are the very ones the FastAPI route produces.
    """
    if isinstance(exc, AcquirerError):
        return await _acquirer_handler(request, exc)
    return await _emv_handler(request, exc)


def install_problem_handlers(app: FastAPI, domain_statuses: Iterable[StatusTable] = ()) -> None:
    """Register the handlers that turn every error into a problem details response.

    ``domain_statuses`` are the domains' error-to-status tables, merged over the core's.
    """
    statuses: dict[type[AcquirerError], int] = dict(CORE_STATUSES)
    for table in domain_statuses:
        statuses.update(table)
    app.state.problem_statuses = statuses
    app.add_exception_handler(RequestValidationError, _validation_handler)
    app.add_exception_handler(StarletteHTTPException, _http_handler)
    app.add_exception_handler(AcquirerError, _acquirer_handler)
    app.add_exception_handler(EmvError, _emv_handler)
    app.add_exception_handler(Exception, _last_resort_handler)
    document_problems_only_as_problem_json(app)


def document_problems_only_as_problem_json(app: FastAPI) -> None:
    """Make the OpenAPI document list error responses as ``application/problem+json`` only.

    FastAPI documents every response ``model`` under the route's JSON media type as well;
    the acquirer never sends a problem as plain ``application/json``, so that entry is
    removed from 4xx/5xx responses when the schema is first built.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[:1] in "45" and PROBLEM_MEDIA_TYPE in content:
                            content.pop("application/json", None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries documenting problem details for ``statuses``."""
    return {
        status: {
            "model": Problem,
            "description": HTTPStatus(status).phrase,
            "content": {PROBLEM_MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for status in statuses
    }

"""The local API's errors as problem details (RFC 9457), the acquirer's conventions.

Every error is ``application/problem+json`` with ``type`` (``/problems/<code>``), ``title``,
``status``, ``detail`` and the stable ``code`` extension member that clients switch on.
Nothing echoes the request; an unexpected exception is logged and answered with a generic
500. The terminal's own small version of :mod:`acquirer.problems` (the two packages do not
import each other).
"""

from __future__ import annotations

import json
import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from terminal.errors import (
    AcquirerRejectedError,
    AcquirerUnavailableError,
    ActionBusyError,
    ActionConflictError,
    ActionKeyReusedError,
    ActionRefusedError,
    DaemonError,
    PrinterError,
    ReaderAbsentError,
    TerminalError,
    UnknownActionError,
)

__all__ = ["PROBLEM_MEDIA_TYPE", "Problem", "install_problem_handlers", "problem_response",
           "problem_responses"]  # fmt: skip

log = logging.getLogger("terminal.daemon.http")
PROBLEM_MEDIA_TYPE = "application/problem+json"


class Problem(BaseModel):
    """A problem details object (RFC 9457 section 3) with a ``code``."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    running_action_id: str | None = Field(default=None, description="For action_in_progress")
    errors: list[dict[str, Any]] | None = None


def problem_response(status: int, code: str, detail: str, *, headers: dict[str, str] | None = None,
                     **extra: Any) -> Response:  # fmt: skip
    body = {"type": f"/problems/{code}", "title": code.replace("_", " ").capitalize(),
            "status": status, "detail": detail, "code": code, **extra}  # fmt: skip
    return Response(json.dumps(body), status_code=status, media_type=PROBLEM_MEDIA_TYPE,
                    headers=headers)  # fmt: skip


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses=`` entries for problem details."""
    return {status: {"model": Problem, "description": HTTPStatus(status).phrase,
                     "content": {PROBLEM_MEDIA_TYPE: {}}} for status in statuses}  # fmt: skip


def _status(exc: DaemonError) -> int:
    if isinstance(exc, ActionBusyError | ActionConflictError):
        return HTTPStatus.CONFLICT
    if isinstance(exc, UnknownActionError):
        return HTTPStatus.NOT_FOUND
    if isinstance(exc, ReaderAbsentError):
        return HTTPStatus.SERVICE_UNAVAILABLE
    if isinstance(exc, ActionKeyReusedError | ActionRefusedError):
        return HTTPStatus.UNPROCESSABLE_ENTITY
    return HTTPStatus.BAD_REQUEST


async def _daemon(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, DaemonError)
    extra: dict[str, Any] = {}
    if isinstance(exc, ActionBusyError):
        extra["running_action_id"] = exc.running
    return problem_response(_status(exc), exc.code, str(exc), **extra)


async def _terminal(request: Request, exc: Exception) -> Response:
    if isinstance(exc, AcquirerUnavailableError):
        return problem_response(HTTPStatus.BAD_GATEWAY, "acquirer_unavailable", str(exc))
    if isinstance(exc, PrinterError):
        return problem_response(HTTPStatus.SERVICE_UNAVAILABLE, "printer_unavailable", str(exc))
    if isinstance(exc, AcquirerRejectedError):
        return problem_response(HTTPStatus.BAD_GATEWAY, "acquirer_rejected", str(exc),
                                acquirer_code=exc.code)  # fmt: skip
    log.error("%s: %s", exc.__class__.__name__, exc)
    return problem_response(HTTPStatus.SERVICE_UNAVAILABLE, "terminal_unavailable",
                            "the terminal cannot process this request now")  # fmt: skip


async def _validation(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [{"loc": [p if isinstance(p, int) else str(p) for p in e.get("loc", ())],
               "msg": str(e.get("msg")), "type": str(e.get("type"))} for e in exc.errors()]  # fmt: skip
    if any(e["type"] == "json_invalid" for e in errors):
        return problem_response(HTTPStatus.BAD_REQUEST, "json_invalid",
                                "the request body is not valid JSON")  # fmt: skip
    key = [e for e in errors if [str(p).lower() for p in e["loc"][:2]] == ["header",
                                                                          "idempotency-key"]]
    if key:
        missing = any(e["type"] == "missing" for e in key)
        return problem_response(
            HTTPStatus.BAD_REQUEST,
            "idempotency_key_missing" if missing else "idempotency_key_invalid",
            "the Idempotency-Key header is required" if missing else
            "the Idempotency-Key header must be 1-64 characters of A-Z a-z 0-9 . _ : -")  # fmt: skip
    return problem_response(HTTPStatus.UNPROCESSABLE_ENTITY, "request_invalid",
                            "the request does not match the schema", errors=errors)  # fmt: skip


async def _http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    code = phrase.lower().replace(" ", "_").replace("-", "_")
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    return problem_response(exc.status_code, code, detail,
                            headers=dict(exc.headers) if exc.headers else None)  # fmt: skip


async def _last_resort(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error handling %s %s", request.method, request.url.path)
    return problem_response(HTTPStatus.INTERNAL_SERVER_ERROR, "internal_error",
                            "the terminal failed to process this request")  # fmt: skip


def install_problem_handlers(app: FastAPI) -> None:
    """Every error becomes a problem details response."""
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(DaemonError, _daemon)
    app.add_exception_handler(TerminalError, _terminal)
    app.add_exception_handler(Exception, _last_resort)

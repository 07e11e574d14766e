"""The local API: FastAPI routes over :class:`~terminal.daemon.service.Daemon`.

=======================================  =========================================================
``POST /v1/actions``                     start an action (``Idempotency-Key`` required): 201
                                         with the action; a repeat of the key 200 with the same
                                         action; 409 ``action_in_progress`` while one runs
``GET  /v1/actions/{id}``                the action and, when completed, its result and receipt
``POST /v1/actions/{id}/cancel``         cancel: the action once its fate is known
``GET  /v1/actions/{id}/receipt``        its receipt as text; ``.../print`` prints it
``GET  /v1/events``                      server-sent events (``Last-Event-ID`` resumes)
``POST /v1/display``                     a message or an amount with lines, while idle
``GET  /v1/transactions``                the journal (``reference``, ``since``, ``until``, pages)
``GET  /v1/totals``                      the day so far; ``POST /v1/batches`` closes it
``GET  /v1/health``                      reader, acquirer, outbox, certificate
=======================================  =========================================================

Every route but the OpenAPI document needs the bearer token (:mod:`.auth`); errors are
problem details (:mod:`.problems`). Handlers are plain functions run in FastAPI's thread
pool; the event stream waits for events in a worker thread.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, FastAPI, Header, Path, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse

from terminal.daemon.auth import BearerToken
from terminal.daemon.problems import install_problem_handlers, problem_responses
from terminal.daemon.receipts import render_text
from terminal.daemon.schemas import ActionBody, ActionRequest, DisplayRequest
from terminal.daemon.service import Daemon

__all__ = ["create_app"]

IdempotencyKey = Annotated[str, Header(alias="Idempotency-Key", pattern=r"^[A-Za-z0-9._:-]{1,64}$")]
ActionId = Annotated[str, Path(pattern=r"^act_[0-9a-f]{32}$")]
#: Seconds an event stream waits before a keep-alive comment.
KEEPALIVE = 15.0
#: Seconds one wait for events lasts before the stream checks that its client is still there.
POLL = 1.0


def create_app(daemon: Daemon, token: str) -> FastAPI:
    """The API app bound to ``daemon``, callers authenticated with ``token``."""
    app = FastAPI(title="Tap terminal local API", version="1",
                  description="Drive the payment terminal from a kiosk app or a script.")  # fmt: skip
    install_problem_handlers(app)
    router = APIRouter(dependencies=[Depends(BearerToken(token))])
    common = problem_responses(400, 401, 422)

    @router.post("/v1/actions", status_code=201, response_model=ActionBody,
                 responses={**common, **problem_responses(409, 503)})  # fmt: skip
    def create_action(body: ActionRequest, key: IdempotencyKey) -> JSONResponse:
        """Start a payment, refund or pre-authorization; answers at once with the action."""
        action, created = daemon.submit(body.model_dump(mode="json"), key)
        headers = None if created else {"Idempotent-Replayed": "true"}
        return JSONResponse(action.to_dict(), status_code=201 if created else 200,
                            headers=headers)  # fmt: skip

    @router.get("/v1/actions/{action_id}", response_model=ActionBody,
                responses=problem_responses(401, 404, 422))  # fmt: skip
    def get_action(action_id: ActionId) -> dict[str, Any]:
        """An action as it stands."""
        return daemon.action(action_id).to_dict()

    @router.post("/v1/actions/{action_id}/cancel", response_model=ActionBody,
                 responses=problem_responses(401, 404, 422))  # fmt: skip
    def cancel_action(action_id: ActionId) -> dict[str, Any]:
        """Cancel: honoured while waiting for a card or before the authorization is sent
        (``cancel_result: cancelled``); afterwards ``too_late``: the payment completes with the
        acquirer's answer (reversed if that answer is lost)."""
        return daemon.cancel(action_id).to_dict()

    @router.get("/v1/actions/{action_id}/receipt", response_class=PlainTextResponse,
                responses={200: {"content": {"text/plain": {}}},
                           **problem_responses(401, 404, 409, 422)})  # fmt: skip
    def receipt_text(action_id: ActionId) -> PlainTextResponse:
        """The receipt of a completed action as text."""
        return PlainTextResponse(render_text(daemon.receipt(action_id)) + "\n")

    @router.post("/v1/actions/{action_id}/print",
                 responses=problem_responses(401, 404, 409, 422, 503))  # fmt: skip
    def print_receipt(action_id: ActionId) -> dict[str, Any]:
        """Print (or reprint) the receipt on the terminal's ESC/POS printer."""
        daemon.print_receipt(action_id)
        return {"printed": True}

    @router.get("/v1/events", response_class=StreamingResponse,
                responses={200: {"content": {"text/event-stream": {}}}, **common})  # fmt: skip
    async def events(
        request: Request,
        last_event_id: Annotated[int | None, Header(alias="Last-Event-ID", ge=0)] = None,
        after: Annotated[int | None, Query(ge=0, description="Like Last-Event-ID")] = None,
    ) -> StreamingResponse:
        """Every action state change, UI request, reader and display change, as SSE."""
        start = last_event_id if last_event_id is not None else after
        if start is None:
            start = daemon.events.last_id()

        async def stream() -> AsyncIterator[str]:
            last, quiet = start, 0.0
            yield "retry: 1000\n\n"
            while not await request.is_disconnected():
                found = await anyio.to_thread.run_sync(daemon.events.wait, last, POLL)
                quiet = 0.0 if found else quiet + POLL
                if quiet >= KEEPALIVE:
                    quiet = 0.0
                    yield ": keep-alive\n\n"
                for event in found:
                    last = max(last, event.id)
                    yield event.sse()

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store"})  # fmt: skip

    @router.post("/v1/display", responses={**common, **problem_responses(409)})
    def display(body: DisplayRequest) -> dict[str, Any]:
        """Show a message, or an amount and its lines, on the customer display while idle."""
        return daemon.display(body.model_dump(mode="json", exclude_none=True))

    @router.get("/v1/transactions", responses=common)
    def transactions(
        reference: Annotated[str | None, Query(max_length=64)] = None,
        since: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}[0-9T:.+Z-]*$")] = None,
        until: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}[0-9T:.+Z-]*$")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """The journal, newest first."""
        return daemon.transactions(reference=reference, since=since, until=until, limit=limit,
                                   offset=offset)  # fmt: skip

    @router.get("/v1/totals", responses=common)
    def totals() -> dict[str, Any]:
        """Sales, refunds and holds since the last batch close, per currency."""
        return daemon.totals()

    @router.post("/v1/batches", responses={**common, **problem_responses(409, 502)})
    def close_batch() -> dict[str, Any]:
        """Close the day at the acquirer; its report beside the terminal's totals."""
        return daemon.close_batch()

    @router.get("/v1/health", responses=problem_responses(401))
    def health() -> dict[str, Any]:
        """Reader present, acquirer reachable, outbox size and money at risk, certificate."""
        return daemon.health()

    app.include_router(router)

    @app.get("/v1/openapi.json", include_in_schema=False)
    def openapi() -> Response:
        return JSONResponse(app.openapi())

    return app

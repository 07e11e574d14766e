"""HTTP routes of checkout sessions (Tap! mode).

The terminal's (checked as any terminal's request, action ``pay``):

- ``POST /v1/checkout/sessions``: create a session (amount, currency, reference), with
  ``Idempotency-Key``; a retry returns the same session.
- ``GET  /v1/checkout/sessions/{id}?terminal_id=&wait=``: the session; with ``wait`` (1-30
  seconds) the answer waits until the session leaves ``created`` or the time is up (long
  polling), so the terminal learns the result as soon as it is decided.
- ``POST /v1/checkout/sessions/{id}/links``: the link for the next tap, with a fresh nonce
  and MAC (changes nothing stored: each call is a new link, ``Cache-Control: no-store``).
- ``POST /v1/checkout/sessions/{id}/cancel``: cancel an unpaid session, with
  ``Idempotency-Key``; the answer says the state the session ended in (``paid`` if a wallet
  won the race).

The wallet's (no client certificate: the link's MAC and the cryptogram authenticate it):

- ``GET  /v1/checkout/link?uri=``: the session a tag's link names, for the customer to see
  (merchant name, amount, currency, state, expiry, session nonce); a forged or malformed
  link is a 403 problem ``checkout_link_refused``.
- ``POST /v1/checkout/payments``: pay it, with ``Idempotency-Key``; refusals are ``200``
  with ``approved: false`` and a stable ``reason`` (:class:`~acquirer.checkout.rows.CheckoutReason`
  and the payments reasons).
"""

from __future__ import annotations

import json
import time
from functools import partial
from typing import Annotated

import anyio.to_thread
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from acquirer.auth import TerminalCheck, terminal_for
from acquirer.checkout.rows import SessionState
from acquirer.checkout.schemas import (
    SESSION_ID_PATTERN,
    LinkBody,
    SessionBody,
    SessionCreateBody,
    TerminalBody,
    WalletPaymentBody,
    WalletPaymentResponse,
    WalletSessionBody,
)
from acquirer.checkout.service import CheckoutService, session_json
from acquirer.idempotency import IdempotencyKeyHeader, answer_response, idempotency_key
from acquirer.problems import problem_responses

PayTerminal = Annotated[TerminalCheck, Depends(terminal_for("pay"))]
SessionId = Annotated[str, Path(pattern=SESSION_ID_PATTERN, description="The session id")]
TerminalQuery = Annotated[str, Query(pattern=r"^[A-Za-z0-9]{1,16}$")]
_POST_ERRORS = problem_responses(400, 401, 403, 404, 409, 413, 415, 422, 503)
_GET_ERRORS = problem_responses(401, 403, 404, 422)
_JSON = "application/json"
#: Longest long poll, in seconds.
MAX_WAIT = 30
#: A waiter re-reads its session at least this often (changes made by other processes).
_POLL_SLICE = 0.25


def _service(request: Request) -> CheckoutService:
    service: CheckoutService = request.app.state.checkout
    return service


Checkout = Annotated[CheckoutService, Depends(_service)]

#: The checkout routes.
router = APIRouter()
post = partial(router.post, responses=_POST_ERRORS, tags=["checkout"])
get = partial(router.get, responses=_GET_ERRORS, tags=["checkout"])


def _body(body: object, *, replayed: bool = False, no_store: bool = False) -> Response:
    headers = {}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    if no_store:
        headers["Cache-Control"] = "no-store"
    return Response(json.dumps(body, separators=(",", ":")), media_type=_JSON, headers=headers)


@post("/v1/checkout/sessions", response_model=SessionBody)
def create_session(
    allowed: PayTerminal, checkout: Checkout, body: SessionCreateBody, key: IdempotencyKeyHeader
) -> Response:
    """A session for the terminal's merchant, payable for a few minutes."""
    allowed(body.terminal_id)
    session, created = checkout.create(
        body.terminal_id, idempotency_key(key), body.amount, body.currency, body.reference
    )
    return _body(session_json(session), replayed=not created)


@get("/v1/checkout/sessions/{session_id}", response_model=SessionBody)
async def get_session(
    allowed: PayTerminal,
    checkout: Checkout,
    session_id: SessionId,
    terminal_id: TerminalQuery,
    wait: Annotated[int, Query(ge=0, le=MAX_WAIT)] = 0,
) -> Response:
    """The session; with ``wait``, once it left ``created`` or after ``wait`` seconds."""
    await anyio.to_thread.run_sync(allowed, terminal_id)
    deadline = time.monotonic() + wait
    while True:
        seen = checkout.events.version
        session = await anyio.to_thread.run_sync(checkout.session_for, session_id, terminal_id)
        remaining = deadline - time.monotonic()
        if session.state is not SessionState.CREATED or remaining <= 0:
            return _body(session_json(session))
        await anyio.to_thread.run_sync(checkout.events.wait, seen, min(remaining, _POLL_SLICE))


@post("/v1/checkout/sessions/{session_id}/links", response_model=LinkBody)
def new_link(
    allowed: PayTerminal, checkout: Checkout, session_id: SessionId, body: TerminalBody
) -> Response:
    """The link to present at the next tap (fresh nonce); 404 once the session is closed."""
    allowed(body.terminal_id)
    link = checkout.link(session_id, body.terminal_id)
    return _body({"session_id": session_id, "uri": link.uri}, no_store=True)


@post("/v1/checkout/sessions/{session_id}/cancel", response_model=SessionBody)
def cancel_session(
    allowed: PayTerminal,
    checkout: Checkout,
    session_id: SessionId,
    body: TerminalBody,
    key: IdempotencyKeyHeader,
) -> Response:
    """Cancel an unpaid session; the answer's ``state`` is how it ended."""
    allowed(body.terminal_id)
    idempotency_key(key)
    return _body(session_json(checkout.cancel(session_id, body.terminal_id)))


@get("/v1/checkout/link", response_model=WalletSessionBody)
def wallet_session(checkout: Checkout, uri: Annotated[str, Query(max_length=512)]) -> Response:
    """The session a tag link names, as the wallet shows it (after the link's MAC)."""
    return _body(checkout.wallet_view(uri), no_store=True)


@post("/v1/checkout/payments", response_model=WalletPaymentResponse)
def pay_session(checkout: Checkout, body: WalletPaymentBody, key: IdempotencyKeyHeader) -> Response:
    """A wallet pays a session with its token and cryptogram (module docstring)."""
    answer = checkout.pay(
        body.link, body.session_id, idempotency_key(key), bytes.fromhex(body.emv_data)
    )
    return answer_response(answer)

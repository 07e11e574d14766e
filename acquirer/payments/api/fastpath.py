"""A fast path for ``POST /v1/authorizations``: the hot route without FastAPI's machinery.

Profiling the acquirer under load showed FastAPI/Starlette's per-request work (dependency
resolution, request object, body parsing and validation plumbing, exception middleware)
costing more CPU than the authorization itself. :class:`AuthorizationFastPath` is a pure
ASGI middleware that answers a *well-formed* authorization request directly:

- the route is exactly ``POST /v1/authorizations``;
- exactly one ``Content-Type`` header, exactly ``application/json``;
- exactly one ``Idempotency-Key`` header, acceptable to
  :func:`~acquirer.idempotency.parse_idempotency_key`;
- a body that :func:`json.loads` decodes to an object which
  :class:`~acquirer.payments.schemas.AuthorizationRequestBody` validates (in Python mode, as FastAPI
  validates a decoded JSON body).

It then awaits the same ``handle`` coroutine as the FastAPI route (terminal authentication,
service call, response) and sends the same
:class:`~starlette.responses.Response`, so the bytes on the wire are those of the FastAPI
route. Errors raised by ``handle`` are answered by the same problem handlers FastAPI would
use (:func:`~acquirer.problems.known_error_response`); anything else propagates to
Starlette's server-error middleware exactly as from the route.

Every request that is *not* well formed (a bad header, bad JSON, a schema violation, any
other route) falls through untouched to FastAPI, with its body replayed, so every error
answer keeps coming from one place. The FastAPI route stays registered: it documents the
operation in OpenAPI and serves those fall-through requests.

The middleware must sit inside :class:`~acquirer.bodylimit.BodySizeLimit`, which has already
enforced the body limit and buffered the body into a single message.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable

from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acquirer.errors import AcquirerError
from acquirer.idempotency import parse_idempotency_key
from acquirer.payments.schemas import AuthorizationRequestBody
from acquirer.problems import known_error_response
from emvcore.errors import EmvError

#: The route served here; every other one goes to FastAPI.
PATH = "/v1/authorizations"

#: ``handle(request, body, idempotency_key)``: the route's own logic.
Handler = Callable[[Request, AuthorizationRequestBody, str], Awaitable[Response]]


class AuthorizationFastPath:
    """ASGI middleware answering well-formed ``POST /v1/authorizations`` requests itself."""

    def __init__(self, app: ASGIApp, handle: Handler) -> None:
        self.app = app
        self.handle = handle

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the request if it is a well-formed authorization, else pass it on."""
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != PATH:
            await self.app(scope, receive, send)
            return
        content_types: list[bytes] = []
        keys: list[bytes] = []
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_types.append(value)
            elif name == b"idempotency-key":
                keys.append(value)
        message = await receive()
        replay = _Replay(message, receive)
        if (
            content_types != [b"application/json"]
            or len(keys) != 1
            or message["type"] != "http.request"
            or message.get("more_body", False)
        ):
            await self.app(scope, replay, send)
            return
        key = parse_idempotency_key(keys[0].decode("latin-1"))
        body = _validated(message.get("body", b""))
        if key is None or body is None:
            await self.app(scope, replay, send)
            return
        request = Request(scope, replay)
        try:
            response = await self.handle(request, body, key)
        except (AcquirerError, EmvError) as exc:
            response = await known_error_response(request, exc)
        await response(scope, replay, send)


def _validated(raw: bytes) -> AuthorizationRequestBody | None:
    """The request body if it is a JSON object the schema accepts, else ``None``."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):  # bad JSON or UTF-8, absurd nesting: FastAPI answers
        return None
    if not isinstance(data, dict):
        return None
    try:
        return AuthorizationRequestBody.model_validate(data)
    except ValidationError:
        return None


class _Replay:
    """A ``receive`` that yields the already-read first message once, then the real one."""

    def __init__(self, first: Message, receive: Receive) -> None:
        self._first: Message | None = first
        self._receive = receive

    async def __call__(self) -> Message:
        first, self._first = self._first, None
        if first is not None:
            return first
        return await self._receive()

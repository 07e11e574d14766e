"""A request body size limit, enforced before the body reaches JSON parsing.

An authorization request is small (its EMV data is at most 4096 bytes, 8192 hex digits), so
the acquirer refuses anything larger than :data:`MAX_BODY_BYTES` with ``413 Content Too Large``
(RFC 9110 section 15.5.14), as a problem details body. The declared ``Content-Length`` is
checked first; a body sent without one (chunked) is counted as it arrives, and reading stops
at the limit, so an oversize body never sits in memory.

A body must also arrive in time: one that is not complete :data:`BODY_TIMEOUT` seconds after
the request head (or the server's ``--body-timeout``, handed over in the connection's state
under :data:`BODY_TIMEOUT_STATE`) is answered ``408 Request Timeout`` (RFC 9110 section
15.5.9) and the connection closed, so a half-sent body cannot hold a connection open.
"""

from __future__ import annotations

import asyncio
from http import HTTPStatus

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from acquirer.problems import problem_response

#: Largest request body accepted, in bytes: 8192 hex digits of EMV data plus the JSON around them.
MAX_BODY_BYTES = 16 * 1024
#: Seconds a request body may take to arrive in full, unless the server hands another deadline.
BODY_TIMEOUT = 10.0
#: Key of the server's body deadline (seconds) in a request's ``scope["state"]``.
BODY_TIMEOUT_STATE = "tap.body_timeout"


class BodySizeLimit:
    """ASGI middleware answering 413 to request bodies over ``max_bytes``."""

    def __init__(
        self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES, timeout: float = BODY_TIMEOUT
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Buffer the (small) body within the limit, then hand it to the app."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await self._reject(
                    scope,
                    receive,
                    send,
                    HTTPStatus.BAD_REQUEST,
                    "bad_request",
                    "the Content-Length header is not a number",
                )
                return
            if int(declared) > self.max_bytes:
                await self._too_large(scope, receive, send)
                return
        state = scope.get("state") or {}
        timeout = float(state.get(BODY_TIMEOUT_STATE, self.timeout))
        chunks: list[bytes] = []
        size = 0
        try:
            async with asyncio.timeout(timeout):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":
                        return  # the client went away before sending its body: nobody to answer
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > self.max_bytes:
                        await self._too_large(scope, receive, send)
                        return
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            await self._reject(
                scope,
                receive,
                send,
                HTTPStatus.REQUEST_TIMEOUT,
                "request_timeout",
                f"the request body did not arrive within {timeout:g} seconds",
            )
            return
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._reject(
            scope,
            receive,
            send,
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "request_too_large",
            f"the request body must not exceed {self.max_bytes} bytes",
        )

    async def _reject(
        self, scope: Scope, receive: Receive, send: Send, status: int, code: str, detail: str
    ) -> None:
        response = problem_response(status, code, detail, headers={"Connection": "close"})
        await response(scope, receive, send)

"""Bearer tokens for the local API (RFC 6750), compared in constant time."""

from __future__ import annotations

import hmac

from fastapi import Request
from starlette.exceptions import HTTPException

__all__ = ["BearerToken"]


class BearerToken:
    """A FastAPI dependency accepting only ``Authorization: Bearer <token>``."""

    def __init__(self, token: str) -> None:
        self._token = token.encode()

    def __call__(self, request: Request) -> None:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        # compare_digest takes as long for any wrong token of a length (no timing oracle).
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(),
                                                                 self._token):  # fmt: skip
            raise HTTPException(401, "a valid bearer token is required",
                                headers={"WWW-Authenticate": 'Bearer realm="tap-terminal"'})

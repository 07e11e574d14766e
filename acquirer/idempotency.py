"""Idempotency, written once: the key header, the request hash, replay or refuse, in flight.

Every state-changing request carries an ``Idempotency-Key`` (draft-ietf-httpapi-idempotency-
key-header): authorizations, payment operations, bike requests, parcel operations and
settlement. Section 2.6 of the draft distinguishes three cases for a request whose key is
known, and each domain handles them with this module:

- the same request already answered: the stored answer is returned byte for byte
  (:func:`replay`, a :class:`StoredAnswer` with ``replayed`` set; the HTTP layer adds
  ``Idempotent-Replayed: true``, :func:`answer_response`);
- a different request under the same key: refused with
  :class:`~acquirer.errors.IdempotencyKeyReusedError` (:func:`key_reused`, one message);
  "the same" is decided by the :func:`request_hash` of the request's canonical form;
- the first request *still being processed*: ``409 Conflict`` so the client retries later
  instead of waiting or duplicating (:class:`InFlight`).

The first two are decided by the database (unique constraints on (terminal, key)). The third
is per process: :class:`InFlight` remembers the keys whose request is running in this
process. Across processes nothing can be posted twice either way: a concurrent request on
another process waits on the database's unique index and then replays the stored answer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import Header
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from acquirer.errors import IdempotencyKeyInFlightError, IdempotencyKeyReusedError

#: draft-ietf-httpapi-idempotency-key-header section 2: the key is a client-chosen string;
#: this service accepts 1-64 characters of a URL- and log-safe alphabet.
IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9._:-]{1,64}")

#: The one message of a key reused for a different request (never echoes the request).
KEY_REUSED_MESSAGE = (
    "this idempotency key was already used by this terminal for a different request"
)

#: The ``Idempotency-Key`` header parameter of every state-changing route.
IdempotencyKeyHeader = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        description="Client-chosen key, 1-64 of A-Z a-z 0-9 . _ : - (may be quoted); "
        "repeating it returns the first answer",
    ),
]


def parse_idempotency_key(value: str) -> str | None:
    """The key in an ``Idempotency-Key`` header value, or ``None`` if it is not acceptable.

    The draft (section 2.1) defines the field as a Structured Field String (RFC 8941),
    i.e. in double quotes; a bare token is accepted too, as most clients send one.

    >>> parse_idempotency_key('"a1b2-c3"'), parse_idempotency_key("a1b2-c3")
    ('a1b2-c3', 'a1b2-c3')
    >>> parse_idempotency_key("a b") is None
    True
    """
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1]
    return value if IDEMPOTENCY_KEY.fullmatch(value) else None


def idempotency_key(value: str) -> str:
    """The parsed header value, or a validation error naming the header."""
    key = parse_idempotency_key(value)
    if key is None:
        raise RequestValidationError(
            [
                {
                    "loc": ("header", "Idempotency-Key"),
                    "msg": "invalid idempotency key",
                    "type": "value_error",
                }
            ]
        )
    return key


def request_hash(fields: Mapping[str, object], *, key: bytes | None = None) -> str:
    """The hex digest of a request's canonical JSON (sorted keys, no spaces).

    SHA-256; HMAC-SHA-256 under ``key`` for a request that may hold a secret (a pickup code),
    so the stored digest cannot be searched for one.

    >>> request_hash({"b": 1, "a": "x"}) == request_hash({"a": "x", "b": 1})
    True
    >>> request_hash({"a": 1})[:16]
    '015abd7f5cc57a2d'
    """
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":")).encode()
    if key is None:
        return hashlib.sha256(canonical).hexdigest()
    return hmac.new(key, canonical, hashlib.sha256).hexdigest()


def key_reused() -> IdempotencyKeyReusedError:
    """The error for a key sent again with a different request (one message everywhere)."""
    return IdempotencyKeyReusedError(KEY_REUSED_MESSAGE)


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    """A response body as stored with its key, and whether this request replays it."""

    response_json: str
    replayed: bool


def check_same_request(stored_hash: str, hash_of_request: str) -> None:
    """Refuse (:func:`key_reused`) unless the stored request is this one."""
    if stored_hash != hash_of_request:
        raise key_reused()


def replay(
    stored_hash: str, hash_of_request: str, response_json: str, *, replayed: bool = True
) -> StoredAnswer:
    """The stored answer if the hashes match, else :class:`IdempotencyKeyReusedError`.

    >>> replay("h1", "h1", "{}")
    StoredAnswer(response_json='{}', replayed=True)
    >>> try:
    ...     replay("h1", "h2", "{}")
    ... except IdempotencyKeyReusedError as exc:
    ...     print(exc.code)
    idempotency_key_reused
    """
    check_same_request(stored_hash, hash_of_request)
    return StoredAnswer(response_json, replayed)


class Answer(Protocol):
    """What an idempotent request returns: a body, and whether it is a stored one replayed."""

    @property
    def response_json(self) -> str: ...

    @property
    def replayed(self) -> bool: ...


def answer_response(answer: Answer) -> Response:
    """The HTTP answer: the stored JSON, with ``Idempotent-Replayed: true`` on a replay."""
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return Response(answer.response_json, media_type="application/json", headers=headers)


class InFlight:
    """The (scope, terminal, key) triples whose request is being processed now.

    >>> flight = InFlight()
    >>> with flight.claim("authorization", "T1", "k1"):
    ...     try:
    ...         with flight.claim("authorization", "T1", "k1"):
    ...             pass
    ...     except IdempotencyKeyInFlightError as exc:
    ...         print(exc.code)
    idempotency_key_in_flight
    >>> with flight.claim("authorization", "T1", "k1"):
    ...     pass
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._keys: set[tuple[str, str, str]] = set()

    def holds(self, scope: str, terminal_id: str, key: str) -> bool:
        """Whether a request under (scope, terminal, key) is being processed in this process."""
        with self._lock:
            return (scope, terminal_id, key) in self._keys

    @contextmanager
    def claim(self, scope: str, terminal_id: str, key: str) -> Iterator[None]:
        """Hold the key while the request runs; refuse a second holder."""
        entry = (scope, terminal_id, key)
        with self._lock:
            if entry in self._keys:
                raise IdempotencyKeyInFlightError(
                    "a request with this idempotency key is still being processed; retry later"
                )
            self._keys.add(entry)
        try:
            yield
        finally:
            with self._lock:
                self._keys.discard(entry)

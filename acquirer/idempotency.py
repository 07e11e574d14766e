"""Idempotency keys in flight: a retry that arrives while the first request runs gets 409.

draft-ietf-httpapi-idempotency-key-header section 2.6 distinguishes three cases for a
request whose key is known: the same request already answered (return the stored answer),
a different request (refused, 422/409), and the first request *still being processed*,
answered ``409 Conflict`` so the client retries later instead of waiting or duplicating.

The first two are decided by the database (unique constraints, see :mod:`acquirer.store`).
The third is per process: :class:`InFlight` remembers the keys whose request is running in
this process. Across processes nothing can be posted twice either way: a concurrent request
on another process waits on the database's unique index and then replays the stored answer.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from acquirer.errors import IdempotencyKeyInFlightError


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

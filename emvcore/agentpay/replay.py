"""Replay caches: a nonce seen within its window is refused.

Agents put a fresh nonce in every payment binding and every signed HTTP request. Each is
valid only for a bounded window (``created``/``iat`` within ``MAX_AGE`` and the clock skew),
so a verifier need remember a nonce only until that window closes; after it, the time check
refuses the message anyway. :class:`ReplayCache` is that memory: ``first_use`` records a
nonce and says whether it was new, atomically, so two concurrent copies of one message
cannot both pass. The acquirer implements it on its database (a unique key on
``(scope, nonce)`` with ``ON CONFLICT DO NOTHING``); :class:`MemoryReplayCache` is for tests
and for a single process.
"""

from __future__ import annotations

import heapq
import threading
from typing import Protocol


class ReplayCache(Protocol):
    """Remembers nonces until their window closes."""

    def first_use(self, scope: str, nonce: str, *, expires_at: int, now: int) -> bool:
        """Record ``nonce`` in ``scope`` until ``expires_at``; ``False`` if already recorded.

        ``scope`` separates nonce spaces (for instance one per agent key and message kind),
        so one agent cannot burn another's nonces.
        """
        ...


class MemoryReplayCache:
    """An in-memory :class:`ReplayCache`, thread-safe, forgetting nonces whose window closed.

    >>> cache = MemoryReplayCache()
    >>> cache.first_use("agent:k1", "n-1", expires_at=100, now=0)
    True
    >>> cache.first_use("agent:k1", "n-1", expires_at=100, now=50)
    False
    >>> cache.first_use("agent:k2", "n-1", expires_at=100, now=50)
    True
    >>> cache.first_use("agent:k1", "n-1", expires_at=300, now=101)  # window closed: forgotten
    True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[tuple[str, str], int] = {}
        self._expiry: list[tuple[int, str, str]] = []

    def __len__(self) -> int:
        with self._lock:
            return len(self._seen)

    def first_use(self, scope: str, nonce: str, *, expires_at: int, now: int) -> bool:
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                when, s, n = heapq.heappop(self._expiry)
                if self._seen.get((s, n)) == when:
                    del self._seen[(s, n)]
            if (scope, nonce) in self._seen:
                return False
            self._seen[(scope, nonce)] = expires_at
            heapq.heappush(self._expiry, (expires_at, scope, nonce))
            return True

"""The HTTP protocol that enforces :class:`~acquirer.serving.limits.ServerLimits` per connection.

uvicorn keeps every open HTTP connection of a worker in ``server_state.connections``; this
protocol adds to each the time it opened and how many requests it has been answered, and:

- at ``connection_made``, keeps the budget: beyond ``fresh_limit`` open connections it closes
  the oldest one that was never served and has no request in progress; beyond
  ``max_connections`` with none to close, it closes the new one;
- a reaper task (one per worker, started by the first connection) closes, twice a second,
  connections that have waited longer than ``header_timeout`` for a complete request head;
- the body deadline is handed to the body-limit middleware through the connection's state.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from acquirer.auth import PeerCertificateProtocol
from acquirer.bodylimit import BODY_TIMEOUT_STATE
from acquirer.serving.limits import ServerLimits, logger

#: Seconds between two rounds of the reaper.
REAP_INTERVAL = 0.5


class Counters:
    """Per-process connection counters, logged when the worker stops (the workers' spread)."""

    accepted = 0
    evicted = 0
    refused = 0
    timed_out = 0


class GuardedProtocol(PeerCertificateProtocol):
    """uvicorn's HTTP protocol (with the TLS peer certificate) under the server's limits."""

    def __init__(self, config: Any, server_state: Any, app_state: Any, _loop: Any = None) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.limits: ServerLimits = getattr(config, "limits", None) or ServerLimits()
        self.server_state = server_state
        self.opened = time.monotonic()
        self.served = 0
        self._waiting_since = self.opened
        self._seen_cycle: object = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Register the connection within the budget; hand the body deadline to the app."""
        super().connection_made(transport)
        self.app_state = {**self.app_state, BODY_TIMEOUT_STATE: self.limits.body_timeout}
        Counters.accepted += 1
        _ensure_reaper(self.server_state)
        open_count = len(self.connections)
        if open_count <= self.limits.fresh_limit:
            return
        victim = min(
            (c for c in self.connections if c is not self and _evictable(c)),
            key=lambda c: c.opened,
            default=None,
        )
        if victim is not None:
            Counters.evicted += 1
            victim.transport.close()
        elif open_count > self.limits.max_connections:
            Counters.refused += 1
            transport.close()

    def on_response_complete(self) -> None:
        """Count the answer: a served connection keeps its place in a flood."""
        self.served += 1
        super().on_response_complete()

    def reap(self, now: float) -> None:
        """Close the connection if it has waited for a request head beyond ``header_timeout``."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            self._seen_cycle = cycle  # a request in progress: its body has its own deadline
            return
        if cycle is not self._seen_cycle:  # a request completed since the last round
            self._seen_cycle = cycle
            self._waiting_since = now
            return
        if now - self._waiting_since > self.limits.header_timeout:
            Counters.timed_out += 1
            self.transport.close()


def _evictable(connection: Any) -> bool:
    return (
        isinstance(connection, GuardedProtocol)
        and connection.served == 0
        and connection.cycle is None
        and not connection.transport.is_closing()
    )


_reapers: dict[int, asyncio.Task[None]] = {}


def _ensure_reaper(server_state: Any) -> None:
    key = id(server_state)
    task = _reapers.get(key)
    if task is None or task.done():
        _reapers[key] = asyncio.get_running_loop().create_task(_reap(server_state))


async def _reap(server_state: Any) -> None:
    while True:
        await asyncio.sleep(REAP_INTERVAL)
        now = time.monotonic()
        for connection in list(server_state.connections):
            if isinstance(connection, GuardedProtocol) and not connection.transport.is_closing():
                connection.reap(now)


def stop_reaper(server_state: Any) -> None:
    """Cancel the worker's reaper (at shutdown) and log the connection counters."""
    task = _reapers.pop(id(server_state), None)
    if task is not None:
        task.cancel()
    logger.info(
        "worker connections: accepted=%d evicted=%d refused=%d timed_out=%d",
        Counters.accepted,
        Counters.evicted,
        Counters.refused,
        Counters.timed_out,
    )

"""The server's limits against connection exhaustion (issue 17, defect 2), and the file limit.

A connection that never speaks must not hold a place for long, and many of them must not lock
registered terminals out:

- ``handshake_timeout``: a TLS connection that has not completed its handshake (a client that
  never sends its ClientHello) is closed after this many seconds (asyncio's default is 60).
- ``header_timeout``: a connection that has not sent a complete request head this long after
  it opened (or after its last response) is closed: idle and half-header connections.
- ``body_timeout``: a request whose body has not arrived in full this long after its head is
  answered ``408 Request Timeout`` and closed (the body-limit middleware's deadline).
- ``max_connections``: open HTTP connections per worker process. Beyond three quarters of it
  (:attr:`ServerLimits.fresh_limit`), each new connection closes the oldest connection that
  has neither completed a request nor has one in progress, so a flood of silent connections
  recycles its own places while connections that have been served (terminals that paid) keep
  theirs; at ``max_connections`` with nothing to evict, the new connection is closed.

TLS connections still in their handshake are not HTTP connections yet (asyncio hands them to
the protocol only once the handshake is done, and under ``--tls`` that means a certificate of
the acquirer's CA); they are bounded by ``handshake_timeout`` and by the open-file limit, which
:func:`raise_open_files` lifts at start-up to ``max_connections`` plus :data:`SPARE_FILES`.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass

from acquirer.errors import ConfigurationError

#: Open files kept beyond ``max_connections`` in each process: TLS handshakes in progress, the
#: database, logs, the listening socket.
SPARE_FILES = 1024

#: The defaults of :class:`ServerLimits` (also the ``serve`` options' defaults).
HANDSHAKE_TIMEOUT = 10.0
HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 10.0
MAX_CONNECTIONS = 4096

logger = logging.getLogger("uvicorn.error")


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Timeouts (seconds) and the connection budget of one worker process.

    >>> ServerLimits(max_connections=800).fresh_limit
    600
    >>> ServerLimits().open_files_wanted
    5120
    """

    handshake_timeout: float = HANDSHAKE_TIMEOUT
    header_timeout: float = HEADER_TIMEOUT
    body_timeout: float = BODY_TIMEOUT
    max_connections: int = MAX_CONNECTIONS

    def __post_init__(self) -> None:
        for name in ("handshake_timeout", "header_timeout", "body_timeout"):
            if not 0 < getattr(self, name) <= 300:
                raise ConfigurationError(f"{name.replace('_', ' ')} must be within (0, 300] s")
        if self.max_connections < 16:
            raise ConfigurationError("max connections must be at least 16")

    @property
    def fresh_limit(self) -> int:
        """Open connections beyond which a new one evicts the oldest never-served idle one."""
        return self.max_connections * 3 // 4

    @property
    def open_files_wanted(self) -> int:
        """The soft RLIMIT_NOFILE each process needs for ``max_connections``."""
        return self.max_connections + SPARE_FILES


def raise_open_files(limits: ServerLimits) -> int:
    """Lift the soft open-file limit (inherited by worker processes) to what ``limits`` needs.

    Logs one line saying what was done; returns the soft limit in force afterwards. When the
    hard limit is lower than needed, the soft limit goes up to it and the line says how many
    connections fit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = limits.open_files_wanted
    if hard != resource.RLIM_INFINITY:
        wanted = min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
        logger.info(
            "open-file limit raised from %d to %d (up to %d connections per worker)",
            soft,
            wanted,
            limits.max_connections,
        )
        soft = wanted
    if soft != resource.RLIM_INFINITY and soft < limits.open_files_wanted:
        logger.warning(
            "open-file hard limit is %d: fewer than the %d connections per worker configured "
            "fit (raise LimitNOFILE / ulimit -Hn)",
            hard,
            limits.max_connections,
        )
    return int(soft)

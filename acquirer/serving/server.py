"""The uvicorn server under :class:`~acquirer.serving.limits.ServerLimits`, and its workers.

:class:`HardenedServer` passes ``ssl_handshake_timeout`` to the event loop's ``create_server``
(uvicorn has no option for it), runs :class:`~acquirer.serving.protocol.GuardedProtocol`, and
logs the worker's connection counters when it stops.

``serve --workers N`` runs :class:`ReusePortWorkers`: N listening sockets bound to one port with
``SO_REUSEPORT``, one per worker process, so the kernel spreads new connections across the
workers by a hash of the connection's addresses. With one shared socket (uvicorn's own
supervisor) the workers race in ``accept`` and one process can take every connection.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import uvicorn
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from acquirer.serving.limits import ServerLimits, logger
from acquirer.serving.protocol import GuardedProtocol, stop_reaper


class HardenedConfig(uvicorn.Config):
    """uvicorn's configuration carrying the :class:`ServerLimits` (pickled into workers)."""

    def __init__(self, app: Any, *, limits: ServerLimits, **kwargs: Any) -> None:
        kwargs.setdefault("http", GuardedProtocol)
        kwargs.setdefault("timeout_keep_alive", min(5.0, limits.header_timeout))
        super().__init__(app, **kwargs)
        self.limits = limits


class HardenedServer(uvicorn.Server):
    """A uvicorn server with a TLS handshake timeout and the connection limits."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Start listening; TLS handshakes are bounded by ``handshake_timeout``."""
        loop: Any = asyncio.get_running_loop()
        limits: ServerLimits = getattr(self.config, "limits", None) or ServerLimits()
        create_server = loop.create_server

        async def bounded_create_server(*args: Any, **kwargs: Any) -> Any:
            if kwargs.get("ssl") is not None:
                kwargs.setdefault("ssl_handshake_timeout", limits.handshake_timeout)
            return await create_server(*args, **kwargs)

        loop.create_server = bounded_create_server
        try:
            await super().startup(sockets)
        finally:
            del loop.create_server

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop; log this worker's connection counters (the spread across workers)."""
        stop_reaper(self.server_state)
        await super().shutdown(sockets)


def bind_reuseport(host: str, port: int, count: int, backlog: int = 2048) -> list[socket.socket]:
    """``count`` listening TCP sockets on one address, each with ``SO_REUSEPORT``.

    Port 0 picks a free port for the first socket; the others join it.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(family, socket.SOCK_STREAM)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            sock.bind((host, port))
            port = sock.getsockname()[1]
            sock.listen(backlog)
            sock.set_inheritable(True)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


class _WorkerProcess(Process):
    """uvicorn's worker process, running a :class:`HardenedServer`."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = HardenedServer(config=self.config)
        return self._server


class ReusePortWorkers(Multiprocess):
    """uvicorn's supervisor with one ``SO_REUSEPORT`` socket per worker (see module docstring).

    A worker that dies is replaced on the same socket; changing the number of workers at run
    time (SIGTTIN/SIGTTOU) is not offered, as each worker needs a socket of its own.
    """

    def __init__(self, config: uvicorn.Config, sockets: list[socket.socket]) -> None:
        super().__init__(config, sockets)
        self.processes_num = len(sockets)

    def _spawn(self, index: int) -> Process:
        process = _WorkerProcess(self.config, [self.sockets[index]])
        process.start()
        return process

    def init_processes(self) -> None:
        """One worker per socket."""
        self.processes = [self._spawn(index) for index in range(len(self.sockets))]

    def restart_all(self) -> None:
        """SIGHUP: replace each worker on its own socket."""
        for index, old in enumerate(self.processes):
            if self.should_exit.is_set():
                return
            old.terminate()
            old.join()
            self.processes[index] = self._spawn(index)

    def keep_subprocess_alive(self) -> None:
        """Replace a dead or hung worker on its socket (uvicorn's rule, slot by slot)."""
        if self.should_exit.is_set():
            return
        for index, process in enumerate(self.processes):
            if process.is_alive(timeout=self.config.timeout_worker_healthcheck):
                continue
            process.kill()
            process.join()
            if self.should_exit.is_set():
                return
            logger.info("worker process [%s] died; starting another", process.pid)
            self.processes[index] = self._spawn(index)

    def handle_ttin(self) -> None:
        """Not offered: each worker needs its own socket."""
        logger.info("SIGTTIN ignored: the number of workers is fixed at start (--workers)")

    def handle_ttou(self) -> None:
        """Not offered: each worker needs its own socket."""
        logger.info("SIGTTOU ignored: the number of workers is fixed at start (--workers)")

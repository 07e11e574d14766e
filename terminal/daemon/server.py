"""Serving the local API with uvicorn: TCP on loopback by default, or a private Unix socket."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn
from fastapi import FastAPI

__all__ = ["bind", "serve_in_thread"]


def bind(listen: str, port: int, unix: Path | None) -> socket.socket:
    """The listening socket: ``unix`` (mode 0600, created anew) or ``listen``:``port``."""
    if unix is not None:
        unix.parent.mkdir(parents=True, exist_ok=True)
        unix.unlink(missing_ok=True)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        old = os.umask(0o177)
        try:
            sock.bind(str(unix))
        finally:
            os.umask(old)
    else:
        family = socket.AF_INET6 if ":" in listen else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((listen, port))
    sock.listen(64)
    return sock


def server(app: FastAPI) -> uvicorn.Server:
    """A uvicorn server for ``app`` (no access log: it would show references and amounts)."""
    config = uvicorn.Config(app, log_level="warning", access_log=False,
                            timeout_graceful_shutdown=2, lifespan="off")  # fmt: skip
    return uvicorn.Server(config)


@contextmanager
def serve_in_thread(app: FastAPI, sock: socket.socket) -> Iterator[uvicorn.Server]:
    """Serve ``app`` on ``sock`` in a thread (tests, and the console later); stop on exit."""
    srv = server(app)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not srv.started and thread.is_alive():
            threading.Event().wait(0.01)
        yield srv
    finally:
        srv.should_exit = True
        thread.join(timeout=10)
        sock.close()

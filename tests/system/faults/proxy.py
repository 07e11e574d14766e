"""A fault-injecting HTTP/1.1 loopback proxy between the terminal and the acquirer.

It runs an asyncio server on its own thread and understands just enough HTTP/1.1 (a request
line, headers, a ``Content-Length`` body; a response with ``Content-Length`` or chunked) to
know where one exchange ends, so a fault hits exactly the requests whose path starts with
:attr:`FaultProxy.target` (by default the authorization) and every other request passes.

Faults (:class:`Fault`):

- ``PASS``: forward both ways.
- ``DROP_ANSWER``: the request reaches the acquirer, which answers; the answer is thrown
  away and the terminal's connection closed (the terminal sees the connection end).
- ``RESET_AFTER_SEND``: the request reaches the acquirer; the terminal's connection is reset
  (TCP RST) at once, before any answer.
- ``DELAY``: the request reaches the acquirer; its answer is held :attr:`FaultProxy.delay`
  seconds (beyond the terminal's timeout), then sent to a terminal that has given up.
- ``REFUSE``: the listening socket is closed, so connections are refused (ECONNREFUSED):
  the acquirer is down as far as the terminal can tell.

:attr:`FaultProxy.seen` records ``(path, fault)`` for every request the proxy handled.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from enum import StrEnum
from typing import Any, TypeVar

T = TypeVar("T")


class Fault(StrEnum):
    PASS = "pass"
    DROP_ANSWER = "drop_answer"
    RESET_AFTER_SEND = "reset_after_send"
    DELAY = "delay"
    REFUSE = "refuse"


async def _read_head(reader: asyncio.StreamReader) -> tuple[bytes, dict[str, str]] | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except (asyncio.IncompleteReadError, ConnectionError):
        return None
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        if b":" in line:
            name, _, value = line.partition(b":")
            headers[name.decode("latin-1").strip().lower()] = value.decode("latin-1").strip()
    return head, headers


async def _read_body(reader: asyncio.StreamReader, headers: dict[str, str]) -> bytes:
    if "content-length" in headers:
        return await reader.readexactly(int(headers["content-length"]))
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size_line = await reader.readuntil(b"\r\n")
            body += size_line
            size = int(size_line.split(b";")[0], 16)
            chunk = await reader.readexactly(size + 2)
            body += chunk
            if size == 0:
                return body
    return b""


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0) instead of a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class FaultProxy:
    """The proxy on ``127.0.0.1:port`` in front of ``upstream`` (``host``, ``port``)."""

    def __init__(self, upstream: tuple[str, int], *, target: str = "/v1/authorizations") -> None:
        self.upstream = upstream
        self.target = target
        self.fault = Fault.PASS
        self.delay = 3.0
        #: How many more matching requests the fault hits (None: all of them).
        self.times: int | None = None
        self.seen: list[tuple[str, Fault]] = []
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="fault-proxy",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self._run(self._listen())

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def set(self, fault: Fault, *, times: int | None = None, delay: float | None = None) -> None:
        """Inject ``fault`` (on the next ``times`` matching requests, or all)."""
        if delay is not None:
            self.delay = delay
        self.times = times
        if fault is Fault.REFUSE:
            self._run(self._close())
        elif self._server is None:
            self._run(self._listen())
        self.fault = fault

    def close(self) -> None:
        """Stop listening, end the exchanges still held (a delayed answer), stop the loop."""
        self._run(self._close())
        self._run(self._cancel_exchanges())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    async def _cancel_exchanges(self) -> None:
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=10)

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port,
                                                  reuse_address=True)  # fmt: skip
        self.port = self._server.sockets[0].getsockname()[1]

    async def _close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _fault_for(self, path: str) -> Fault:
        if not path.startswith(self.target) or self.fault is Fault.PASS:
            return Fault.PASS
        if self.times is not None:
            if self.times <= 0:
                return Fault.PASS
            self.times -= 1
        return self.fault

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            up_r, up_w = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(client_w)
            return
        try:
            while True:
                request = await _read_head(client_r)
                if request is None:
                    return
                head, headers = request
                body = await _read_body(client_r, headers)
                path = head.split(b" ", 2)[1].decode("latin-1")
                fault = self._fault_for(path)
                self.seen.append((path, fault))
                up_w.write(head + body)
                await up_w.drain()
                if fault is Fault.RESET_AFTER_SEND:
                    await asyncio.sleep(0.05)  # the request is on its way to the acquirer
                    _reset(client_w)
                    return
                answer = await _read_head(up_r)
                if answer is None:
                    _reset(client_w)
                    return
                answer_head, answer_headers = answer
                answer_body = await _read_body(up_r, answer_headers)
                if fault is Fault.DROP_ANSWER:
                    client_w.close()
                    return
                if fault is Fault.DELAY:
                    await asyncio.sleep(self.delay)
                client_w.write(answer_head + answer_body)
                await client_w.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            up_w.close()
            if not client_w.is_closing():
                client_w.close()

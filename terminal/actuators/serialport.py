"""The ``serial`` backend: a controller on a serial line, through pyserial.

Spec: ``serial:PORT?units=D1,D2&baud=9600&timeout=5``. ``PORT`` is a device path
(``/dev/ttyUSB0``) or any pyserial URL (``serial_for_url``, e.g. ``rfc2217://host:port``).
The controller speaks the ASCII line protocol of :mod:`terminal.actuators.lineproto` (8N1,
``baud`` default 9600). On opening, the terminal asks ``UNITS`` (within ``timeout`` seconds,
default 5): a silent controller is an :class:`~terminal.errors.ActuatorUnavailableError`, a
configured unit the controller does not list an :class:`~terminal.errors.UnknownUnitError`;
without ``units=`` the controller's own list is taken.

One receiving thread reads the line, hands each reply to the request waiting on its tag and
queues each event; writes are serialized by a lock, so any thread may command. A read or
write failure (cable pulled, USB adapter gone, the pty's other end closed) fails the waiting
requests, reports a ``fault`` event on every unit and makes later commands raise
``ActuatorUnavailableError``: there is no silent reconnection, the terminal re-opens.
pyserial's exceptions (``serial.SerialException``, an ``OSError``) are mapped here.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Iterable

import serial

from terminal.actuators import lineproto, spec
from terminal.actuators.base import Actuator, ActuatorEvent, Command, UnitState
from terminal.errors import (
    ActuatorError,
    ActuatorProtocolError,
    ActuatorUnavailableError,
    UnknownUnitError,
)

log = logging.getLogger(__name__)

#: How long one read blocks, so the receiving thread notices close() in time.
READ_SLICE = 0.1


class _Pending:
    __slots__ = ("done", "reply")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.reply: lineproto.Reply | None = None


class SerialActuator(Actuator):
    """A controller behind a serial port speaking the line protocol."""

    name = "serial"

    def __init__(
        self, port: str, units: Iterable[str] = (), *, baudrate: int = 9600, timeout: float = 5.0
    ) -> None:
        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate, timeout=READ_SLICE)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise ActuatorUnavailableError(f"cannot open serial port {port}: {exc}") from None
        self.port = port
        self._write_lock = threading.Lock()
        self._pending: dict[str, _Pending] = {}
        self._pending_lock = threading.Lock()
        self._tags = itertools.count(1)
        self._link_error: str | None = None
        self._early: list[ActuatorEvent] = []
        self._ready = False
        self._buffer = bytearray()
        self._stop = threading.Event()
        self._reader = threading.Thread(
            target=self._receive, name=f"actuator-serial-{port}", daemon=True
        )
        self._reader.start()
        try:
            listed = self._request("UNITS", None, timeout).words
            wanted = tuple(units) or listed
            missing = [unit for unit in wanted if unit not in listed]
            if missing:
                raise UnknownUnitError(
                    f"controller on {port} has no unit {', '.join(missing)} (it has {', '.join(listed)})",
                    unit=missing[0],
                )
            super().__init__(wanted)
        except BaseException:
            self._stop.set()
            self._port.close()
            raise
        with self._pending_lock:
            self._ready = True
            early, self._early = self._early, []
        for event in early:
            self._deliver(event)

    @classmethod
    def from_spec(cls, argument: str) -> SerialActuator:
        port, _, query = argument.partition("?")
        if not port:
            raise ActuatorUnavailableError(
                "serial actuator spec needs a port: serial:/dev/ttyUSB0?units=..."
            )
        opts = spec.options(query, frozenset({"units", "baud", "timeout"}))
        return cls(
            port,
            spec.unit_list(opts.get("units", "")),
            baudrate=int(spec.number(opts, "baud", 9600)),
            timeout=spec.number(opts, "timeout", 5.0),
        )

    # -- requests ----------------------------------------------------------------------------

    def _command(self, unit: str, command: Command, *, timeout: float) -> UnitState | None:
        reply = self._request(command.value.upper(), unit, timeout)
        if reply.error == "unknown_unit":
            raise UnknownUnitError(f"controller on {self.port}: unknown unit {unit!r}", unit=unit)
        if reply.error is not None:
            why = f"{reply.error} {reply.text}".strip()
            raise ActuatorError(
                f"controller on {self.port} refused {command} {unit}: {why}", unit=unit
            )
        if not reply.words:
            return None
        try:
            return UnitState(reply.words[0])
        except ValueError:
            what = f"controller on {self.port} reported state {reply.words[0]!r}"
            raise ActuatorProtocolError(what, unit=unit) from None

    def _request(self, verb: str, unit: str | None, timeout: float) -> lineproto.Reply:
        tag = str(next(self._tags) % 100_000_000 or 1)
        pending = _Pending()
        with self._pending_lock:
            if self._link_error is not None:
                raise ActuatorUnavailableError(
                    f"serial link {self.port} is down: {self._link_error}", unit=unit
                )
            self._pending[tag] = pending
        try:
            self._write(lineproto.encode(lineproto.Request(tag, verb, unit)), unit)
            if not pending.done.wait(timeout):
                raise ActuatorUnavailableError(
                    f"controller on {self.port} did not answer {verb} {unit or ''} within {timeout:g} s",
                    unit=unit,
                )
        finally:
            with self._pending_lock:
                self._pending.pop(tag, None)
        if pending.reply is None:
            raise ActuatorUnavailableError(
                f"serial link {self.port} went down: {self._link_error}", unit=unit
            )
        return pending.reply

    def _write(self, line: bytes, unit: str | None) -> None:
        try:
            with self._write_lock:
                self._port.write(line)
                self._port.flush()
        except (serial.SerialException, OSError) as exc:
            self._lost(f"write failed: {exc}")
            raise ActuatorUnavailableError(
                f"serial link {self.port}: write failed: {exc}", unit=unit
            ) from None

    # -- the receiving thread -----------------------------------------------------------------

    def _receive(self) -> None:
        while not self._stop.is_set():
            try:
                chunk = self._port.readline(lineproto.MAX_LINE + 1)
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                # TypeError/AttributeError: pyserial reading a port closed under it by close().
                if not self._stop.is_set():
                    self._lost(f"read failed: {exc}")
                return
            if not chunk:
                continue
            self._buffer += chunk
            if not self._buffer.endswith(b"\n"):
                if len(self._buffer) > lineproto.MAX_LINE:
                    log.warning("serial %s: dropping an over-long line", self.port)
                    self._buffer.clear()
                continue
            line, self._buffer = bytes(self._buffer), bytearray()
            self._dispatch(line)

    def _dispatch(self, line: bytes) -> None:
        try:
            message = lineproto.decode(line)
        except ActuatorProtocolError as exc:
            log.warning("serial %s: ignoring a malformed line: %s", self.port, exc)
            return
        if isinstance(message, lineproto.Reply):
            with self._pending_lock:
                pending = self._pending.get(message.tag)
            if pending is None:
                log.warning("serial %s: reply to no request (tag %s)", self.port, message.tag)
                return
            pending.reply = message
            pending.done.set()
        elif isinstance(message, ActuatorEvent):
            with self._pending_lock:
                if not self._ready:
                    self._early.append(message)
                    return
            if message.unit not in self.units:
                log.warning("serial %s: event for unconfigured unit %s", self.port, message.unit)
            self._deliver(message)
        else:
            log.warning(
                "serial %s: controller sent a request (%s); ignored", self.port, message.verb
            )

    def _lost(self, why: str) -> None:
        with self._pending_lock:
            if self._link_error is not None:
                return
            self._link_error = why
            waiting = list(self._pending.values())
            ready = self._ready
        for pending in waiting:
            pending.done.set()
        if ready and not self._stop.is_set():
            self._fault_all(f"serial link {self.port} lost: {why}")

    def _shutdown(self) -> None:
        self._stop.set()
        deadline = time.monotonic() + 2 * READ_SLICE + 1
        self._reader.join(max(0.0, deadline - time.monotonic()))
        self._port.close()

"""The serial backend over a real pty: exact bytes on the wire, the handshake, a lost line."""

from __future__ import annotations

import os
import select
import threading
import tty
from collections.abc import Iterator

import pytest

from terminal.actuators import Actuator, EventKind, UnitState, open_actuator
from terminal.actuators.device import SimulatedDevice
from terminal.actuators.simdevice import SerialDeviceSimulator
from terminal.errors import ActuatorUnavailableError, UnknownUnitError
from tests.actuators.rigs import SHORT, WAIT, wait_event


class ScriptedLine:
    """The controller end of a pty, played byte by byte by the test."""

    def __init__(self) -> None:
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.port = os.ttyname(self.slave)
        self._buffer = b""

    def read_line(self) -> bytes:
        while b"\n" not in self._buffer:
            ready, _, _ = select.select([self.master], [], [], WAIT)
            assert ready, f"nothing written by the terminal (have {self._buffer!r})"
            self._buffer += os.read(self.master, 1024)
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line + b"\n"

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def close(self) -> None:
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass


@pytest.fixture
def line() -> Iterator[ScriptedLine]:
    line = ScriptedLine()
    yield line
    line.close()


def open_in_background(spec: str) -> tuple[threading.Thread, list[Actuator | BaseException]]:
    result: list[Actuator | BaseException] = []

    def run() -> None:
        try:
            result.append(open_actuator(spec))
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, result


def test_wire_bytes_handshake_and_open(line: ScriptedLine) -> None:
    thread, result = open_in_background(f"serial:{line.port}?timeout={WAIT}")
    assert line.read_line() == b"1 UNITS\r\n"
    # Garbage, an event before the handshake's reply, then the reply.
    line.write(b"\x00garbage\r\n* D2 fault detail=power%20on\r\n1 OK D1 D2\r\n")
    thread.join(WAIT)
    actuator = result[0]
    assert isinstance(actuator, Actuator)
    try:
        assert actuator.units == ("D1", "D2")
        event = actuator.next_event(timeout=WAIT)
        assert event is not None and (event.unit, event.kind, event.detail) == (
            "D2",
            EventKind.FAULT,
            "power on",
        )

        done: list[BaseException | None] = []

        def do_open() -> None:
            try:
                actuator.open("D1", timeout=WAIT)
                done.append(None)
            except BaseException as exc:
                done.append(exc)

        opener = threading.Thread(target=do_open)
        opener.start()
        assert line.read_line() == b"2 OPEN D1\r\n"
        line.write(b"2 OK locked\r\n")
        line.write(b"* D1 opened at=2026-05-09T07:35:25Z\n")
        opener.join(WAIT)
        assert done == [None]
        assert actuator.known_state("D1") is UnitState.OPEN
        # A reply to no request and an unknown state are not taken as answers.
        line.write(b"77 OK open\r\n")
        reader = threading.Thread(target=lambda: done.append(actuator.state("D2", timeout=WAIT)))
        reader.start()
        assert line.read_line() == b"3 STATE D2\r\n"
        line.write(b"3 OK locked\r\n")
        reader.join(WAIT)
        assert done[-1] is UnitState.LOCKED
    finally:
        actuator.close()


def test_silent_controller_fails_the_opening(line: ScriptedLine) -> None:
    with pytest.raises(ActuatorUnavailableError, match="did not answer UNITS"):
        open_actuator(f"serial:{line.port}?timeout={SHORT}")


def test_configured_unit_missing_on_the_controller(line: ScriptedLine) -> None:
    thread, result = open_in_background(f"serial:{line.port}?units=D1,D7&timeout={WAIT}")
    assert line.read_line() == b"1 UNITS\r\n"
    line.write(b"1 OK D1 D2\r\n")
    thread.join(WAIT)
    assert isinstance(result[0], UnknownUnitError) and result[0].unit == "D7"


def test_no_such_port() -> None:
    with pytest.raises(ActuatorUnavailableError, match="cannot open serial port"):
        open_actuator("serial:/dev/tap-no-such-tty")
    with pytest.raises(ActuatorUnavailableError, match="needs a port"):
        open_actuator("serial:?units=D1")


def test_lost_line_is_reported_on_every_unit() -> None:
    device = SimulatedDevice(["D1", "D2"])
    sim = SerialDeviceSimulator.on_pty(device)
    actuator = open_actuator(f"serial:{sim.port}?timeout={WAIT}")
    try:
        assert actuator.units == ("D1", "D2")  # taken from the controller
        sim.close()  # the cable is pulled
        faults = {wait_event(actuator, EventKind.FAULT, unit).unit for unit in ("D1", "D2")}
        assert faults == {"D1", "D2"}
        with pytest.raises(ActuatorUnavailableError, match="down"):
            actuator.open("D1", timeout=WAIT)
    finally:
        actuator.close()
        device.close()

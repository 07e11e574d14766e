"""One suite for the Actuator interface, run over every backend (simulated, serial, MQTT)."""

from __future__ import annotations

import threading

import pytest

from terminal.actuators import ActuatorEvent, EventKind, UnitState
from terminal.actuators.base import Command
from terminal.actuators.device import Fault
from terminal.errors import (
    ActuatorError,
    ActuatorJammedError,
    ActuatorTimeoutError,
    ActuatorUnavailableError,
    UnknownUnitError,
)
from tests.actuators.rigs import SHORT, WAIT, Rig, make_rig, wait_event, wait_until


def test_open_returns_once_the_unit_reports_open(rig: Rig) -> None:
    rig.actuator.open("D1", timeout=WAIT)
    assert rig.actuator.known_state("D1") is UnitState.OPEN
    assert rig.device.state_of("D1") is UnitState.OPEN
    assert wait_event(rig.actuator, EventKind.OPENED, "D1").unit == "D1"
    assert rig.actuator.state("D1", timeout=WAIT) is UnitState.OPEN
    assert rig.actuator.state("D2", timeout=WAIT) is UnitState.LOCKED


def test_open_confirmed_after_the_acknowledgement(backend: str) -> None:
    rig = make_rig(backend, confirm_delay=0.2)
    try:
        rig.actuator.open("D2", timeout=WAIT)
        assert rig.actuator.known_state("D2") is UnitState.OPEN
    finally:
        rig.close()


def test_open_never_confirmed_times_out_and_relocks(rig: Rig) -> None:
    rig.device.set_fault("D1", Fault.NEVER_CONFIRMS)
    with pytest.raises(ActuatorTimeoutError) as caught:
        rig.actuator.open("D1", timeout=SHORT)
    assert not isinstance(caught.value, ActuatorJammedError)
    assert caught.value.unit == "D1"
    assert caught.value.state is UnitState.LOCKED
    assert rig.device.log[-2:] == [(Command.LOCK, "D1"), (Command.STATE, "D1")]
    fault = wait_event(rig.actuator, EventKind.FAULT, "D1")
    assert fault.detail is not None and "locked again" in fault.detail


def test_late_opening_is_cancelled_by_the_relock(backend: str) -> None:
    # The lock would release long after the terminal gave up: the re-lock cancels it, so
    # no dock opens for a rider whose rental was already cancelled.
    rig = make_rig(backend, confirm_delay=WAIT * 3)
    try:
        with pytest.raises(ActuatorTimeoutError) as caught:
            rig.actuator.open("D1", timeout=SHORT)
        assert caught.value.state is UnitState.LOCKED
        assert rig.device.state_of("D1") is UnitState.LOCKED
        assert (Command.LOCK, "D1") in rig.device.log
    finally:
        rig.close()


def test_open_of_a_jamming_unit(rig: Rig) -> None:
    rig.device.set_fault("D2", Fault.JAMS)
    with pytest.raises(ActuatorJammedError) as caught:
        rig.actuator.open("D2", timeout=WAIT)
    assert caught.value.state is UnitState.JAMMED
    assert wait_event(rig.actuator, EventKind.JAMMED, "D2").detail == "lock did not release"
    assert rig.actuator.state("D2", timeout=WAIT) is UnitState.JAMMED


def test_silent_controller_is_unavailable(rig: Rig) -> None:
    rig.device.silent = True
    with pytest.raises(ActuatorUnavailableError):
        rig.actuator.open("D1", timeout=SHORT)
    with pytest.raises(ActuatorUnavailableError):
        rig.actuator.state("D1", timeout=SHORT)
    rig.device.silent = False
    assert rig.actuator.state("D1", timeout=WAIT) is UnitState.LOCKED


def test_unit_not_configured_is_refused(rig: Rig) -> None:
    with pytest.raises(UnknownUnitError) as caught:
        rig.actuator.open("X9", timeout=WAIT)
    assert caught.value.unit == "X9"
    with pytest.raises(UnknownUnitError):
        rig.actuator.state("X9", timeout=WAIT)
    assert all(unit != "X9" for _, unit in rig.device.log)


def test_unit_the_controller_does_not_have(backend: str) -> None:
    # Configured on the terminal, absent from the controller: refused when opening the
    # actuator (serial asks for the list) or when the unit is used.
    try:
        rig = make_rig(backend, device_units=("D1",), units=("D1", "D9"))
    except UnknownUnitError as exc:
        assert exc.unit == "D9"
        return
    try:
        with pytest.raises(UnknownUnitError):
            rig.actuator.open("D9", timeout=WAIT)
        rig.actuator.open("D1", timeout=WAIT)
    finally:
        rig.close()


def test_bike_docked_is_reported_with_its_id(rig: Rig) -> None:
    rig.actuator.open("D1", timeout=WAIT)
    rig.device.hand.dock_bike("D1", "BIKE-42")
    event = wait_event(rig.actuator, EventKind.LOCKED, "D1")
    assert event.bike_id == "BIKE-42"
    assert event.at.tzinfo is not None
    assert rig.actuator.state("D1", timeout=WAIT) is UnitState.LOCKED


def test_door_left_open_then_closed(backend: str) -> None:
    rig = make_rig(backend, device_units=("L1", "L2"), left_open_after=0.05)
    try:
        rig.actuator.open("L1", timeout=WAIT)
        wait_event(rig.actuator, EventKind.LEFT_OPEN, "L1")
        assert rig.actuator.state("L1", timeout=WAIT) is UnitState.OPEN
        rig.device.hand.close_door("L1")
        wait_event(rig.actuator, EventKind.CLOSED, "L1")
        wait_until(lambda: rig.actuator.known_state("L1") is UnitState.LOCKED, "L1 locked")
    finally:
        rig.close()


def test_spontaneous_events(rig: Rig) -> None:
    rig.device.hand.open_door("D2")
    assert wait_event(rig.actuator, EventKind.OPENED, "D2").detail == "forced"
    rig.device.hand.jam("D1", "bolt stuck")
    assert wait_event(rig.actuator, EventKind.JAMMED, "D1").detail == "bolt stuck"
    rig.device.hand.report_fault("D1", "low battery: 10% = replace")
    assert wait_event(rig.actuator, EventKind.FAULT, "D1").detail == "low battery: 10% = replace"
    rig.device.hand.leave_open("D2")
    wait_event(rig.actuator, EventKind.LEFT_OPEN, "D2")
    assert rig.actuator.state("D1", timeout=WAIT) is UnitState.JAMMED


def test_events_consumed_by_another_thread_while_commanding(rig: Rig) -> None:
    got: list[ActuatorEvent] = []
    done = threading.Event()

    def consume() -> None:
        while (event := rig.actuator.next_event(timeout=None)) is not None:
            got.append(event)
            if sum(e.kind is EventKind.LOCKED for e in got) == 2:
                done.set()

    consumer = threading.Thread(target=consume)
    consumer.start()
    try:
        for unit, bike in (("D1", "B1"), ("D2", "B2")):
            rig.actuator.open(unit, timeout=WAIT)
            assert rig.actuator.state(unit, timeout=WAIT) is UnitState.OPEN
            rig.device.hand.dock_bike(unit, bike)
        assert done.wait(WAIT)
    finally:
        rig.actuator.close()  # wakes the consumer: next_event returns None
        consumer.join(WAIT)
    assert not consumer.is_alive()
    assert [(e.unit, e.bike_id) for e in got if e.kind is EventKind.LOCKED] == [
        ("D1", "B1"),
        ("D2", "B2"),
    ]


def test_closed_actuator_refuses_and_next_event_returns_none(rig: Rig) -> None:
    rig.actuator.close()
    rig.actuator.close()
    assert rig.actuator.next_event(timeout=None) is None
    with pytest.raises(ActuatorUnavailableError):
        rig.actuator.open("D1", timeout=WAIT)
    assert issubclass(ActuatorUnavailableError, ActuatorError)

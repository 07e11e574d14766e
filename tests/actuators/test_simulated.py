"""The registry, spec parsing and the simulated device model (faults, timers, the hand)."""

from __future__ import annotations

import pytest

from terminal.actuators import BACKENDS, EventKind, UnitState, backend, open_actuator
from terminal.actuators.base import Command
from terminal.actuators.device import DeviceError, Fault, SimulatedDevice
from terminal.actuators.simdevice import hand_command
from terminal.actuators.simulated import SimulatedActuator
from terminal.errors import ActuatorUnavailableError, UnknownUnitError
from tests.actuators.rigs import WAIT, wait_event


def test_specs_of_the_simulated_backend() -> None:
    with open_actuator("simulated") as docks:
        assert docks.units == ("D1", "D2")
    with open_actuator("simulated:units=L1,L2,L3&left_open_after=0.05") as lockers:
        assert lockers.units == ("L1", "L2", "L3")
        assert isinstance(lockers, SimulatedActuator)
        assert lockers.device.left_open_after == 0.05
        lockers.open("L3", timeout=WAIT)
        wait_event(lockers, EventKind.LEFT_OPEN, "L3")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("servo:units=D1", "unknown actuator backend 'servo' (known: mqtt, serial, simulated)"),
        ("simulated:colour=red", "unknown actuator option 'colour'"),
        ("simulated:units=D1&units=D2", "more than once"),
        ("simulated:confirm_delay=soon", "not a number"),
        ("simulated:left_open_after=-1", "must be positive"),
    ],
)
def test_bad_specs(spec: str, message: str) -> None:
    with pytest.raises(
        ActuatorUnavailableError, match=message.replace("(", r"\(").replace(")", r"\)")
    ):
        open_actuator(spec)


def test_missing_library_gives_an_install_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BACKENDS, "can", ("tap_no_such_module.bus:CanActuator", "actuators"))
    with pytest.raises(ActuatorUnavailableError) as caught:
        backend("can")
    assert "needs tap_no_such_module" in str(caught.value)
    assert "pip install 'tap-stack[actuators]'" in str(caught.value)


def test_device_commands_and_faults() -> None:
    device = SimulatedDevice(["D1", "D2"])
    heard: list[tuple[str, UnitState, EventKind | None]] = []
    device.add_listener(
        lambda unit, state, event: heard.append((unit, state, event and event.kind))
    )
    assert device.execute(Command.OPEN, "D1") is UnitState.OPEN
    assert device.execute(Command.LOCK, "D1") is UnitState.LOCKED
    device.set_fault("D2", Fault.NEVER_CONFIRMS)
    assert device.execute(Command.OPEN, "D2") is UnitState.LOCKED
    device.set_fault("D2", Fault.JAMS)
    assert device.execute(Command.OPEN, "D2") is UnitState.JAMMED
    assert device.execute(Command.LOCK, "D2") is UnitState.JAMMED  # a jammed lock stays jammed
    device.hand.close_door("D2")  # someone frees and shuts it
    assert device.state_of("D2") is UnitState.LOCKED
    device.silent = True
    assert device.execute(Command.STATE, "D1") is None
    with pytest.raises(DeviceError) as caught:
        device.silent = False
        device.execute(Command.OPEN, "D9")
    assert caught.value.code == "unknown_unit"
    assert heard == [
        ("D1", UnitState.OPEN, EventKind.OPENED),
        ("D1", UnitState.LOCKED, None),
        ("D2", UnitState.JAMMED, EventKind.JAMMED),
        ("D2", UnitState.LOCKED, EventKind.CLOSED),
    ]
    assert device.log[-1] == (Command.OPEN, "D9")


def test_left_open_timer_is_cancelled_by_closing() -> None:
    device = SimulatedDevice(["L1"], left_open_after=WAIT * 3)
    device.execute(Command.OPEN, "L1")
    assert "L1" in device._timers
    device.hand.close_door("L1")
    assert "L1" not in device._timers
    device.close()


def test_hand_commands_typed_by_a_person() -> None:
    device = SimulatedDevice(["D1"])
    with SimulatedActuator(device.units, device=device) as actuator:
        assert hand_command(device, "dock D1 BIKE-3") == "ok"
        assert wait_event(actuator, EventKind.LOCKED, "D1").bike_id == "BIKE-3"
        assert hand_command(device, "fault D1 tamper switch") == "ok"
        assert wait_event(actuator, EventKind.FAULT, "D1").detail == "tamper switch"
        assert hand_command(device, "never D1") == "ok"
        assert hand_command(device, "silent on") == "ok" and device.silent
        assert hand_command(device, "close D9") == "no unit 'D9' on this device"
        assert hand_command(device, "fly D1").startswith("unknown command")
        assert hand_command(device, "") == ""


def test_unknown_unit_error_names_the_configured_units() -> None:
    with (
        open_actuator("simulated:units=D1") as actuator,
        pytest.raises(UnknownUnitError, match="drives D1"),
    ):
        actuator.known_state("D3")

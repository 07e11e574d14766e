"""The actuator backends the conformance suite runs over, each as a "rig".

A rig owns a :class:`~terminal.actuators.device.SimulatedDevice` (faults, the hand) and an
actuator that reaches it through one backend's real transport:

* ``simulated``: in-process;
* ``serial``: pyserial on the slave side of a pty, the device simulator on the master side;
* ``mqtt``: paho-mqtt through the private Mosquitto of ``make test`` (``TAP_MQTT_URL``), the
  device simulator as another MQTT client, under a topic prefix of the test's own.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from terminal.actuators import Actuator, ActuatorEvent, EventKind, open_actuator
from terminal.actuators.device import SimulatedDevice
from terminal.actuators.simdevice import MqttDeviceSimulator, SerialDeviceSimulator
from terminal.actuators.simulated import SimulatedActuator
from tests.services import service_env

#: Generous: a loaded machine must not flip a result. Only "expect a timeout" cases use SHORT.
WAIT = 10.0
SHORT = 0.3


class Rig:
    """A device and an actuator driving it through one backend."""

    def __init__(self, name: str, device: SimulatedDevice) -> None:
        self.name = name
        self.device = device
        self.actuator: Actuator
        self._closers: list[Callable[[], Any]] = [device.close]

    def close(self) -> None:
        for closer in reversed(self._closers):
            closer()


def simulated_rig(device: SimulatedDevice, units: tuple[str, ...]) -> Rig:
    rig = Rig("simulated", device)
    rig.actuator = SimulatedActuator(units, device=device)
    rig._closers.append(rig.actuator.close)
    return rig


def serial_rig(device: SimulatedDevice, units: tuple[str, ...]) -> Rig:
    rig = Rig("serial", device)
    sim = SerialDeviceSimulator.on_pty(device)
    rig._closers.append(sim.close)
    try:
        rig.actuator = open_actuator(f"serial:{sim.port}?units={','.join(units)}&timeout={WAIT}")
    except BaseException:
        rig.close()
        raise
    rig._closers.append(rig.actuator.close)
    return rig


def mqtt_prefix_url(base: str) -> str:
    """A topic prefix of this test's own on the broker at ``base`` (retained messages stay)."""
    return f"{base.rstrip('/')}/tap/test-{uuid.uuid4().hex[:10]}"


def mqtt_rig(device: SimulatedDevice, units: tuple[str, ...]) -> Rig:
    url = mqtt_prefix_url(service_env("TAP_MQTT_URL"))
    rig = Rig("mqtt", device)
    sim = MqttDeviceSimulator(device, url, timeout=WAIT)
    rig._closers.append(sim.close)
    try:
        rig.actuator = open_actuator(f"{sim.url}?units={','.join(units)}&timeout={WAIT}")
    except BaseException:
        rig.close()
        raise
    rig._closers.append(rig.actuator.close)
    return rig


RIGS: dict[str, Callable[[SimulatedDevice, tuple[str, ...]], Rig]] = {
    "simulated": simulated_rig,
    "serial": serial_rig,
    "mqtt": mqtt_rig,
}


def make_rig(
    name: str,
    device_units: Iterable[str] = ("D1", "D2"),
    units: Iterable[str] | None = None,
    **device_options: Any,
) -> Rig:
    device = SimulatedDevice(device_units, **device_options)
    return RIGS[name](device, tuple(units if units is not None else device.units))


def wait_event(
    actuator: Actuator, kind: EventKind, unit: str | None = None, detail: str | None = None
) -> ActuatorEvent:
    """The next event of ``kind`` (for ``unit``, its detail holding ``detail``), skipping
    others; fails after WAIT seconds."""
    deadline = time.monotonic() + WAIT
    seen = []
    while (left := deadline - time.monotonic()) > 0:
        event = actuator.next_event(timeout=left)
        if event is None:
            break
        if (
            event.kind is kind
            and (unit is None or event.unit == unit)
            and (detail is None or detail in (event.detail or ""))
        ):
            return event
        seen.append(event)
    raise AssertionError(f"no {kind} event for {unit or 'any unit'}; saw {seen}")


def wait_until(check: Callable[[], bool], what: str) -> None:
    """Poll ``check`` until true; fails after WAIT seconds (never asserts a duration)."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")

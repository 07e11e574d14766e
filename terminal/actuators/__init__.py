"""Actuators: the dock locks and compartment doors under the bike and locker actions.

Backends are registered by name and imported only when used, as the reader backends are. A
spec is ``BACKEND[:ARGUMENT]``:

* ``simulated``, ``simulated:units=D1,D2``: an in-process simulated controller with faults and
  a "hand" for tests and the demo (:mod:`.simulated`, :mod:`.device`);
* ``serial:/dev/ttyUSB0?units=D1,D2&baud=9600``: a controller on a serial line speaking the
  ASCII line protocol of :mod:`.lineproto` (:mod:`.serialport`, pip extra ``actuators``,
  pyserial); ``units`` may be left out to take the controller's own list;
* ``mqtt://127.0.0.1:1883/tap/dock7?units=D1,D2``: a controller behind an MQTT broker, topics
  under ``tap/dock7`` (:mod:`.mqtt`, pip extra ``actuators``, paho-mqtt 2.x).

A missing library gives an install hint when that backend is asked for, never an ImportError
at start-up. :mod:`.simdevice` serves a simulated controller over a serial line (a pty) or
MQTT, for the demo and the system tests.

>>> with open_actuator("simulated:units=L1") as locker:
...     locker.state("L1", timeout=5)
<UnitState.LOCKED: 'locked'>
"""

from __future__ import annotations

from terminal.actuators.base import Actuator, ActuatorEvent, EventKind, UnitState
from terminal.backends import load_backend
from terminal.errors import ActuatorUnavailableError

#: name -> ("module:Class", pip extra that provides its library or None).
BACKENDS: dict[str, tuple[str, str | None]] = {
    "simulated": ("terminal.actuators.simulated:SimulatedActuator", None),
    "serial": ("terminal.actuators.serialport:SerialActuator", "actuators"),
    "mqtt": ("terminal.actuators.mqtt:MqttActuator", "actuators"),
}


def backend(name: str) -> type[Actuator]:
    """The actuator class registered as ``name``."""
    cls: type[Actuator] = load_backend(BACKENDS, name, "actuator", ActuatorUnavailableError)
    return cls


def open_actuator(spec: str) -> Actuator:
    """Open an actuator from a spec (see the module docstring), e.g. ``simulated:units=D1``."""
    name, _, argument = spec.partition(":")
    cls = backend(name)
    opener = getattr(cls, "from_spec", None)
    if opener is None:
        raise ActuatorUnavailableError(f"actuator backend {name!r} cannot be opened from a spec")
    actuator: Actuator = opener(argument)
    return actuator


__all__ = [
    "BACKENDS",
    "Actuator",
    "ActuatorEvent",
    "EventKind",
    "UnitState",
    "backend",
    "open_actuator",
]

"""The ``simulated`` backend: a :class:`~terminal.actuators.device.SimulatedDevice` in-process.

``simulated`` drives units ``D1`` and ``D2``; ``simulated:units=L1,L2,L3`` names them;
``left_open_after=SECONDS`` and ``confirm_delay=SECONDS`` set the device's timings. The
device is reachable as ``actuator.device`` (faults) and ``actuator.hand`` (the person at
the unit), for tests and the demo::

    >>> from terminal.actuators import open_actuator
    >>> docks = open_actuator("simulated:units=D1")
    >>> docks.open("D1", timeout=5)
    >>> docks.next_event(timeout=5).kind
    <EventKind.OPENED: 'opened'>
    >>> docks.hand.dock_bike("D1", "BIKE-7")
    >>> docks.next_event(timeout=5).bike_id
    'BIKE-7'
    >>> docks.close()

A silent device is waited for up to the command's timeout, like a real one.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

from terminal.actuators import spec
from terminal.actuators.base import Actuator, ActuatorEvent, Command, UnitState
from terminal.actuators.device import DeviceError, Hand, SimulatedDevice
from terminal.errors import ActuatorError, ActuatorUnavailableError, UnknownUnitError

DEFAULT_UNITS = ("D1", "D2")


class SimulatedActuator(Actuator):
    """An actuator wired straight to a simulated device."""

    name = "simulated"

    def __init__(
        self, units: Iterable[str] = DEFAULT_UNITS, *, device: SimulatedDevice | None = None
    ) -> None:
        super().__init__(units)
        self.device = device if device is not None else SimulatedDevice(self.units)
        self._silence = threading.Event()  # set by close(): stops waiting on a silent device
        self.device.add_listener(self._heard)

    @classmethod
    def from_spec(cls, argument: str) -> SimulatedActuator:
        opts = spec.options(argument, frozenset({"units", "left_open_after", "confirm_delay"}))
        units = spec.unit_list(opts.get("units", "")) or DEFAULT_UNITS
        left_open = spec.number(opts, "left_open_after", 0) or None
        device = SimulatedDevice(
            units,
            left_open_after=left_open,
            confirm_delay=spec.number(opts, "confirm_delay", 0) or 0.0,
        )
        return cls(units, device=device)

    @property
    def hand(self) -> Hand:
        return self.device.hand

    def _heard(self, unit: str, state: UnitState, event: ActuatorEvent | None) -> None:
        if event is not None:
            self._deliver(event)
        else:
            self._set_state(unit, state)

    def _command(self, unit: str, command: Command, *, timeout: float) -> UnitState | None:
        try:
            state = self.device.execute(command, unit)
        except DeviceError as exc:
            error = UnknownUnitError if exc.code == "unknown_unit" else ActuatorError
            raise error(f"simulated device: {exc}", unit=unit) from None
        if state is None:
            self._silence.wait(timeout)
            raise ActuatorUnavailableError(
                f"simulated device did not answer {command} {unit} within {timeout:g} s", unit=unit
            )
        return state

    def _shutdown(self) -> None:
        self._silence.set()
        self.device.remove_listener(self._heard)
        self.device.close()

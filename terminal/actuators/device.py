"""A simulated controller of dock locks or compartment doors, with faults and a "hand".

:class:`SimulatedDevice` is the one device model behind every simulated controller, as an
emulated card's ``process_apdu`` is behind every card transport: the ``simulated`` backend
calls it in-process, and :mod:`terminal.actuators.simdevice` serves the same object over a
serial line or MQTT, so tests and the demo inject the same faults whatever the backend.

Commands (``open``, ``lock``, ``state``) go through :meth:`SimulatedDevice.execute`, which
answers with the unit's state (``None`` when the device is silent) and tells its listeners
about every state change and event. Faults:

* ``device.silent = True``: the device answers nothing (dead firmware, cut cable);
* ``device.set_fault(unit, Fault.NEVER_CONFIRMS)``: an open is acknowledged but the lock
  never releases (a broken solenoid), so the terminal's open times out;
* ``device.set_fault(unit, Fault.JAMS)``: an open makes the unit report ``jammed``;
* ``left_open_after=SECONDS``: an opened door not shut within that time is reported
  ``left_open`` (as locker firmware does);
* ``confirm_delay=SECONDS``: the ``opened`` report comes that long after the acknowledgement.

The :class:`Hand` is the person at the dock or locker (and the tests and demo playing them):
``device.hand.dock_bike("D1", "BIKE-42")``, ``close_door``, ``open_door`` (forced),
``jam``, ``leave_open``, ``report_fault``. Every method is thread-safe; listeners are called
under the device's lock, in order, and must not call back into the device.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from enum import StrEnum

from terminal.actuators.base import STATE_AFTER, ActuatorEvent, Command, EventKind, UnitState

#: A listener gets (unit, its state now, the event or None for a silent state change).
Listener = Callable[[str, UnitState, ActuatorEvent | None], None]


class Fault(StrEnum):
    """A fault injected into one unit."""

    NEVER_CONFIRMS = "never_confirms"
    JAMS = "jams"


class DeviceError(Exception):
    """The device refuses a command; ``code`` is the wire error code (``unknown_unit``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


class SimulatedDevice:
    """An in-memory controller: units, their states, faults, and the hand that moves things."""

    def __init__(
        self,
        units: Iterable[str],
        *,
        initial: UnitState = UnitState.LOCKED,
        left_open_after: float | None = None,
        confirm_delay: float = 0.0,
    ) -> None:
        self.units = tuple(units)
        self.silent = False
        self.left_open_after = left_open_after
        self.confirm_delay = confirm_delay
        self._states = dict.fromkeys(self.units, initial)
        self._faults: dict[str, Fault] = {}
        self._timers: dict[str, threading.Timer] = {}
        self._listeners: list[Listener] = []
        self._lock = threading.RLock()
        #: Every command the device was given, in order, as (command, unit): tests read it.
        self.log: list[tuple[Command, str]] = []
        self.hand = Hand(self)

    def add_listener(self, listener: Listener) -> None:
        with self._lock:
            self._listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with self._lock:
            if listener in self._listeners:
                self._listeners.remove(listener)

    def set_fault(self, unit: str, fault: Fault | None) -> None:
        """Inject ``fault`` into ``unit`` (None clears it)."""
        with self._lock:
            self._known(unit)
            if fault is None:
                self._faults.pop(unit, None)
            else:
                self._faults[unit] = fault

    def state_of(self, unit: str) -> UnitState:
        with self._lock:
            return self._states[self._known(unit)]

    def execute(self, command: Command, unit: str) -> UnitState | None:
        """Carry out ``command``; the unit's state after it, or None when the device is silent."""
        with self._lock:
            self.log.append((command, unit))
            if self.silent:
                return None
            self._known(unit)
            if command is Command.OPEN:
                self._open(unit)
            elif command is Command.LOCK:
                self._cancel_timer(unit)
                if self._states[unit] is not UnitState.JAMMED:
                    self._change(unit, UnitState.LOCKED)
            return self._states[unit]

    def close(self) -> None:
        """Stop the timers (left-open, delayed confirmations)."""
        with self._lock:
            for unit in list(self._timers):
                self._cancel_timer(unit)

    # -- inside the device --------------------------------------------------------------------

    def _known(self, unit: str) -> str:
        if unit not in self._states:
            raise DeviceError("unknown_unit", f"no unit {unit!r} on this device")
        return unit

    def _open(self, unit: str) -> None:
        fault = self._faults.get(unit)
        if fault is Fault.NEVER_CONFIRMS:
            return
        if fault is Fault.JAMS or self._states[unit] is UnitState.JAMMED:
            self.emit(ActuatorEvent(unit, EventKind.JAMMED, detail="lock did not release"))
            return
        if self.confirm_delay > 0:
            self._start_timer(unit, self.confirm_delay, self._confirm_open)
        else:
            self._confirm_open(unit)

    def _confirm_open(self, unit: str) -> None:
        with self._lock:
            self._timers.pop(unit, None)
            self.emit(ActuatorEvent(unit, EventKind.OPENED))
            if self.left_open_after is not None:
                self._start_timer(unit, self.left_open_after, self._left_open)

    def _left_open(self, unit: str) -> None:
        with self._lock:
            self._timers.pop(unit, None)
            if self._states[unit] is UnitState.OPEN:
                self.emit(ActuatorEvent(unit, EventKind.LEFT_OPEN, detail="door not shut"))

    def _start_timer(self, unit: str, delay: float, action: Callable[[str], None]) -> None:
        self._cancel_timer(unit)
        timer = threading.Timer(delay, action, args=(unit,))
        timer.daemon = True
        self._timers[unit] = timer
        timer.start()

    def _cancel_timer(self, unit: str) -> None:
        timer = self._timers.pop(unit, None)
        if timer is not None:
            timer.cancel()

    def _change(self, unit: str, state: UnitState) -> None:
        self._states[unit] = state
        for listener in list(self._listeners):
            listener(unit, state, None)

    def emit(self, event: ActuatorEvent) -> None:
        """Apply ``event`` to its unit's state and tell the listeners (the hand uses this)."""
        with self._lock:
            self._known(event.unit)
            state = STATE_AFTER[event.kind]
            if state is not None:
                self._states[event.unit] = state
            if state is not UnitState.OPEN:
                self._cancel_timer(event.unit)
            for listener in list(self._listeners):
                listener(event.unit, self._states[event.unit], event)


class Hand:
    """The person at the unit: docks bikes, shuts and forces doors, jams locks."""

    def __init__(self, device: SimulatedDevice) -> None:
        self._device = device

    def dock_bike(self, unit: str, bike_id: str) -> None:
        """Push a bike into the dock: the lock engages and reports ``locked`` with its id."""
        self._device.emit(ActuatorEvent(unit, EventKind.LOCKED, bike_id=bike_id))

    def close_door(self, unit: str) -> None:
        """Shut the compartment door: it latches and reports ``closed``."""
        self._device.emit(ActuatorEvent(unit, EventKind.CLOSED))

    def open_door(self, unit: str, detail: str = "forced") -> None:
        """Open the unit without a command (forced, or a technician's key): ``opened``."""
        self._device.emit(ActuatorEvent(unit, EventKind.OPENED, detail=detail))

    def jam(self, unit: str, detail: str | None = None) -> None:
        """Jam the lock: the unit reports ``jammed`` and stays so until a hand shuts it."""
        self._device.emit(ActuatorEvent(unit, EventKind.JAMMED, detail=detail))

    def leave_open(self, unit: str) -> None:
        """Walk away from an open door: ``left_open`` now (``left_open_after`` does it by time)."""
        self._device.emit(ActuatorEvent(unit, EventKind.LEFT_OPEN, detail="door not shut"))

    def report_fault(self, unit: str, detail: str) -> None:
        """A spontaneous controller fault (low battery, tamper switch): ``fault``."""
        self._device.emit(ActuatorEvent(unit, EventKind.FAULT, detail=detail))

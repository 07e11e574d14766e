"""The one actuator interface the bike and locker actions see, with the shared logic written once.

An :class:`Actuator` is one controller (a dock controller, a locker bank) driving several
*units* (docks or compartments). A backend overrides only the primitive
:meth:`Actuator._command` (deliver one command and wait for the controller's acknowledgement)
and feeds what the controller reports into :meth:`Actuator._deliver` (events) and
:meth:`Actuator._set_state` (state reports). The rest is here, once, as python-can's
``BusABC`` does it:

* :meth:`Actuator.open` commands the unit open and returns only when the unit *reports* open.
  A controller that does not acknowledge the command is silent
  (:class:`~terminal.errors.ActuatorUnavailableError`). An acknowledged open that is not
  confirmed before the timeout, or that jams, is never left hanging: the unit is commanded
  locked again, its state re-read, a ``fault`` event reported, and
  :class:`~terminal.errors.ActuatorTimeoutError` (or its subclass
  :class:`~terminal.errors.ActuatorJammedError`) raised carrying that state.
* :meth:`Actuator.state` asks the controller (never a cached answer);
  :meth:`Actuator.known_state` is the last reported state, without asking.
* :meth:`Actuator.next_event` hands out the controller's events in arrival order.

Thread safety: ``open``, ``state`` and ``known_state`` may be called from the terminal's
main thread (or several threads) while another thread blocks in ``next_event``; the events
queue and the state table are guarded, and backends run their own receiving thread.
``close`` may be called from any thread; it wakes a blocked ``next_event`` (which then
returns None) and makes later calls raise :class:`~terminal.errors.ActuatorUnavailableError`.
An ``open`` with its failure path takes at most about three ``timeout``: the acknowledgement
and confirmation share one, then the re-lock and the state re-read get one each.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType

from terminal.errors import (
    ActuatorError,
    ActuatorJammedError,
    ActuatorTimeoutError,
    ActuatorUnavailableError,
    UnknownUnitError,
)

log = logging.getLogger(__name__)


class UnitState(StrEnum):
    """The state of a dock lock or a compartment door."""

    LOCKED = "locked"
    OPEN = "open"
    JAMMED = "jammed"


class EventKind(StrEnum):
    """What a controller reports on its own."""

    OPENED = "opened"
    CLOSED = "closed"  # a compartment door was shut (and latched)
    LOCKED = "locked"  # a bike was docked: ``bike_id`` names it
    JAMMED = "jammed"
    LEFT_OPEN = "left_open"  # the door stayed open past the controller's limit
    FAULT = "fault"  # anything else worth a line in the log: ``detail`` says what


class Command(StrEnum):
    """What the terminal asks a controller to do with a unit."""

    OPEN = "open"
    LOCK = "lock"
    STATE = "state"


#: The state a unit is in after each kind of event (None: the event does not change it).
STATE_AFTER: dict[EventKind, UnitState | None] = {
    EventKind.OPENED: UnitState.OPEN,
    EventKind.CLOSED: UnitState.LOCKED,
    EventKind.LOCKED: UnitState.LOCKED,
    EventKind.JAMMED: UnitState.JAMMED,
    EventKind.LEFT_OPEN: UnitState.OPEN,
    EventKind.FAULT: None,
}


def now() -> datetime:
    """The current time, timezone-aware in UTC (events carry it)."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class ActuatorEvent:
    """One thing a controller reported about one unit."""

    unit: str
    kind: EventKind
    at: datetime = field(default_factory=now)
    bike_id: str | None = None
    detail: str | None = None


@dataclass
class _Unit:
    state: UnitState | None = None
    opened: int = 0  # how many "opened" reports arrived: open() waits for this to move
    jammed: int = 0


class Actuator(ABC):
    """One controller of dock locks or compartment doors, ``units`` being their ids."""

    name: str = "actuator"
    units: tuple[str, ...]

    def __init__(self, units: Iterable[str]) -> None:
        self.units = tuple(units)
        if not self.units:
            raise ActuatorUnavailableError(f"{self.name} actuator has no units")
        self._table = {unit: _Unit() for unit in self.units}
        self._changed = threading.Condition()
        self._events: queue.Queue[ActuatorEvent | None] = queue.Queue()
        self._closed = threading.Event()

    # -- primitives ---------------------------------------------------------------------------

    @abstractmethod
    def _command(self, unit: str, command: Command, *, timeout: float) -> UnitState | None:
        """Deliver ``command`` for ``unit`` and wait for the controller's acknowledgement.

        Returns the state the acknowledgement carries (always for ``STATE``). Raises
        ``ActuatorUnavailableError`` when nothing answers within ``timeout`` or the link is
        down, ``UnknownUnitError`` when the controller does not know the unit.
        """

    def _shutdown(self) -> None:  # noqa: B027 - optional hook, the simulated backend holds nothing
        """Release the link (called once by :meth:`close`)."""

    # -- what the backend reports -------------------------------------------------------------

    def _deliver(self, event: ActuatorEvent) -> None:
        """A controller event arrived: update the unit's state and queue the event."""
        with self._changed:
            unit = self._table.get(event.unit)
            if unit is not None:
                state = STATE_AFTER[event.kind]
                if state is not None:
                    unit.state = state
                if event.kind is EventKind.OPENED:
                    unit.opened += 1
                elif event.kind is EventKind.JAMMED:
                    unit.jammed += 1
            self._changed.notify_all()
        self._events.put(event)

    def _set_state(self, unit: str, state: UnitState) -> None:
        """The controller reported ``unit``'s state (an answer, a retained message)."""
        with self._changed:
            if unit in self._table:
                self._table[unit].state = state
            self._changed.notify_all()

    def _fault_all(self, detail: str) -> None:
        """Report a fault of the whole controller (link lost, controller offline) on every unit."""
        log.warning("%s actuator: %s", self.name, detail)
        for unit in self.units:
            self._deliver(ActuatorEvent(unit, EventKind.FAULT, detail=detail))

    # -- the interface ------------------------------------------------------------------------

    def open(self, unit: str, *, timeout: float) -> None:
        """Command ``unit`` open; return once it reports open (see the module docstring)."""
        self._check(unit)
        deadline = time.monotonic() + timeout
        with self._changed:
            opened, jammed = self._table[unit].opened, self._table[unit].jammed
        self._command(unit, Command.OPEN, timeout=timeout)
        with self._changed:
            self._changed.wait_for(
                lambda: (
                    self._table[unit].opened > opened
                    or self._table[unit].jammed > jammed
                    or self._closed.is_set()
                ),
                timeout=max(0.0, deadline - time.monotonic()),
            )
            confirmed = self._table[unit].opened > opened
            jam = self._table[unit].jammed > jammed
        if confirmed:
            return
        if self._closed.is_set():
            raise ActuatorUnavailableError(f"{self.name} actuator closed during open", unit=unit)
        state = self._secure(unit, timeout)
        what = "jammed on open" if jam else f"open not confirmed within {timeout:g} s"
        detail = f"{what}; commanded locked again, state {state or 'unknown'}"
        self._deliver(ActuatorEvent(unit, EventKind.FAULT, detail=detail))
        error = ActuatorJammedError if jam else ActuatorTimeoutError
        raise error(f"unit {unit!r}: {detail}", unit=unit, state=state)

    def state(self, unit: str, *, timeout: float) -> UnitState:
        """Ask the controller for ``unit``'s state."""
        self._check(unit)
        state = self._command(unit, Command.STATE, timeout=timeout)
        if state is None:
            raise ActuatorError(f"{self.name} controller answered no state for {unit!r}", unit=unit)
        self._set_state(unit, state)
        return state

    def known_state(self, unit: str) -> UnitState | None:
        """The last state reported for ``unit`` (None before any report), without asking."""
        self._check(unit)
        with self._changed:
            return self._table[unit].state

    def next_event(self, timeout: float | None) -> ActuatorEvent | None:
        """The next event, waiting at most ``timeout`` seconds (None: forever); None on timeout."""
        if self._closed.is_set() and self._events.empty():
            return None
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            return None
        if event is None:  # close() woke us; let other waiting consumers wake too
            self._events.put(None)
        return event

    def close(self) -> None:
        """Release the controller link; idempotent."""
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            self._shutdown()
        finally:
            with self._changed:
                self._changed.notify_all()
            self._events.put(None)

    # -- shared helpers -----------------------------------------------------------------------

    def _check(self, unit: str) -> None:
        if self._closed.is_set():
            raise ActuatorUnavailableError(f"{self.name} actuator is closed", unit=unit)
        if unit not in self._table:
            known = ", ".join(self.units)
            raise UnknownUnitError(
                f"unknown unit {unit!r} (this actuator drives {known})", unit=unit
            )

    def _secure(self, unit: str, timeout: float) -> UnitState | None:
        """Command ``unit`` locked again and re-read its state; None when it cannot be read."""
        try:
            self._command(unit, Command.LOCK, timeout=timeout)
        except ActuatorError as exc:
            log.warning("%s actuator: re-locking %s failed: %s", self.name, unit, exc)
        try:
            return self.state(unit, timeout=timeout)
        except ActuatorError as exc:
            log.warning("%s actuator: re-reading %s failed: %s", self.name, unit, exc)
            return None

    def __enter__(self) -> Actuator:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

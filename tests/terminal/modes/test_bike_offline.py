"""An offline dock against the real acquirer: local deny list, the cap, the durable queue and
the late settlement (deferred authorization), a lost answer undone, a crash survived."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from terminal.actuators.device import Fault
from terminal.actuators.simulated import SimulatedActuator
from terminal.modes.bike.queue import RideQueue
from tests.terminal.modes.rig import TARIFF, Acquirer, acq_now, acquirer
from tests.terminal.modes.test_bike import DOCKS, make_dock


@pytest.fixture
def acq(tmp_path: Path) -> Iterator[Acquirer]:
    with acquirer(tmp_path) as rig:
        rig.bikes()
        yield rig


@pytest.fixture
def docks() -> Iterator[SimulatedActuator]:
    with SimulatedActuator(DOCKS) as actuator:
        yield actuator


def rentals(acq: Acquirer, state: str | None = None) -> list[dict[str, object]]:
    params = {"terminal_id": "DOCK1"} | ({"state": state} if state else {})
    items: list[dict[str, object]] = acq.get("/v1/rentals", **params)["items"]
    return items


def test_offline_unlock_is_queued_durably_and_settled_later(
    acq: Acquirer, docks: SimulatedActuator, tmp_path: Path
) -> None:
    dock = make_dock(acq, docks, tmp_path)
    rider = acq.card()
    acq.link.down = True
    on = dock.tap_on(rider.reader(), "D1", "BIKE-1", wait=1)
    assert (on.outcome, on.offline) == ("unlocked_offline", True), on
    assert docks.device.state_of("D1").value == "open"
    off = dock.tap_off(rider.reader(), "D2", wait=1)
    assert off.outcome == "return_queued"
    # The queue is one private file, and survives a crash: a new process reopens it.
    mode = stat.S_IMODE(dock.settings.queue.stat().st_mode)
    assert mode == 0o600
    # The data record carries the card's token (DPAN), never the funding PAN.
    assert rider.funding_pan.encode() not in dock.settings.queue.read_bytes()
    dock.queue.close()
    reopened = RideQueue(dock.settings.queue)
    assert [e.kind for e in reopened.pending()] == ["rental", "return"]
    assert rentals(acq) == []  # the acquirer knows nothing yet
    acq.link.down = False
    dock.queue = reopened
    assert dock.sync() is True
    assert reopened.pending() == []
    [ride] = rentals(acq)
    assert (ride["state"], ride["offline"], ride["bike_id"]) == ("ended", True, "BIKE-1")
    assert ride["captured"] == TARIFF.unlock_fee and ride["debt"] == 0
    # Forwarding again sends nothing twice.
    assert dock.sync() is True and len(rentals(acq)) == 1


def test_offline_refuses_denied_riders_and_respects_the_caps(
    acq: Acquirer, docks: SimulatedActuator, tmp_path: Path
) -> None:
    denied, first, second, third = (acq.card() for _ in range(4))
    acq.store.deny_par(denied.par, "unpaid rental", acq_now())
    dock = make_dock(acq, docks, tmp_path, max_offline_rides=2)
    assert dock.sync() is True and denied.par in dock.deny
    acq.link.down = True
    refused = dock.tap_on(denied.reader(), "D1", "BIKE-1", wait=1)
    assert (refused.outcome, refused.reason) == ("refused", "par_denied_offline")
    assert "pay the debt" in refused.message
    taken = dock.tap_on(first.reader(), "D1", "BIKE-1", wait=1)
    assert taken.outcome == "unlocked_offline", taken
    again = dock.tap_on(first.reader(), "D2", "BIKE-2", wait=1)
    assert (again.outcome, again.reason) == ("refused", "offline_ride_pending")
    assert dock.tap_on(second.reader(), "D2", "BIKE-2", wait=1).outcome == "unlocked_offline"
    capped = dock.tap_on(third.reader(), "D1", "BIKE-3", wait=1)
    assert (capped.outcome, capped.reason) == ("refused", "offline_cap_reached")
    assert docks.device.log.count(("open", "D1")) == 1  # type: ignore[comparison-overlap]
    acq.link.down = False
    assert dock.sync() is True
    assert {r["bike_id"] for r in rentals(acq, "riding")} == {"BIKE-1", "BIKE-2"}


def test_offline_lock_failure_queues_nothing(
    acq: Acquirer, docks: SimulatedActuator, tmp_path: Path
) -> None:
    docks.device.set_fault("D1", Fault.NEVER_CONFIRMS)
    dock = make_dock(acq, docks, tmp_path)
    acq.link.down = True
    result = dock.tap_on(acq.card().reader(), "D1", "BIKE-1", wait=1)
    assert (result.outcome, result.reason) == ("cancelled", "lock_timeout")
    assert dock.queue.pending() == []


def test_lost_answer_is_undone_before_the_offline_ride_is_settled(
    acq: Acquirer, docks: SimulatedActuator, tmp_path: Path
) -> None:
    dock = make_dock(acq, docks, tmp_path)
    rider = acq.card()
    acq.link.lose_answers = True  # the acquirer opens the rental; the dock never hears it
    on = dock.tap_on(rider.reader(), "D1", "BIKE-1", wait=1)
    assert on.outcome == "unlocked_offline"
    assert [e.kind for e in dock.queue.pending()] == ["abandon", "rental"]
    acq.link.lose_answers = False
    assert dock.sync() is True
    states = sorted(str(r["state"]) for r in rentals(acq))
    assert states == ["cancelled", "riding"]
    cancelled = next(r for r in rentals(acq) if r["state"] == "cancelled")
    assert cancelled["cancel_reason"] == "answer_lost"  # not an actuator error: no lock moved
    payment = acq.store.get_payment(str(cancelled["payment_id"]))
    assert payment is not None and payment.status.value == "voided"


def test_return_after_the_link_is_back_waits_for_the_ride(
    acq: Acquirer, docks: SimulatedActuator, tmp_path: Path
) -> None:
    """A docked bike while rides are queued: the return goes after them, in order."""
    dock = make_dock(acq, docks, tmp_path)
    acq.link.down = True
    assert dock.tap_on(acq.card().reader(), "D1", "BIKE-5", wait=1).outcome == "unlocked_offline"
    acq.link.down = False
    docks.hand.dock_bike("D2", "BIKE-5")
    event = None
    while event is None or event.unit != "D2":
        event = docks.next_event(timeout=5)
        assert event is not None
    result = dock.docked(event)
    assert result is not None and result.outcome == "returned", result
    assert [r["state"] for r in rentals(acq)] == ["ended"]

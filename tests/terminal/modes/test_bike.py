"""The bike dock against the real acquirer app: unlock, lock failures, ARPC, refusals, returns,
debts; through the simulated actuator and through MQTT on the real Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from card_emulation.faults import HostileCard, Rule, status
from terminal.actuators import Actuator, ActuatorEvent, EventKind
from terminal.actuators.device import Fault, SimulatedDevice
from terminal.actuators.simulated import SimulatedActuator
from terminal.errors import SettingsError
from terminal.modes.bike.dock import BikeDock
from terminal.modes.bike.queue import DenyCache, RideQueue, TariffCache
from terminal.modes.settings import BikeSettings
from terminal.online.bikes import BikeApi
from terminal.readers.emulated import LoopbackReader
from tests.terminal.modes.rig import TARIFF, Acquirer, acq_now, acquirer, controller

DOCKS = ("D1", "D2")


@pytest.fixture
def acq(tmp_path: Path) -> Iterator[Acquirer]:
    with acquirer(tmp_path) as rig:
        rig.bikes()
        yield rig


@pytest.fixture(params=["simulated", "mqtt"])
def device(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatedDevice, Actuator]]:
    """The dock controller, in-process or behind the real Mosquitto."""
    with controller(request.param, DOCKS) as pair:
        yield pair


def make_dock(
    acq: Acquirer, actuator: Actuator, tmp_path: Path, terminal: str = "DOCK1", **options: object
) -> BikeDock:
    settings = replace(
        BikeSettings(docks=DOCKS, deposit=TARIFF.deposit, unlock_timeout=0.5,
                     deny_list=tmp_path / f"{terminal}-deny.json",
                     queue=tmp_path / f"{terminal}-queue.sqlite3"),
        **options,
    )  # fmt: skip
    return BikeDock(BikeApi(acq.client(), terminal), actuator, settings, currency="EUR",
                    queue=RideQueue(settings.queue), deny=DenyCache(settings.deny_list),
                    tariff=TariffCache(tmp_path / f"{terminal}-tariff.json"))  # fmt: skip


def payment(acq: Acquirer, rental_id: str) -> tuple[str, int, int]:
    rental = acq.store.get_rental(rental_id)
    assert rental is not None and rental.payment_id is not None
    pay = acq.store.get_payment(rental.payment_id)
    assert pay is not None
    return pay.status.value, pay.authorized, pay.captured


def test_tap_on_unlocks_and_tap_off_captures_the_fare(
    acq: Acquirer, device: tuple[SimulatedDevice, Actuator], tmp_path: Path
) -> None:
    sim, actuator = device
    dock = make_dock(acq, actuator, tmp_path)
    rider = acq.card()
    on = dock.tap_on(rider.reader(), "D1", "BIKE-7", wait=1)
    assert (on.outcome, on.reason) == ("unlocked", "approved"), on
    assert on.arpc_verified is True
    assert sim.state_of("D1").value == "open"
    rental = acq.store.get_rental(on.rental_id or "")
    assert rental is not None and rental.state.value == "riding"
    assert payment(acq, rental.id) == ("authorized", TARIFF.deposit, 0)
    other = make_dock(acq, actuator, tmp_path, "DOCK2")
    off = other.tap_off(rider.reader(), "D2", wait=1)
    assert off.outcome == "returned", off
    assert off.receipt is not None and off.receipt.rental_id == rental.id
    assert (off.receipt.fare, off.receipt.captured, off.receipt.debt) == (100, 100, 0)
    status, _, captured = payment(acq, rental.id)
    assert (status, captured) == ("captured", 100)  # the rest of the hold released
    assert "par" in off.to_dict() and rider.token not in str(off.to_dict())


def test_lock_event_returns_the_bike(
    acq: Acquirer, device: tuple[SimulatedDevice, Actuator], tmp_path: Path
) -> None:
    sim, actuator = device
    dock = make_dock(acq, actuator, tmp_path)
    on = dock.tap_on(acq.card().reader(), "D1", "BIKE-9", wait=1)
    assert on.outcome == "unlocked"
    sim.hand.dock_bike("D2", "BIKE-9")
    result = None
    while result is None:
        event = actuator.next_event(timeout=10)
        assert event is not None, "no lock event"
        result = dock.docked(event)
    assert (result.outcome, result.bike, result.dock) == ("returned", "BIKE-9", "D2")
    assert result.receipt is not None and result.receipt.captured == 100
    assert dock.bikes == {"D2": "BIKE-9"}
    assert payment(acq, on.rental_id or "")[0] == "captured"


def test_lock_never_confirms_cancels_and_voids_the_hold(
    acq: Acquirer, device: tuple[SimulatedDevice, Actuator], tmp_path: Path
) -> None:
    sim, actuator = device
    sim.set_fault("D1", Fault.NEVER_CONFIRMS)
    dock = make_dock(acq, actuator, tmp_path)
    result = dock.tap_on(acq.card().reader(), "D1", "BIKE-1", wait=1)
    assert (result.outcome, result.reason) == ("cancelled", "lock_timeout")
    rental = acq.store.get_rental(result.rental_id or "")
    assert rental is not None
    assert (rental.state.value, rental.cancel_reason) == ("cancelled", "lock_timeout")
    assert payment(acq, rental.id)[0] == "voided"
    assert sim.state_of("D1").value == "locked"


def test_jammed_lock_and_silent_controller_cancel(
    acq: Acquirer, device: tuple[SimulatedDevice, Actuator], tmp_path: Path
) -> None:
    sim, actuator = device
    dock = make_dock(acq, actuator, tmp_path)
    sim.set_fault("D1", Fault.JAMS)
    jammed = dock.tap_on(acq.card().reader(), "D1", "BIKE-1", wait=1)
    assert (jammed.outcome, jammed.reason) == ("cancelled", "lock_timeout")
    sim.silent = True
    silent = dock.tap_on(acq.card().reader(), "D2", "BIKE-2", wait=1)
    assert (silent.outcome, silent.reason) == ("cancelled", "actuator_error")
    for result in (jammed, silent):
        assert payment(acq, result.rental_id or "")[0] == "voided"


def test_card_rejecting_the_arpc_cancels_the_rental(acq: Acquirer, tmp_path: Path) -> None:
    rider = acq.card()
    # The card answers EXTERNAL AUTHENTICATE with 6300: it does not accept the issuer's ARPC.
    hostile = HostileCard(rider.applet, [Rule(0x82, status(0x6300))])
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path)
        result = dock.tap_on(LoopbackReader(hostile), "D1", "BIKE-1", wait=1)
        assert (result.outcome, result.reason, result.arpc_verified) == (
            "cancelled", "card_rejected_arpc", False
        )  # fmt: skip
        assert actuator.device.log == []  # type: ignore[attr-defined]  # never commanded open
    rental = acq.store.get_rental(result.rental_id or "")
    assert rental is not None and rental.cancel_reason == "card_rejected_arpc"
    assert payment(acq, rental.id)[0] == "voided"


def test_rider_with_a_bike_out_is_refused_then_the_tap_is_a_tap_off(
    acq: Acquirer, tmp_path: Path
) -> None:
    rider = acq.card()
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path)
        first = dock.tap_on(rider.reader(), "D1", "BIKE-1", wait=1)
        again = dock.tap_on(rider.reader(), "D2", "BIKE-2", wait=1)
        assert (again.outcome, again.reason) == ("refused", "rental_active")
        assert "return it first" in again.message
        dock.bikes["D2"] = "BIKE-2"
        off = dock.tap(rider.reader(), wait=1)
    assert (off.action, off.outcome, off.rental_id) == ("return", "returned", first.rental_id)


def test_declined_completion_makes_a_debt_and_paying_it_lifts_the_deny_list(
    acq: Acquirer, tmp_path: Path
) -> None:
    # A deposit below the unlock fee, and the category's limit below the fare: the
    # incremental authorization is refused, so what the hold cannot cover is a debt.
    acq.store.put_tariff("BIKES", replace(TARIFF, deposit=50), acq_now())
    acq.store.set_mcc_limit("7999", 60)
    rider = acq.card()
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path, deposit=50)
        on = dock.tap_on(rider.reader(), "D1", "BIKE-1", wait=1)
        assert on.outcome == "unlocked", on
        off = dock.tap_off(rider.reader(), "D2", wait=1)
        assert off.receipt is not None
        assert (off.receipt.fare, off.receipt.captured, off.receipt.debt) == (100, 50, 50)
        assert dock.sync() is True
        assert rider.par in dock.deny
        refused = dock.tap_on(rider.reader(), "D1", "BIKE-2", wait=1)
        assert (refused.outcome, refused.reason) == ("refused", "par_denied")
        assert "Unpaid rides: 0.50 EUR" in refused.message
        # The rider pays the debt with a tap (a sale of its amount).
        from terminal.kernel import Kernel, Transaction

        kernel = Kernel()
        reader = rider.reader()
        reader.wait_for_card(1)
        read = kernel.run(reader, Transaction(50, "EUR"))
        paid = acq.post(f"/v1/debts/{off.receipt.debt_id}/payments",
                        {"terminal_id": "DOCK1", "amount": 50, "currency": "EUR",
                         "emv_data": read.data_record.hex()})  # fmt: skip
        assert (paid["approved"], paid["status"]) == (True, "paid")
        assert dock.sync() is True
        assert rider.par not in dock.deny
        acq.store.set_mcc_limit("7999", None)
        ride = dock.tap_on(rider.reader(), "D1", "BIKE-2", wait=1)
        assert ride.outcome == "unlocked", ride


def test_a_dock_event_without_a_ride_and_foreign_units_are_ignored(
    acq: Acquirer, tmp_path: Path
) -> None:
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path)
        assert dock.docked(ActuatorEvent("D1", EventKind.OPENED)) is None
        assert dock.docked(ActuatorEvent("D9", EventKind.LOCKED, bike_id="B")) is None
        nobody = dock.docked(ActuatorEvent("D1", EventKind.LOCKED, bike_id="BIKE-X"))
    assert nobody is not None and nobody.outcome == "no_ride"


# -- the deposit: the operator's tariff, fetched at start and cached --------------------------


def test_without_bike_deposit_the_dock_holds_the_tariffs_deposit_and_caches_it(
    acq: Acquirer, tmp_path: Path
) -> None:
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path, deposit=None)
        assert dock.start() == TARIFF.deposit
        assert [line for line in acq.link.sent if "tariff" in line] == ["GET /v1/bikes/tariff 200"]
        on = dock.tap_on(acq.card().reader(), "D1", "BIKE-7", wait=1)
        assert on.outcome == "unlocked", on
        assert payment(acq, on.rental_id or "") == ("authorized", TARIFF.deposit, 0)
        cached = TariffCache(tmp_path / "DOCK1-tariff.json").load()
        assert cached is not None and (cached.deposit, cached.currency) == (TARIFF.deposit, "EUR")
        assert (cached.merchant_id, cached.daily_cap) == ("BIKES", TARIFF.daily_cap)
        # Restarted while the acquirer is out of reach: the cached deposit is used.
        acq.link.down = True
        again = make_dock(acq, actuator, tmp_path, deposit=None)
        assert again.start() == TARIFF.deposit
        offline = again.tap_on(acq.card().reader(), "D2", "BIKE-8", wait=1)
        assert offline.outcome == "unlocked_offline", offline
        assert again.queue.pending()[-1].body["amount"] == TARIFF.deposit


def test_offline_without_a_cached_tariff_the_dock_refuses_to_start(
    acq: Acquirer, tmp_path: Path
) -> None:
    acq.link.down = True
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path, deposit=None)
        with pytest.raises(SettingsError, match="no tariff is cached"):
            dock.start()
        with pytest.raises(SettingsError, match="no tariff is cached"):
            dock.tap_on(acq.card().reader(), "D1", "BIKE-7", wait=1)
        assert actuator.device.log == []
        # bike.deposit still works offline (an override: no tariff needed to start).
        assert make_dock(acq, actuator, tmp_path, deposit=TARIFF.deposit).start() == 5000


def test_an_operator_without_a_tariff_is_a_set_up_error(acq: Acquirer, tmp_path: Path) -> None:
    acq.merchant("NOTARIFF")
    acq.terminal("DOCK9", "NOTARIFF", "bike")
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path, "DOCK9", deposit=None)
        with pytest.raises(SettingsError, match="tariff_missing"):
            dock.start()


def test_a_bike_deposit_override_must_match_the_tariff(acq: Acquirer, tmp_path: Path) -> None:
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path, deposit=TARIFF.deposit - 1)
        assert dock.start() == TARIFF.deposit - 1  # the override is not second-guessed ...
        on = dock.tap_on(acq.card().reader(), "D1", "BIKE-7", wait=1)
        assert (on.outcome, on.reason) == ("error", "acquirer_rejected:deposit_mismatch")
        assert actuator.device.log == []  # ... the acquirer refuses it, nothing unlocks
    assert acq.store.ledger_totals().journals == {}


def test_a_changed_tariff_is_fetched_again_after_a_deposit_mismatch(
    acq: Acquirer, tmp_path: Path
) -> None:
    with SimulatedActuator(DOCKS) as actuator:
        dock = make_dock(acq, actuator, tmp_path, deposit=None)
        assert dock.start() == TARIFF.deposit
        acq.store.put_tariff("BIKES", replace(TARIFF, deposit=3000), acq_now())
        stale = dock.tap_on(acq.card().reader(), "D1", "BIKE-7", wait=1)
        assert stale.reason == "acquirer_rejected:deposit_mismatch"
        fresh = dock.tap_on(acq.card().reader(), "D1", "BIKE-7", wait=1)
        assert fresh.outcome == "unlocked", fresh
        assert payment(acq, fresh.rental_id or "") == ("authorized", 3000, 0)

"""The parcel locker against the real acquirer app: prepaid and cash-on-delivery pickups in one
tap, declines, jams, doors left open, several parcels, pickup codes, a silent controller;
through the simulated actuator and through MQTT on the real Mosquitto."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from card_emulation.faults import HostileCard, Rule, status
from terminal.actuators import Actuator
from terminal.actuators.device import Fault, SimulatedDevice
from terminal.actuators.simulated import SimulatedActuator
from terminal.journal.books import Books
from terminal.modes.locker.locker import Locker
from terminal.modes.settings import LockerSettings
from terminal.online.parcels import ParcelApi
from terminal.readers.emulated import LoopbackReader
from tests.terminal.modes.rig import Acquirer, acquirer, controller

UNITS = ("01", "02", "03", "04")


@pytest.fixture
def acq(tmp_path: Path) -> Iterator[Acquirer]:
    with acquirer(tmp_path) as rig:
        rig.lockers()
        yield rig


@pytest.fixture(params=["simulated", "mqtt"])
def bank(request: pytest.FixtureRequest) -> Iterator[tuple[SimulatedDevice, Actuator]]:
    """The compartment doors' controller, in-process or behind the real Mosquitto."""
    with controller(request.param, UNITS) as pair:
        yield pair


def make_locker(acq: Acquirer, actuator: Actuator, **options: object) -> Locker:
    settings = LockerSettings(**{"door_timeout": 0.5, "left_open_after": 30.0, **options})  # type: ignore[arg-type]
    return Locker(ParcelApi(acq.client(), "LOCKER1"), actuator, settings, currency="EUR")


def parcel_state(acq: Acquirer, parcel_id: str) -> str:
    return str(acq.get(f"/v1/parcels/{parcel_id}", terminal_id="LOCKER1")["state"])


def collect(locker: Locker, device: SimulatedDevice, compartment: str) -> None:
    device.hand.close_door(compartment)
    assert locker.settle(10, until_closed=True) is True
    assert compartment not in locker.open_doors()


def test_prepaid_pickup_opens_and_closing_collects(
    acq: Acquirer, bank: tuple[SimulatedDevice, Actuator]
) -> None:
    device, actuator = bank
    recipient = acq.card()
    parcel = acq.parcel(recipient)
    locker = make_locker(acq, actuator)
    result = locker.pickup_by_card(recipient.reader(), wait=1)
    assert (result.outcome, result.paid) == ("opened", 0), result
    assert [(d.parcel_id, d.compartment, d.state) for d in result.doors] == [
        (parcel["parcel_id"], parcel["compartment"], "open")
    ]
    assert parcel_state(acq, parcel["parcel_id"]) == "opened"
    collect(locker, device, parcel["compartment"])
    assert parcel_state(acq, parcel["parcel_id"]) == "collected"
    assert [e for _, e, _ in locker.reported] == ["opened", "closed"]
    audit = acq.get(f"/v1/parcels/{parcel['parcel_id']}/audit", terminal_id="LOCKER1")
    assert "collected" in [e["action"] for e in audit["events"]]


def test_cash_on_delivery_is_paid_in_the_same_tap(
    acq: Acquirer, bank: tuple[SimulatedDevice, Actuator]
) -> None:
    device, actuator = bank
    recipient = acq.card()
    parcel = acq.parcel(recipient, cod=1990)
    locker = make_locker(acq, actuator)
    reader = recipient.reader()
    waits: list[float | None] = []
    original = reader.wait_for_card

    def counted(timeout: float | None = None):  # type: ignore[no-untyped-def]
        waits.append(timeout)
        return original(timeout)

    reader.wait_for_card = counted  # type: ignore[method-assign]
    result = locker.pickup_by_card(reader, wait=1)
    assert (result.outcome, result.paid, result.currency) == ("opened", 1990, "EUR"), result
    assert result.arpc_verified is True
    assert len(waits) == 1  # one presentation: the payment ran on the card still in the field
    body = acq.get(f"/v1/parcels/{parcel['parcel_id']}", terminal_id="LOCKER1")
    assert (body["state"], body["amount_paid"]) == ("opened", 1990)
    collect(locker, device, parcel["compartment"])


def test_declined_cash_on_delivery_keeps_the_door_shut(acq: Acquirer) -> None:
    recipient = acq.card()
    parcel = acq.parcel(recipient, cod=1990)
    acq.store.set_mcc_limit("4215", 1000)  # the locker's category refuses the sale
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator)
        result = locker.pickup_by_card(recipient.reader(), wait=1)
        assert (result.outcome, result.reason) == ("declined", "amount_limit_exceeded"), result
        assert result.doors == () and actuator.device.log == []
    assert parcel_state(acq, parcel["parcel_id"]) == "waiting"


def parcel_view(acq: Acquirer, parcel_id: str) -> dict[str, Any]:
    return acq.get(f"/v1/parcels/{parcel_id}", terminal_id="LOCKER1")


def sales(acq: Acquirer) -> tuple[int, int]:
    """(sale journals, cancel journals) in the acquirer's ledger."""
    journals = acq.store.ledger_totals().journals
    return journals.get("sale", 0), journals.get("cancel", 0)


def test_card_rejecting_the_payment_arpc_keeps_the_door_shut(acq: Acquirer) -> None:
    recipient = acq.card()
    parcel = acq.parcel(recipient, cod=500)
    # The card accepts the first ARPC (the verification), refuses the second (the sale).
    card = HostileCard(recipient.applet, [Rule(0x82, status(0x6300), occurrence=2)])
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator)
        result = locker.pickup_by_card(LoopbackReader(card), wait=1)
        assert (result.outcome, result.reason) == ("declined", "issuer_authentication_failed")
        assert result.reversal == "reversed" and result.paid == 0
        assert actuator.device.log == []
        # The sale was reversed: the parcel waits, nothing paid, and the next tap pays again.
        body = parcel_view(acq, parcel["parcel_id"])
        assert (body["state"], body["amount_paid"], body["payment_id"]) == ("waiting", 0, None)
        assert sales(acq) == (1, 1)
        again = locker.pickup_by_card(recipient.reader(), wait=1)
        assert (again.outcome, again.paid) == ("opened", 500), again
        assert [d.compartment for d in again.doors] == [parcel["compartment"]]
    assert sales(acq) == (2, 1)
    assert parcel_view(acq, parcel["parcel_id"])["amount_paid"] == 500


def test_lost_payment_answer_is_reversed_and_the_next_tap_pays(acq: Acquirer) -> None:
    recipient = acq.card()
    parcel = acq.parcel(recipient, cod=800)
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator)
        acq.link.lose_answer_of = "/payments"  # the sale is approved, its answer never arrives
        lost = locker.pickup_by_card(recipient.reader(), wait=1)
        assert (lost.outcome, lost.reason, lost.reversal) == (
            "error",
            "acquirer_unavailable",
            "reversed",
        ), lost
        assert lost.doors == () and actuator.device.log == []
        assert parcel_view(acq, parcel["parcel_id"])["state"] == "waiting"
        assert sales(acq) == (1, 1)
        again = locker.pickup_by_card(recipient.reader(), wait=1)
        assert (again.outcome, again.paid, again.reversal) == ("opened", 800, None), again
    assert sales(acq) == (2, 1)
    audit = acq.get(f"/v1/parcels/{parcel['parcel_id']}/audit", terminal_id="LOCKER1")
    actions = [e["action"] for e in audit["events"]]
    assert actions.count("paid") == 2 and actions.count("payment_reversed") == 1


def test_jammed_door_is_retried_without_paying_twice(
    acq: Acquirer, bank: tuple[SimulatedDevice, Actuator]
) -> None:
    device, actuator = bank
    recipient = acq.card()
    parcel = acq.parcel(recipient, cod=700)
    unit = parcel["compartment"]
    device.set_fault(unit, Fault.JAMS)
    locker = make_locker(acq, actuator)
    jammed = locker.pickup_by_card(recipient.reader(), wait=1)
    assert (jammed.outcome, jammed.paid) == ("jammed", 700), jammed
    assert [d.state for d in jammed.doors] == ["jammed"]
    body = acq.get(f"/v1/parcels/{parcel['parcel_id']}", terminal_id="LOCKER1")
    assert (body["state"], body["jams"]) == ("released", 1)
    device.set_fault(unit, None)
    device.hand.close_door(unit)  # the technician frees the lock
    retry = locker.pickup_by_card(recipient.reader(), wait=1)
    assert (retry.outcome, retry.paid) == ("opened", 0), retry
    body = acq.get(f"/v1/parcels/{parcel['parcel_id']}", terminal_id="LOCKER1")
    assert (body["state"], body["amount_paid"]) == ("opened", 700)


def test_door_left_open_is_reported_then_closing_collects(
    acq: Acquirer, bank: tuple[SimulatedDevice, Actuator]
) -> None:
    device, actuator = bank
    recipient = acq.card()
    parcel = acq.parcel(recipient)
    locker = make_locker(acq, actuator, left_open_after=0.2)
    assert locker.pickup_by_card(recipient.reader(), wait=1).outcome == "opened"
    assert locker.settle(10) is True  # nobody shut it: reported left open
    assert [e for _, e, _ in locker.reported] == ["opened", "left_open"]
    assert parcel_state(acq, parcel["parcel_id"]) == "opened"
    collect(locker, device, parcel["compartment"])
    assert [e for _, e, _ in locker.reported] == ["opened", "left_open", "closed"]
    assert parcel_state(acq, parcel["parcel_id"]) == "collected"


@pytest.mark.parametrize("release", ["oldest", "all"])
def test_two_parcels_oldest_or_all(acq: Acquirer, release: str) -> None:
    recipient = acq.card()
    first, second = acq.parcel(recipient, ref="A"), acq.parcel(recipient, ref="B")
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator, release=release)
        result = locker.pickup_by_card(recipient.reader(), wait=1)
        opened = [d.parcel_id for d in result.doors]
        if release == "oldest":
            assert opened == [first["parcel_id"]]
            assert parcel_state(acq, second["parcel_id"]) == "waiting"
            opened += [d.parcel_id for d in locker.pickup_by_card(recipient.reader(), wait=1).doors]
        assert opened == [first["parcel_id"], second["parcel_id"]]
        commands = [unit for command, unit in actuator.device.log if command == "open"]
        assert commands == [first["compartment"], second["compartment"]]


def test_all_with_a_paid_parcel_opens_the_rest_in_the_same_tap(acq: Acquirer) -> None:
    recipient = acq.card()
    prepaid, cod = acq.parcel(recipient, ref="A"), acq.parcel(recipient, cod=990, ref="B")
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator, release="all")
        result = locker.pickup_by_card(recipient.reader(), wait=1)
    assert result.outcome == "opened" and result.paid == 990
    assert {d.parcel_id for d in result.doors} == {prepaid["parcel_id"], cod["parcel_id"]}


def test_pickup_code_and_code_with_payment_needs_a_tap(acq: Acquirer) -> None:
    recipient = acq.card()
    free = acq.parcel(None, code=True, ref="C1")
    due = acq.parcel(None, code=True, cod=450, ref="C2")
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator)
        wrong = locker.pickup_by_code("000000" if free["pickup_code"] != "000000" else "111111",
                                      None, wait=1)  # fmt: skip
        assert (wrong.outcome, wrong.reason) == ("refused", "pickup_code_invalid")
        opened = locker.pickup_by_code(free["pickup_code"], None, wait=1)
        assert [d.compartment for d in opened.doors] == [free["compartment"]]
        no_reader = locker.pickup_by_code(due["pickup_code"], None, wait=1)
        assert (no_reader.outcome, no_reader.reason) == ("refused", "payment_needs_card")
        paid = locker.pickup_by_code(due["pickup_code"], recipient.reader(), wait=1)
        assert (paid.outcome, paid.paid) == ("opened", 450), paid
        assert [d.compartment for d in paid.doors] == [due["compartment"]]


def test_silent_controller_is_reported_and_the_parcel_stays_retriable(
    acq: Acquirer, bank: tuple[SimulatedDevice, Actuator]
) -> None:
    device, actuator = bank
    recipient = acq.card()
    parcel = acq.parcel(recipient)
    device.silent = True
    locker = make_locker(acq, actuator, door_timeout=0.3)
    result = locker.pickup_by_card(recipient.reader(), wait=1)
    assert (result.outcome, result.reason) == ("out_of_order", "actuator_unavailable"), result
    assert "out of order" in result.message
    assert [e for _, e, _ in locker.reported] == ["jammed"]
    assert parcel_state(acq, parcel["parcel_id"]) == "released"
    device.silent = False
    retry = locker.pickup_by_card(recipient.reader(), wait=1)
    assert retry.outcome == "opened"


def test_nothing_waiting_is_refused_with_the_message(acq: Acquirer) -> None:
    with SimulatedActuator(UNITS) as actuator:
        locker = make_locker(acq, actuator)
        result = locker.pickup_by_card(acq.card().reader(), wait=1)
    assert (result.outcome, result.reason) == ("refused", "no_parcel_waiting")
    assert result.message == "There is no parcel for you at this locker."


def test_with_the_books_a_lost_payment_is_journalled_and_reversed_through_the_outbox(
    acq: Acquirer, tmp_path: Path
) -> None:
    recipient = acq.card()
    parcel = acq.parcel(recipient, cod=800)
    client = acq.client()
    with SimulatedActuator(UNITS) as actuator, Books.open(
        tmp_path / "journal.sqlite3", tmp_path / "outbox.sqlite3", client, "LOCKER1"
    ) as books:  # fmt: skip
        settings = LockerSettings(door_timeout=0.5, left_open_after=30.0)
        locker = Locker(ParcelApi(client, "LOCKER1"), actuator, settings, currency="EUR",
                        books=books)  # fmt: skip
        acq.link.lose_answer_of = "/payments"  # the sale is approved, its answer never arrives
        lost = locker.pickup_by_card(recipient.reader(), wait=1)
        assert (lost.outcome, lost.reason, lost.reversal) == (
            "error", "acquirer_unavailable", "reversed"), lost  # fmt: skip
        assert lost.doors == () and actuator.device.log == []
        [entry] = books.journal.entries()
        assert (entry.kind.value, entry.amount, entry.state.value) == (
            "parcel_pickup", 800, "reversed")  # fmt: skip
        assert sales(acq) == (1, 1)  # the sale, and its reversal from the outbox
        assert parcel_view(acq, parcel["parcel_id"])["state"] == "waiting"
        # A door event the acquirer cannot take now waits in the outbox.
        again = locker.pickup_by_card(recipient.reader(), wait=1)
        assert again.outcome == "opened", again
        acq.link.down = True
        collect(locker, actuator.device, again.doors[0].compartment)
        assert locker.reported[-1][1:] == ("closed", "queued")
        assert books.outbox.pending().by_kind == {"door_event": 1}
        acq.link.down = False
        books.outbox.due_now("door_event")
        assert books.flush().delivered == 1
    assert parcel_view(acq, parcel["parcel_id"])["state"] == "collected"

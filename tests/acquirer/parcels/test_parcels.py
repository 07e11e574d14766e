"""Parcel lockers over the real app, on every backend: registration, pickups by card and by
code, parcel payments, door events, audit, reports; idempotency and the ledger of each."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from acquirer import Settings, create_app
from acquirer.clock import utc_now
from acquirer.parcels.rows import CompartmentSize, CompartmentStatus, ParcelStore, StorageFeeRow
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from tests.acquirer.payments.test_api import PROBLEM, assert_problem
from tests.acquirer.testkit import TestCard

LOCKER, COURIER, OTHER = "LOCKER01", "COURIER1", "SHOP0001"
NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@dataclass
class Clock:
    """The app's clock: real time plus what a test adds."""

    offset: timedelta = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.offset


@dataclass
class Lockers:
    """Drives one locker and one courier terminal through the API."""

    client: TestClient
    store: ParcelStore
    clock: Clock
    keys: Iterator[str] = field(default_factory=lambda: (f"k-{n}" for n in itertools.count()))
    atc: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        response: httpx.Response = self.client.post(
            path, json=body, headers={"Idempotency-Key": key or next(self.keys)}
        )
        return response

    def register(self, key: str | None = None, **fields: Any) -> httpx.Response:
        body = {
            "terminal_id": COURIER,
            "locker_id": LOCKER,
            "size": "M",
            "currency": "EUR",
            "reference": "TRACK-1",
            **fields,
        }
        return self.post("/v1/parcels", body, key)

    def tap(self, card: TestCard, amount: int = 0) -> str:
        return card.tap(amount=amount, atc=next(self.atc)).hex

    def pickup(self, key: str | None = None, **fields: Any) -> httpx.Response:
        return self.post("/v1/parcels/pickups", {"terminal_id": LOCKER, **fields}, key)

    def pay(
        self, parcel_id: str, card: TestCard, amount: int, key: str | None = None
    ) -> httpx.Response:
        body = {
            "terminal_id": LOCKER,
            "amount": amount,
            "currency": "EUR",
            "emv_data": self.tap(card, amount),
        }
        return self.post(f"/v1/parcels/{parcel_id}/payments", body, key)

    def door(self, parcel_id: str, event: str, key: str | None = None) -> httpx.Response:
        body = {"terminal_id": LOCKER, "event": event, "at": "2026-11-22T12:00:00Z"}
        return self.post(f"/v1/parcels/{parcel_id}/door-events", body, key)

    def audit(self, parcel_id: str) -> list[str]:
        response = self.client.get(f"/v1/parcels/{parcel_id}/audit", params={"terminal_id": LOCKER})
        doc = ok(response)
        return [event["action"] for event in doc["events"]]

    def parcel(self, parcel_id: str) -> dict[str, Any]:
        return ok(self.client.get(f"/v1/parcels/{parcel_id}", params={"terminal_id": LOCKER}))


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def register_locker(store: ParcelStore, *, fees: bool = True) -> None:
    assert store.put_merchant(MerchantRow("LOCKOP", "Lockers", "4215", "EUR", "DE89", NOW))
    assert store.put_merchant(MerchantRow("PARCELCO", "Couriers", "4215", "EUR", "DE88", NOW))
    for terminal, merchant, actions in (
        (LOCKER, "LOCKOP", ("locker",)),
        (COURIER, "PARCELCO", ("courier",)),
        (OTHER, "PARCELCO", ("pay",)),
    ):
        row = TerminalRow(terminal, merchant, actions, TerminalStatus.ACTIVE, None, NOW)
        assert store.put_terminal(row)
    store.add_compartments(LOCKER, CompartmentSize.S, 1, NOW)
    store.add_compartments(LOCKER, CompartmentSize.M, 1, NOW)
    store.add_compartments(LOCKER, CompartmentSize.L, 1, NOW)
    if fees:
        store.set_storage_fees(StorageFeeRow("LOCKOP", "EUR", 48, 150, NOW))


@pytest.fixture
def lockers(backend_settings: Settings, any_parcel_store: ParcelStore) -> Iterator[Lockers]:
    register_locker(any_parcel_store)
    clock = Clock()
    with TestClient(create_app(backend_settings, clock=clock)) as client:
        yield Lockers(client, any_parcel_store, clock)


@pytest.fixture
def card(any_new_card: Callable[..., TestCard]) -> TestCard:
    return any_new_card("visa")


def par_of(store: ParcelStore, card: TestCard) -> str:
    token = store.get_token(card.token)
    assert token is not None
    return token.par


# -- registration ---------------------------------------------------------------------------


def test_registration_takes_the_exact_size_then_larger_then_refuses(lockers: Lockers) -> None:
    sizes = [ok(lockers.register(size="M", pickup_code=True)) for _ in range(2)]
    assert [(s["compartment"], s["size"]) for s in sizes] == [("02", "M"), ("03", "L")]
    assert_problem(lockers.register(size="M", pickup_code=True), 409, "no_compartment_free")
    small = ok(lockers.register(size="S", pickup_code=True))
    assert (small["compartment"], small["state"]) == ("01", "waiting")
    statuses = {c.compartment_id: c.status for c in lockers.store.list_compartments(LOCKER)}
    assert set(statuses.values()) == {CompartmentStatus.OCCUPIED}


def test_pickup_code_is_returned_once_replayed_exactly_and_never_stored(
    lockers: Lockers, backend_settings: Settings
) -> None:
    first = lockers.register(key="reg-1", pickup_code=True, cod_amount=500)
    doc = ok(first)
    code = doc["pickup_code"]
    assert isinstance(code, str) and len(code) == 6 and code.isdigit()
    again = lockers.register(key="reg-1", pickup_code=True, cod_amount=500)
    assert again.content == first.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert_problem(
        lockers.register(key="reg-1", pickup_code=True, cod_amount=501),
        409,
        "idempotency_key_reused",
    )
    # Nothing in the database holds the code in clear: not the parcel, not the stored answer.
    parcel = lockers.store.get_parcel(doc["parcel_id"])
    assert parcel is not None and parcel.code_hash is not None
    assert code.encode() not in parcel.code_hash + (parcel.code_salt or b"")
    operation = lockers.store.find_parcel_operation(COURIER, "reg-1")
    assert operation is not None and code not in operation.response_json
    assert "pickup_code" not in lockers.parcel(doc["parcel_id"])


def test_registration_is_for_couriers_and_lockers_only(lockers: Lockers) -> None:
    assert_problem(lockers.register(terminal_id=OTHER, pickup_code=True), 403, "terminal_forbidden")
    assert_problem(lockers.register(locker_id=OTHER, pickup_code=True), 404, "locker_unknown")
    assert_problem(lockers.register(), 422, "request_invalid")  # nobody could pick it up
    assert_problem(
        lockers.register(pickup_code=True, currency="USD"), 422, "parcel_currency_mismatch"
    )


# -- pickups by card ------------------------------------------------------------------------


def test_card_pickup_opens_and_the_door_cycle_collects(lockers: Lockers, card: TestCard) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par))["parcel_id"]
    answer = ok(lockers.pickup(emv_data=lockers.tap(card)))
    assert answer["action"] == "open" and answer["reason"] == "approved"
    assert answer["parcels"] == [{"parcel_id": parcel, "compartment": "02"}]
    assert answer["par"] == par and answer["issuer_authentication_data"]
    assert lockers.parcel(parcel)["state"] == "released"
    closed_early = ok(lockers.door(parcel, "closed"))  # never opened: not collected
    assert closed_early["state"] == "released" and not closed_early["compartment_free"]
    assert ok(lockers.door(parcel, "opened"))["state"] == "opened"
    done = ok(lockers.door(parcel, "closed", key="close-1"))
    assert (done["state"], done["compartment_free"]) == ("collected", True)
    replay = lockers.door(parcel, "closed", key="close-1")
    assert replay.headers["Idempotent-Replayed"] == "true" and replay.json() == done
    assert_problem(lockers.door(parcel, "opened"), 409, "parcel_state_conflict")
    compartments = {c.compartment_id: c.status for c in lockers.store.list_compartments(LOCKER)}
    assert compartments["02"] is CompartmentStatus.FREE
    assert lockers.audit(parcel) == [
        "registered",
        "released",
        "door_closed",
        "door_opened",
        "door_closed",
        "collected",
    ]
    # An account verification moves no money.
    assert lockers.store.ledger_totals().journals == {}
    nothing = ok(lockers.pickup(emv_data=lockers.tap(card)))
    assert (nothing["action"], nothing["reason"]) == ("refused", "no_parcel_waiting")


def test_cod_and_storage_fee_are_paid_in_one_sale_then_opened(
    lockers: Lockers, card: TestCard
) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par, cod_amount=1990))["parcel_id"]
    lockers.clock.offset = timedelta(hours=48 + 25)  # two started days after 48 free hours
    ask = ok(lockers.pickup(emv_data=lockers.tap(card)))
    assert (ask["action"], ask["parcel_id"], ask["currency"]) == ("pay", parcel, "EUR")
    assert (ask["amount_due"], ask["cod_amount"], ask["storage_fee"]) == (2290, 1990, 300)
    assert ask["parcels"] == []
    assert lockers.parcel(parcel)["state"] == "waiting"
    assert_problem(lockers.pay(parcel, card, 1990), 409, "amount_due_mismatch")
    paid = lockers.pay(parcel, card, 2290, key="pay-1")
    doc = ok(paid)
    assert doc["action"] == "open" and doc["parcels"][0]["parcel_id"] == parcel
    again = lockers.client.post(
        f"/v1/parcels/{parcel}/payments",
        json={"terminal_id": LOCKER, "amount": 2290, "currency": "EUR", "emv_data": "9F0206"},
        headers={"Idempotency-Key": "pay-1"},
    )
    assert again.status_code == 409  # same key, different tap: refused, never charged twice
    view = lockers.parcel(parcel)
    assert (view["state"], view["amount_paid"], view["storage_fee_paid"]) == ("released", 2290, 300)
    assert view["payment_id"] == doc["authorization_id"]
    assert_problem(lockers.pay(parcel, card, 2290), 409, "parcel_state_conflict")
    totals = lockers.store.ledger_totals()
    assert totals.unbalanced == 0 and totals.journals == {"sale": 1, "storage_fee": 1}
    balances = lockers.store.account_balances()
    fee = (2290 * 150 + 5_000) // 10_000
    assert balances["fees:storage:LOCKOP EUR"] == -300
    assert balances[f"merchant_payable:{LOCKER} EUR"] == -(2290 - fee - 300)
    assert balances["issuer_receivable EUR"] == 2290
    payment = lockers.store.get_payment(doc["authorization_id"])
    assert payment is not None and payment.captured == 2290
    assert lockers.audit(parcel) == ["registered", "payment_requested", "paid", "released"]


def test_a_jammed_door_is_retried_without_paying_twice(lockers: Lockers, card: TestCard) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par, cod_amount=700))["parcel_id"]
    assert ok(lockers.pickup(emv_data=lockers.tap(card)))["action"] == "pay"
    assert ok(lockers.pay(parcel, card, 700))["action"] == "open"
    jam = ok(lockers.door(parcel, "jammed"))
    assert jam["state"] == "released"
    retry = ok(lockers.pickup(emv_data=lockers.tap(card)))
    assert retry["action"] == "open" and retry["parcels"][0]["parcel_id"] == parcel
    assert lockers.store.ledger_totals().journals == {"sale": 1}
    assert ok(lockers.door(parcel, "opened"))["state"] == "opened"
    assert ok(lockers.door(parcel, "left_open"))["state"] == "opened"
    assert ok(lockers.door(parcel, "closed"))["state"] == "collected"
    assert lockers.parcel(parcel)["jams"] == 1
    assert "released_again" in lockers.audit(parcel)
    assert "door_left_open" in lockers.audit(parcel)


def test_release_all_opens_every_free_parcel_and_asks_for_one_payment_at_a_time(
    lockers: Lockers, card: TestCard
) -> None:
    par = par_of(lockers.store, card)
    free = [ok(lockers.register(recipient_par=par, size="S"))["parcel_id"] for _ in range(1)]
    free.append(ok(lockers.register(recipient_par=par, size="M"))["parcel_id"])
    opened = ok(lockers.pickup(emv_data=lockers.tap(card), release="all"))
    assert [p["parcel_id"] for p in opened["parcels"]] == free
    cod = ok(lockers.register(recipient_par=par, size="L", cod_amount=100))["parcel_id"]
    oldest = ok(lockers.pickup(emv_data=lockers.tap(card), release="oldest"))
    assert oldest["action"] == "open" and [p["parcel_id"] for p in oldest["parcels"]] == free[:1]
    mixed = ok(lockers.pickup(emv_data=lockers.tap(card), release="all"))
    assert (mixed["action"], mixed["parcel_id"], mixed["amount_due"]) == ("pay", cod, 100)


def test_a_declined_payment_opens_nothing_and_posts_nothing(
    lockers: Lockers, card: TestCard
) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par, cod_amount=900))["parcel_id"]
    assert ok(lockers.pickup(emv_data=lockers.tap(card)))["action"] == "pay"
    lockers.store.deny_par(par, "unpaid rental", NOW)
    refused = ok(lockers.pay(parcel, card, 900))
    assert (refused["action"], refused["reason"]) == ("refused", "par_denied")
    assert "unpaid" in refused["message"]
    assert lockers.parcel(parcel)["state"] == "waiting"
    assert lockers.store.ledger_totals().journals == {}
    assert lockers.audit(parcel)[-1] == "payment_declined"


def test_nobody_can_open_a_parcel_by_paying_for_it(
    lockers: Lockers, card: TestCard, any_new_card: Callable[..., TestCard]
) -> None:
    parcel = ok(lockers.register(recipient_par=par_of(lockers.store, card), cod_amount=300))
    stranger = any_new_card("mastercard")
    assert_problem(lockers.pay(parcel["parcel_id"], stranger, 300), 409, "parcel_not_identified")
    assert lockers.store.ledger_totals().journals == {}
    assert lockers.store.count_authorizations() == 0  # the whole transaction rolled back


# -- reversals of parcel payments -----------------------------------------------------------


def reverse(
    lockers: Lockers, parcel_id: str, original: str, key: str | None = None
) -> httpx.Response:
    body = {"terminal_id": LOCKER, "original_idempotency_key": original}
    return lockers.post(f"/v1/parcels/{parcel_id}/payments/reversals", body, key)


def test_a_reversed_payment_puts_the_parcel_back_and_the_next_tap_pays_again(
    lockers: Lockers, card: TestCard
) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par, cod_amount=1990))["parcel_id"]
    lockers.clock.offset = timedelta(hours=48 + 25)
    assert ok(lockers.pickup(emv_data=lockers.tap(card)))["amount_due"] == 2290
    paid = ok(lockers.pay(parcel, card, 2290, key="pay-1"))
    assert paid["action"] == "open"
    # The card rejected the ARPC (or the answer was lost): the locker reverses by the key.
    first = reverse(lockers, parcel, "pay-1", key="rev-1")
    doc = ok(first)
    assert (doc["parcel_id"], doc["state"]) == (parcel, "waiting")
    assert doc["authorization_id"] == paid["authorization_id"]
    assert (doc["payment_status"], doc["amount"], doc["storage_fee"]) == ("reversed", 2290, 300)
    replay = reverse(lockers, parcel, "pay-1", key="rev-1")
    assert replay.content == first.content and replay.headers["Idempotent-Replayed"] == "true"
    assert_problem(reverse(lockers, parcel, "pick-x", key="rev-1"), 409, "idempotency_key_reused")
    assert_problem(reverse(lockers, parcel, "pay-1"), 409, "parcel_state_conflict")
    view = lockers.parcel(parcel)
    assert (view["state"], view["amount_paid"], view["storage_fee_paid"]) == ("waiting", 0, 0)
    assert view["payment_id"] is None and view["released_at"] is None
    payment = lockers.store.get_payment(paid["authorization_id"])
    assert payment is not None and payment.status.value == "reversed" and payment.captured == 0
    totals = lockers.store.ledger_totals()
    assert totals.unbalanced == 0
    assert totals.journals == {"sale": 1, "storage_fee": 1, "cancel": 1, "storage_fee_reversal": 1}
    assert set(lockers.store.account_balances().values()) == {0}  # every movement undone
    assert lockers.audit(parcel)[-1] == "payment_reversed"
    # The door stayed shut: the next tap asks for the payment again, and charges.
    again = ok(lockers.pickup(emv_data=lockers.tap(card)))
    assert (again["action"], again["parcel_id"], again["amount_due"]) == ("pay", parcel, 2290)
    assert ok(lockers.pay(parcel, card, 2290))["action"] == "open"
    assert lockers.store.ledger_totals().journals["sale"] == 2
    assert lockers.parcel(parcel)["amount_paid"] == 2290


def test_a_parcel_whose_door_opened_cannot_be_reversed(lockers: Lockers, card: TestCard) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par, cod_amount=700))["parcel_id"]
    assert ok(lockers.pickup(emv_data=lockers.tap(card)))["action"] == "pay"
    assert ok(lockers.pay(parcel, card, 700, key="pay-1"))["action"] == "open"
    assert ok(lockers.door(parcel, "opened"))["state"] == "opened"
    assert_problem(reverse(lockers, parcel, "pay-1"), 409, "parcel_state_conflict")
    assert ok(lockers.door(parcel, "closed"))["state"] == "collected"
    assert_problem(reverse(lockers, parcel, "pay-1"), 409, "parcel_state_conflict")
    assert lockers.store.ledger_totals().journals == {"sale": 1}
    assert lockers.parcel(parcel)["amount_paid"] == 700


def test_a_jammed_paid_parcel_can_still_be_reversed(lockers: Lockers, card: TestCard) -> None:
    parcel = ok(lockers.register(recipient_par=par_of(lockers.store, card), cod_amount=400))
    parcel_id = parcel["parcel_id"]
    assert ok(lockers.pickup(emv_data=lockers.tap(card)))["action"] == "pay"
    assert ok(lockers.pay(parcel_id, card, 400, key="pay-1"))["action"] == "open"
    assert ok(lockers.door(parcel_id, "jammed"))["state"] == "released"  # never opened
    assert ok(reverse(lockers, parcel_id, "pay-1"))["state"] == "waiting"
    assert lockers.store.ledger_totals().journals == {"sale": 1, "cancel": 1}


def test_only_an_approved_payment_of_that_parcel_is_reversed(
    lockers: Lockers, card: TestCard
) -> None:
    par = par_of(lockers.store, card)
    parcel = ok(lockers.register(recipient_par=par, cod_amount=900))["parcel_id"]
    other = ok(lockers.register(recipient_par=par, size="L"))["parcel_id"]
    assert ok(lockers.pickup(emv_data=lockers.tap(card), key="pick-1"))["action"] == "pay"
    assert_problem(reverse(lockers, parcel, "never-sent"), 404, "payment_unknown")
    assert_problem(reverse(lockers, parcel, "pick-1"), 404, "payment_unknown")  # a pickup
    lockers.store.deny_par(par, "unpaid rental", NOW)
    refused = ok(lockers.pay(parcel, card, 900, key="pay-declined"))
    assert refused["action"] == "refused"
    assert_problem(reverse(lockers, parcel, "pay-declined"), 404, "payment_unknown")
    lockers.store.allow_par(par)
    assert ok(lockers.pay(parcel, card, 900, key="pay-1"))["action"] == "open"
    assert_problem(reverse(lockers, other, "pay-1"), 404, "payment_unknown")  # not its payment
    courier = lockers.post(
        f"/v1/parcels/{parcel}/payments/reversals",
        {"terminal_id": COURIER, "original_idempotency_key": "pay-1"},
    )
    assert_problem(courier, 404, "locker_unknown")
    assert lockers.parcel(parcel)["state"] == "released"
    assert lockers.store.ledger_totals().journals == {"sale": 1}


# -- pickups by code ------------------------------------------------------------------------


def test_code_pickup_with_cod_asks_for_a_tap_of_any_card(
    lockers: Lockers, any_new_card: Callable[..., TestCard]
) -> None:
    doc = ok(lockers.register(pickup_code=True, cod_amount=450))
    ask = ok(lockers.pickup(pickup_code=doc["pickup_code"]))
    assert (ask["action"], ask["amount_due"], ask["authorization_id"]) == ("pay", 450, None)
    paid = ok(lockers.pay(doc["parcel_id"], any_new_card("mastercard"), 450))
    assert paid["action"] == "open"
    assert paid["parcels"] == [{"parcel_id": doc["parcel_id"], "compartment": "02"}]


def test_wrong_codes_lock_code_entry_at_the_locker(lockers: Lockers) -> None:
    doc = ok(lockers.register(pickup_code=True))
    wrong = f"{(int(doc['pickup_code']) + 1) % 1_000_000:06d}"
    for _ in range(5):
        answer = ok(lockers.pickup(pickup_code=wrong))
        assert (answer["action"], answer["reason"]) == ("refused", "pickup_code_invalid")
    locked = ok(lockers.pickup(pickup_code=doc["pickup_code"]))
    assert (locked["action"], locked["reason"]) == ("refused", "pickup_code_locked")
    lockers.clock.offset = timedelta(minutes=16)
    opened = ok(lockers.pickup(pickup_code=doc["pickup_code"]))
    assert opened["action"] == "open"
    assert opened["parcels"] == [{"parcel_id": doc["parcel_id"], "compartment": "02"}]


def test_pickup_requests_are_checked(lockers: Lockers, card: TestCard) -> None:
    assert_problem(lockers.pickup(), 422, "request_invalid")
    both = lockers.pickup(pickup_code="123456", emv_data=lockers.tap(card))
    assert_problem(both, 422, "request_invalid")
    assert_problem(lockers.pickup(pickup_code="12345"), 422, "request_invalid")
    other = lockers.post("/v1/parcels/pickups", {"terminal_id": OTHER, "pickup_code": "123456"})
    assert_problem(other, 404, "locker_unknown")
    response = lockers.client.post(
        "/v1/parcels/pickups", json={"terminal_id": LOCKER, "pickup_code": "123456"}
    )
    assert_problem(response, 400, "idempotency_key_missing")


# -- reports, OpenAPI, logs -----------------------------------------------------------------


def test_parcels_are_listed_by_page_for_the_lockers_operator(lockers: Lockers) -> None:
    lockers.store.add_compartments(LOCKER, CompartmentSize.M, 3, NOW)
    ids = [ok(lockers.register(pickup_code=True))["parcel_id"] for _ in range(3)]
    first = ok(lockers.client.get("/v1/parcels", params={"terminal_id": LOCKER, "limit": 2}))
    assert [p["parcel_id"] for p in first["items"]] == ids[:2]
    rest = ok(
        lockers.client.get(
            "/v1/parcels",
            params={"terminal_id": LOCKER, "state": "waiting", "cursor": first["next_cursor"]},
        )
    )
    assert [p["parcel_id"] for p in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    full = ok(lockers.client.get("/v1/parcels", params={"terminal_id": LOCKER, "limit": 3}))
    assert [p["parcel_id"] for p in full["items"]] == ids and full["next_cursor"] is None
    elsewhere = ok(lockers.client.get("/v1/parcels", params={"terminal_id": OTHER}))
    assert elsewhere["items"] == []  # another merchant's terminal sees none
    assert_problem(
        lockers.client.get(f"/v1/parcels/{ids[0]}", params={"terminal_id": OTHER}),
        404,
        "parcel_unknown",
    )
    courier = ok(lockers.client.get(f"/v1/parcels/{ids[0]}", params={"terminal_id": COURIER}))
    assert courier["state"] == "waiting"
    assert lockers.store.count_parcels_by_locker(lockers.store.get_parcel(ids[0]).state) == {  # type: ignore[union-attr]
        LOCKER: 3
    }


def test_openapi_documents_the_parcel_routes(lockers: Lockers) -> None:
    paths = lockers.client.get("/openapi.json").json()["paths"]
    for path in (
        "/v1/parcels",
        "/v1/parcels/pickups",
        "/v1/parcels/{parcel_id}",
        "/v1/parcels/{parcel_id}/payments",
        "/v1/parcels/{parcel_id}/payments/reversals",
        "/v1/parcels/{parcel_id}/door-events",
        "/v1/parcels/{parcel_id}/audit",
    ):
        assert path in paths, path
    register = paths["/v1/parcels"]["post"]
    assert "409" in register["responses"]
    assert list(register["responses"]["409"]["content"]) == [PROBLEM]


def test_logs_carry_no_pickup_code_or_pan(
    lockers: Lockers, card: TestCard, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    doc = ok(lockers.register(pickup_code=True, recipient_par=par_of(lockers.store, card)))
    ok(lockers.pickup(pickup_code="000000" if doc["pickup_code"] != "000000" else "000001"))
    ok(lockers.pickup(pickup_code=doc["pickup_code"]))
    ok(lockers.pickup(emv_data=lockers.tap(card)))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert "parcel register" in text  # the operations are logged ...
    assert doc["pickup_code"] not in text  # ... without the code
    assert card.token not in text and "4111111111111111" not in text

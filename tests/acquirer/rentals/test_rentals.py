"""Bike rentals over the API, on every backend: unlock, ride, return, cancel, offline unlocks,
fares above the hold, debts, their payment and the deny list; idempotency and the ledger."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from acquirer.rentals.rows import RentalStore
from acquirer.rentals.tariff import Tariff
from tests.acquirer.testkit import Api, TestCard

DOCK, OTHER_DOCK, FOREIGN = "DOCK1", "DOCK2", "ELSEDOCK"
TARIFF = Tariff(
    "EUR",
    deposit=500,
    unlock_fee=100,
    per_started_minute=10,
    free_minutes=30,
    daily_cap=1500,
    max_duration_minutes=48 * 60,
    lost_bike_charge=30000,
)
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def _register(store: RentalStore, merchant: str, mcc: str, terminals: tuple[str, ...]) -> None:
    store.put_merchant(MerchantRow(merchant, merchant, mcc, "EUR", "NL91ABNA0417164300", NOW))
    for terminal in terminals:
        store.put_terminal(
            TerminalRow(terminal, merchant, ("bike",), TerminalStatus.ACTIVE, None, NOW)
        )


class Bikes:
    """Drives docks of one operator through the API."""

    def __init__(self, api: Api, store: RentalStore) -> None:
        self.client, self.store = api.client, store
        self.keys = (f"bk-{n}" for n in itertools.count())
        self.atc = itertools.count(1)

    def post(self, path: str, body: dict[str, Any], key: str | None = None) -> httpx.Response:
        response: httpx.Response = self.client.post(
            path, json=body, headers={"Idempotency-Key": key or next(self.keys)}
        )
        return response

    def tap(self, card: TestCard, amount: int) -> str:
        return card.tap(amount=amount, atc=next(self.atc)).hex

    def rent(
        self,
        card: TestCard,
        *,
        bike: str = "B1",
        terminal: str = DOCK,
        tap_amount: int | None = None,
        started_at: datetime | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {
            "terminal_id": terminal,
            "dock_id": "D1",
            "bike_id": bike,
            "amount": TARIFF.deposit,
            "currency": "EUR",
            "emv_data": self.tap(card, TARIFF.deposit if tap_amount is None else tap_amount),
        }
        if started_at is not None:
            body["started_at"] = started_at.isoformat()
        return self.post("/v1/rentals", body, key)

    def give_back(
        self,
        *,
        bike: str | None = None,
        card: TestCard | None = None,
        terminal: str = OTHER_DOCK,
        ended_at: datetime | None = None,
        key: str | None = None,
    ) -> httpx.Response:
        body: dict[str, Any] = {"terminal_id": terminal, "dock_id": "D9"}
        if bike is not None:
            body["bike_id"] = bike
        if card is not None:
            body["emv_data"] = self.tap(card, 0)
        if ended_at is not None:
            body["ended_at"] = ended_at.isoformat()
        return self.post("/v1/rentals/returns", body, key)

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        response = self.client.get(path, params=params)
        assert response.status_code == 200, response.text
        doc: dict[str, Any] = response.json()
        return doc


@pytest.fixture
def bikes(any_api: Api, any_rental_store: RentalStore) -> Bikes:
    _register(any_rental_store, "BIKES", "7999", (DOCK, OTHER_DOCK))
    _register(any_rental_store, "OTHER", "7999", (FOREIGN,))
    any_rental_store.put_tariff("BIKES", TARIFF, NOW)
    any_rental_store.put_tariff("OTHER", TARIFF, NOW)
    return Bikes(any_api, any_rental_store)


@pytest.fixture
def card(any_new_card: Callable[..., TestCard]) -> TestCard:
    return any_new_card("visa")


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    doc: dict[str, Any] = response.json()
    return doc


def _problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == code


def _balanced(store: RentalStore) -> dict[str, int]:
    assert store.ledger_totals().unbalanced == 0
    return store.account_balances()


def test_ride_unlock_start_return_by_bike_captures_the_fare(
    bikes: Bikes, card: TestCard, any_rental_store: RentalStore
) -> None:
    created = _ok(bikes.rent(card))
    assert created["approved"] is True and created["state"] == "unlocking"
    assert created["reason"] == "approved" and created["issuer_authentication_data"]
    assert (created["deposit"], created["currency"]) == (500, "EUR")
    assert created["par"] and created["authorization_id"].startswith("auth_")
    rental_id = created["rental_id"]
    started = _ok(bikes.post(f"/v1/rentals/{rental_id}/start", {"terminal_id": DOCK}))
    assert started["state"] == "riding" and started["started_at"]
    ended = _ok(bikes.give_back(bike="B1"))
    assert ended == {
        "rental_id": rental_id,
        "state": "ended",
        "fare": 100,  # within the free minutes: the unlock fee
        "captured": 100,
        "debt": 0,
        "debt_id": None,
        "currency": "EUR",
        "minutes": ended["minutes"],
        "lost": False,
        "message": ended["message"],
    }
    payment = any_rental_store.get_payment(created["authorization_id"])
    assert payment is not None and (payment.status.value, payment.captured) == ("captured", 100)
    balances = _balanced(any_rental_store)
    assert balances.get("holds_receivable EUR", 0) == 0  # the rest of the hold was released
    assert balances["issuer_receivable EUR"] == 100
    assert any_rental_store.ledger_totals().journals == {"hold": 1, "release": 1, "capture": 1}
    view = bikes.get(f"/v1/rentals/{rental_id}", terminal_id=OTHER_DOCK)
    assert (view["state"], view["end_terminal_id"], view["fare"]) == ("ended", OTHER_DOCK, 100)


def test_every_request_replays_byte_for_byte_and_refuses_other_bodies(
    bikes: Bikes, card: TestCard
) -> None:
    first = bikes.rent(card, key="rent-1")
    body = {"terminal_id": DOCK}
    again = bikes.client.post(
        "/v1/rentals",
        content=first.request.content,
        headers={"Idempotency-Key": "rent-1", "Content-Type": "application/json"},
    )
    assert again.content == first.content and again.headers["Idempotent-Replayed"] == "true"
    _problem(bikes.rent(card, key="rent-1"), 409, "idempotency_key_reused")  # another tap
    rental_id = first.json()["rental_id"]
    start = bikes.post(f"/v1/rentals/{rental_id}/start", body, key="start-1")
    replay = bikes.post(f"/v1/rentals/{rental_id}/start", body, key="start-1")
    assert replay.content == start.content and replay.headers["Idempotent-Replayed"] == "true"
    _problem(bikes.post(f"/v1/rentals/{rental_id}/start", body), 409, "rental_state_conflict")
    ended = bikes.give_back(bike="B1", key="ret-1")
    replay = bikes.give_back(bike="B1", key="ret-1")
    assert replay.content == ended.content and replay.headers["Idempotent-Replayed"] == "true"
    _problem(bikes.give_back(bike="B1"), 404, "rental_unknown")  # nothing active any more


def test_tap_off_ends_the_riders_rental_at_another_dock(bikes: Bikes, card: TestCard) -> None:
    rental_id = _ok(bikes.rent(card, bike="B7"))["rental_id"]
    _ok(bikes.post(f"/v1/rentals/{rental_id}/start", {"terminal_id": DOCK}))
    ended = _ok(bikes.give_back(card=card))  # no bike id: the tap-off's PAR finds it
    assert (ended["rental_id"], ended["state"]) == (rental_id, "ended")
    # A dock of another operator cannot end it.
    second = _ok(bikes.rent(card, bike="B8"))["rental_id"]
    _problem(bikes.give_back(bike="B8", terminal=FOREIGN), 404, "rental_unknown")
    assert bikes.get(f"/v1/rentals/{second}", terminal_id=DOCK)["state"] == "unlocking"


def test_one_bike_per_account(bikes: Bikes, card: TestCard, any_rental_store: RentalStore) -> None:
    _ok(bikes.rent(card, bike="B1"))
    refused = _ok(bikes.rent(card, bike="B2"))
    assert refused["approved"] is False and refused["reason"] == "rental_active"
    assert refused["rental_id"] is None and refused["message"]
    assert any_rental_store.ledger_totals().journals == {"hold": 1}  # no second hold
    active = bikes.get("/v1/rentals", terminal_id=DOCK, state="active")
    assert [r["bike_id"] for r in active["items"]] == ["B1"]


def test_cancel_voids_the_hold(bikes: Bikes, card: TestCard, any_rental_store: RentalStore) -> None:
    created = _ok(bikes.rent(card))
    path = f"/v1/rentals/{created['rental_id']}/cancel"
    cancelled = _ok(bikes.post(path, {"terminal_id": DOCK, "reason": "lock_timeout"}))
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "lock_timeout")
    payment = any_rental_store.get_payment(created["authorization_id"])
    assert payment is not None and payment.status.value == "voided"
    assert _balanced(any_rental_store).get("holds_receivable EUR", 0) == 0
    _problem(
        bikes.post(path, {"terminal_id": DOCK, "reason": "lock_timeout"}),
        409,
        "rental_state_conflict",
    )
    _problem(bikes.post(path, {"terminal_id": DOCK, "reason": "bored"}), 422, "request_invalid")
    other = f"/v1/rentals/{created['rental_id']}/start"
    _problem(bikes.post(other, {"terminal_id": OTHER_DOCK}), 404, "rental_unknown")


def test_a_dock_reads_its_operators_tariff(bikes: Bikes, any_rental_store: RentalStore) -> None:
    tariff = bikes.get("/v1/bikes/tariff", terminal_id=DOCK)
    assert tariff == {
        "merchant_id": "BIKES",
        "currency": "EUR",
        "deposit": 500,
        "unlock_fee": 100,
        "per_started_minute": 10,
        "free_minutes": 30,
        "daily_cap": 1500,
        "max_duration_minutes": 48 * 60,
        "lost_bike_charge": 30000,
    }
    assert bikes.get("/v1/bikes/tariff", terminal_id=FOREIGN)["merchant_id"] == "OTHER"
    _register(any_rental_store, "NOTARIFF", "7999", ("DOCK9",))
    _problem(bikes.client.get("/v1/bikes/tariff", params={"terminal_id": "DOCK9"}), 409,
             "tariff_missing")  # fmt: skip
    _problem(bikes.client.get("/v1/bikes/tariff"), 422, "request_invalid")
    paths = bikes.client.get("/openapi.json").json()["paths"]
    assert "200" in paths["/v1/bikes/tariff"]["get"]["responses"]


def test_a_dock_that_lost_the_answer_cancels_with_answer_lost(
    bikes: Bikes, card: TestCard, any_rental_store: RentalStore
) -> None:
    created = _ok(bikes.rent(card))
    path = f"/v1/rentals/{created['rental_id']}/cancel"
    cancelled = _ok(bikes.post(path, {"terminal_id": DOCK, "reason": "answer_lost"}))
    assert (cancelled["state"], cancelled["cancel_reason"]) == ("cancelled", "answer_lost")
    payment = any_rental_store.get_payment(created["authorization_id"])
    assert payment is not None and payment.status.value == "voided"
    listed = bikes.get(f"/v1/rentals/{created['rental_id']}", terminal_id=DOCK)
    assert listed["cancel_reason"] == "answer_lost"


def test_fare_above_the_hold_is_incremented_then_captured(
    bikes: Bikes, card: TestCard, any_rental_store: RentalStore
) -> None:
    now = datetime.now(UTC)
    created = _ok(bikes.rent(card, started_at=now - timedelta(hours=2)))
    assert (created["approved"], created["state"]) == (True, "riding")  # offline: bike left
    ended = _ok(bikes.give_back(bike="B1", ended_at=now))
    assert ended["fare"] == 1000 and ended["minutes"] == 120  # 100 + 90 x 10
    assert (ended["captured"], ended["debt"]) == (1000, 0)
    assert any_rental_store.ledger_totals().journals == {
        "hold": 2,  # the deposit, then the increment
        "release": 1,
        "capture": 1,
    }
    payment = any_rental_store.get_payment(created["authorization_id"])
    assert payment is not None and payment.captured == 1000


def test_refused_increment_leaves_a_debt_and_denies_the_account(
    bikes: Bikes, card: TestCard, any_rental_store: RentalStore
) -> None:
    any_rental_store.set_mcc_limit("7999", 600)  # the increment to 1000 is above the category limit
    now = datetime.now(UTC)
    _ok(bikes.rent(card, started_at=now - timedelta(hours=2)))
    ended = _ok(bikes.give_back(bike="B1", ended_at=now))
    assert (ended["fare"], ended["captured"], ended["debt"]) == (1000, 500, 500)
    assert ended["debt_id"].startswith("debt_")
    balances = _balanced(any_rental_store)
    assert balances["debts_receivable EUR"] == 500
    assert balances["debts_payable:BIKES EUR"] == -500
    denied = bikes.get("/v1/deny-list", terminal_id=DOCK)
    assert [d["par"] for d in denied["items"]] == [ended_par(bikes, ended["rental_id"])]


def ended_par(bikes: Bikes, rental_id: str) -> str:
    par: str = bikes.get(f"/v1/rentals/{rental_id}", terminal_id=DOCK)["par"]
    return par


def test_declined_offline_unlock_rides_without_hold_and_owes_the_fare(
    bikes: Bikes, card: TestCard, any_rental_store: RentalStore
) -> None:
    now = datetime.now(UTC)
    # The card's cryptogram covers another amount: the late verification declines it.
    created = _ok(bikes.rent(card, tap_amount=1, started_at=now - timedelta(minutes=61)))
    assert created["approved"] is False and created["reason"] == "amount_mismatch"
    assert created["state"] == "riding" and created["rental_id"]
    ended = _ok(bikes.give_back(bike="B1", ended_at=now))
    assert (ended["fare"], ended["captured"], ended["debt"]) == (410, 0, 410)  # 100 + 31 x 10
    debts = bikes.get("/v1/debts", terminal_id=DOCK, status="open")["items"]
    assert [(d["debt_id"], d["amount"], d["status"]) for d in debts] == [
        (ended["debt_id"], 410, "open")
    ]
    # The denied account is told what it owes, and cannot rent.
    refused = _ok(bikes.rent(card, bike="B2"))
    assert (refused["approved"], refused["reason"]) == (False, "par_denied")
    assert "4.10 EUR" in refused["message"]
    # Paying the debt with a tap: a sale of its amount, the account lifted.
    pay = {"terminal_id": DOCK, "amount": 410, "currency": "EUR", "emv_data": bikes.tap(card, 410)}
    paid = _ok(bikes.post(f"/v1/debts/{ended['debt_id']}/payments", pay, key="pay-1"))
    assert (paid["approved"], paid["status"], paid["amount"]) == (True, "paid", 410)
    again = bikes.post(f"/v1/debts/{ended['debt_id']}/payments", pay, key="pay-1")
    assert again.content == _raw(paid, bikes, ended["debt_id"], pay)
    assert bikes.get("/v1/deny-list", terminal_id=DOCK)["items"] == []
    assert bikes.get("/v1/debts", terminal_id=DOCK, status="open")["items"] == []
    _problem(
        bikes.post(
            f"/v1/debts/{ended['debt_id']}/payments", {**pay, "emv_data": bikes.tap(card, 410)}
        ),
        409,
        "debt_state_conflict",
    )
    balances = _balanced(any_rental_store)
    assert balances["debts_receivable EUR"] == 0 and balances["issuer_receivable EUR"] == 410
    assert _ok(bikes.rent(card, bike="B2"))["approved"] is True


def _raw(paid: dict[str, Any], bikes: Bikes, debt_id: str, pay: dict[str, Any]) -> bytes:
    response = bikes.post(f"/v1/debts/{debt_id}/payments", pay, key="pay-1")
    assert response.headers["Idempotent-Replayed"] == "true" and response.json() == paid
    return response.content


def test_ride_past_the_max_duration_is_priced_as_lost(bikes: Bikes, card: TestCard) -> None:
    now = datetime.now(UTC)
    _ok(bikes.rent(card, started_at=now - timedelta(hours=49)))
    ended = _ok(bikes.give_back(bike="B1", ended_at=now))
    assert (ended["lost"], ended["fare"]) == (True, 30000)
    assert (ended["captured"], ended["debt"]) == (30000, 0)  # the increment was allowed


def test_refusals_are_problems_with_stable_codes(
    bikes: Bikes, card: TestCard, any_rental_store: RentalStore
) -> None:
    body = {
        "terminal_id": DOCK,
        "dock_id": "D1",
        "bike_id": "B1",
        "amount": 499,
        "currency": "EUR",
        "emv_data": bikes.tap(card, 499),
    }
    _problem(bikes.post("/v1/rentals", body), 422, "deposit_mismatch")
    _problem(bikes.post("/v1/rentals", {**body, "terminal_id": "NOBODY"}), 409, "tariff_missing")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    _problem(
        bikes.post("/v1/rentals", {**body, "amount": 500, "started_at": future}),
        422,
        "request_invalid",
    )
    _problem(
        bikes.post("/v1/rentals/returns", {"terminal_id": DOCK, "dock_id": "D1"}),
        422,
        "request_invalid",
    )
    _problem(bikes.give_back(bike="NOPE"), 404, "rental_unknown")
    _problem(
        bikes.post("/v1/rentals", {**body, "amount": 500, "emv_data": "00"}),
        422,
        "emv_data_incomplete",
    )
    assert any_rental_store.ledger_totals().journals == {}


def test_lists_are_paginated(bikes: Bikes, any_new_card: Callable[..., TestCard]) -> None:
    ids = [
        _ok(bikes.rent(any_new_card("visa", pan), bike=f"B{n}"))["rental_id"]
        for n, pan in enumerate(("4111111111111111", "4012888888881881", "4000056655665556"))
    ]
    first = bikes.get("/v1/rentals", terminal_id=DOCK, limit=2)
    assert [r["rental_id"] for r in first["items"]] == ids[:2]
    rest = bikes.get("/v1/rentals", terminal_id=DOCK, limit=2, cursor=first["next_cursor"])
    assert [r["rental_id"] for r in rest["items"]] == ids[2:] and rest["next_cursor"] is None
    full = bikes.get("/v1/rentals", terminal_id=DOCK, limit=3)  # exactly full: no next page
    assert [r["rental_id"] for r in full["items"]] == ids and full["next_cursor"] is None
    assert bikes.get("/v1/rentals", terminal_id=DOCK, state="ended")["items"] == []
    assert bikes.get("/v1/rentals", terminal_id=FOREIGN)["items"] == []


def test_exactly_full_pages_end_without_a_next_cursor(
    bikes: Bikes, any_rental_store: RentalStore
) -> None:
    """Paging the deny list 2 by 2 through 4 PARs: the second, full, page is the last."""
    for n in range(4):
        any_rental_store.deny_par(f"PAR{n}", "test", NOW)
    pages: list[list[str]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"terminal_id": DOCK, "limit": 2}
        if cursor is not None:
            params["cursor"] = cursor
        page = bikes.get("/v1/deny-list", **params)
        pages.append([d["par"] for d in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert pages == [["PAR0", "PAR1"], ["PAR2", "PAR3"]]
    for limit in (0, 501):
        response = bikes.client.get("/v1/deny-list", params={"terminal_id": DOCK, "limit": limit})
        assert response.status_code == 422, response.text

"""Settlement batches and risk controls, on every backend."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from acquirer import Settings, StoreError, create_app
from acquirer.payments.rows import BatchScope
from acquirer.payments.sql import SqlPaymentStore
from acquirer.payments.store import PaymentStore
from acquirer.registry import MerchantRow, TerminalRow, TerminalStatus
from tests.acquirer.payments.test_lifecycle import TERMINAL, Lifecycle
from tests.acquirer.testkit import Api, TestCard

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest.fixture
def life(any_api: Api, any_new_card: Callable[..., TestCard]) -> Lifecycle:
    return Lifecycle(any_api, any_new_card("visa"))


def _close(life: Lifecycle, key: str) -> dict[str, Any]:
    response = life.api.client.post(
        "/v1/settlement/batches", json={"terminal_id": TERMINAL}, headers={"Idempotency-Key": key}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_close_batch_totals_report_csv_and_immutability(
    life: Lifecycle, any_store: PaymentStore
) -> None:
    # Only a registered terminal has a merchant to pay (an unknown one is a 404).
    any_store.put_merchant(MerchantRow("M1", "Shop", "5411", "EUR", "acct", NOW))
    any_store.put_terminal(TerminalRow(TERMINAL, "M1", ("pay",), TerminalStatus.ACTIVE, None, NOW))
    first = life.authorize(1250)["authorization_id"]
    life.authorize(800)
    assert life.op(first, "refunds", amount=300).status_code == 200
    hold = life.authorize(2000, intent="preauthorization")["authorization_id"]
    batch = _close(life, "eod-1")
    assert batch["totals"] == [
        {"kind": "refund", "currency": "EUR", "count": 1, "gross": -300, "fees": 0, "net": -300},
        {"kind": "sale", "currency": "EUR", "count": 2, "gross": 2050, "fees": 31, "net": 2019},
    ]
    replay = life.api.client.post(
        "/v1/settlement/batches",
        json={"terminal_id": TERMINAL},
        headers={"Idempotency-Key": "eod-1"},
    )
    assert replay.json() == batch and replay.headers["Idempotent-Replayed"] == "true"
    # Settled captures are final: no void, no reversal; a refund goes to the next batch.
    assert life.op(first, "void").json()["code"] == "payment_state_conflict"
    assert life.op(first, "refunds", amount=100).status_code == 200
    assert life.op(hold, "capture", amount=1500).status_code == 200
    second = _close(life, "eod-2")
    assert [(t["kind"], t["gross"]) for t in second["totals"]] == [
        ("capture", 1500),
        ("refund", -100),
    ]
    assert _close(life, "eod-3")["totals"] == []

    batch_id = batch["batch_id"]
    report = life.api.client.get(
        f"/v1/settlement/batches/{batch_id}", params={"terminal_id": TERMINAL}
    )
    assert report.json() == batch
    csv = life.api.client.get(
        f"/v1/settlement/batches/{batch_id}/lines.csv", params={"terminal_id": TERMINAL}
    )
    assert csv.headers["content-type"].startswith("text/csv")
    rows = csv.text.strip().split("\r\n")
    assert rows[0].startswith("journal_id,payment_id") and len(rows) == 4
    other = life.api.client.get(
        f"/v1/settlement/batches/{batch_id}", params={"terminal_id": "OTHER1"}
    )
    assert other.status_code == 404 and other.json()["code"] == "batch_unknown"

    assert isinstance(any_store, SqlPaymentStore)
    with pytest.raises(StoreError):
        any_store.engine.transact(lambda tx: tx.run("UPDATE batches SET scope_id = 'X'"))
    with pytest.raises(StoreError):
        any_store.engine.transact(lambda tx: tx.run("DELETE FROM batches"))
    with pytest.raises(StoreError):
        any_store.engine.transact(
            lambda tx: tx.run("UPDATE journals SET kind = 'x' WHERE batch_id IS NOT NULL")
        )
    assert any_store.ledger_totals().unbalanced == 0


def test_merchant_batch_covers_its_terminals(life: Lifecycle, any_store: PaymentStore) -> None:
    any_store.put_merchant(MerchantRow("M1", "Shop", "5411", "EUR", "acct", NOW))
    any_store.put_terminal(TerminalRow(TERMINAL, "M1", ("pay",), TerminalStatus.ACTIVE, None, NOW))
    life.authorize(1000)
    batch, created = any_store.close_batch("batch_m1", BatchScope.MERCHANT, "M1", "k", NOW)
    assert created and [(t.kind, t.count, t.gross) for t in batch.totals] == [("sale", 1, 1000)]
    again, created = any_store.close_batch("batch_m2", BatchScope.MERCHANT, "M1", "k", NOW)
    assert not created and again == batch
    assert any_store.get_batch("batch_m1") == batch and [
        b.id for b in any_store.list_batches()
    ] == ["batch_m1"]


def test_deny_list_and_category_limit(life: Lifecycle, any_store: PaymentStore) -> None:
    token = any_store.get_token(life.card.token)
    assert token is not None
    any_store.deny_par(token.par, "unpaid bike rental", NOW)
    assert any_store.par_denied(token.par)
    life.atc += 1
    denied = life.api.authorize(life.card.tap(amount=1250, atc=life.atc)).json()
    assert (denied["reason"], denied["response_code"]) == ("par_denied", "62")
    assert any_store.allow_par(token.par) and not any_store.allow_par(token.par)
    life.authorize(1250)

    any_store.put_merchant(MerchantRow("M1", "Bikes", "7999", "EUR", "acct", NOW))
    any_store.put_terminal(TerminalRow(TERMINAL, "M1", ("pay",), TerminalStatus.ACTIVE, None, NOW))
    any_store.set_mcc_limit("7999", 1000)
    assert any_store.mcc_limit("7999") == 1000
    life.atc += 1
    over = life.api.authorize(life.card.tap(amount=1250, atc=life.atc)).json()
    assert (over["reason"], over["response_code"]) == ("amount_limit_exceeded", "61")
    life.authorize(1000)
    any_store.set_mcc_limit("7999", None)
    life.authorize(5000)


def test_velocity_per_par(
    backend_settings: Settings, any_store: PaymentStore, any_new_card: Callable[..., TestCard]
) -> None:
    settings = dataclasses.replace(backend_settings, velocity_limit=2)
    card = any_new_card("mastercard")
    with TestClient(create_app(settings)) as client:
        api = Api(client)
        reasons = [
            api.authorize(card.tap(amount=100, atc=n), amount=100).json()["reason"]
            for n in (1, 2, 3)
        ]
    assert reasons == ["approved", "approved", "velocity_exceeded"]
    token = any_store.get_token(card.token)
    assert token is not None and any_store.approvals_since(token.par, NOW.replace(year=2000)) == 2

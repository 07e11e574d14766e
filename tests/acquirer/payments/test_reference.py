"""The merchant's reference (order id): validated, hashed, stored, answered, listed; both stores."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from typer.testing import CliRunner

from acquirer import Settings
from acquirer.cli import app as cli_app
from acquirer.payments.store import PaymentStore
from tests.acquirer.testkit import Api, TestCard


def pay(api: Api, card: TestCard, atc: int, key: str, **extra: object) -> dict[str, object]:
    response = api.client.post(
        "/v1/authorizations",
        json={**api.body(card.tap(amount=1250, atc=atc)), **extra},
        headers={"Idempotency-Key": key},
    )
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_reference_is_stored_answered_and_listed(
    any_api: Api, any_store: PaymentStore, any_new_card: Callable[..., TestCard]
) -> None:
    card = any_new_card()
    first = pay(any_api, card, 1, "k1", reference="order 42/A")
    assert first["approved"] is True and first["reference"] == "order 42/A"
    plain = pay(any_api, card, 2, "k2")
    assert "reference" not in plain  # additive: absent when the request had none
    pay(any_api, card, 3, "k3", reference="order 43")
    # Part of the request hash: the same key with another reference is another request.
    clash = any_api.client.post(
        "/v1/authorizations",
        json={**any_api.body(card.tap(amount=1250, atc=4)), "reference": "other"},
        headers={"Idempotency-Key": "k1"},
    )
    assert clash.status_code == 409
    payment = any_store.get_payment(str(first["authorization_id"]))
    assert payment is not None and payment.reference == "order 42/A"

    listed = any_api.client.get(
        "/v1/payments", params={"terminal_id": "SHOP0001", "reference": "order 42/A"}
    ).json()
    assert [p["id"] for p in listed["items"]] == [first["authorization_id"]]
    assert listed["items"][0]["reference"] == "order 42/A" and listed["next_cursor"] is None
    page1 = any_api.client.get("/v1/payments", params={"terminal_id": "SHOP0001", "limit": 2})
    page1_body = page1.json()
    assert len(page1_body["items"]) == 2 and page1_body["next_cursor"]
    page2 = any_api.client.get(
        "/v1/payments",
        params={"terminal_id": "SHOP0001", "limit": 2, "cursor": page1_body["next_cursor"]},
    ).json()
    assert len(page2["items"]) == 1 and page2["next_cursor"] is None
    other = any_api.client.get("/v1/payments", params={"terminal_id": "OTHER1"}).json()
    assert other["items"] == []


@pytest.mark.parametrize("reference", ["", "x" * 65, "caf\u00e9", "tab\there", 42])
def test_reference_is_validated(
    api: Api, new_card: Callable[..., TestCard], reference: object
) -> None:
    card = new_card()
    response = api.client.post(
        "/v1/authorizations",
        json={**api.body(card.tap(amount=1250, atc=1)), "reference": reference},
        headers={"Idempotency-Key": "k1"},
    )
    assert response.status_code == 422


def test_payments_cli_lists_and_shows(
    settings: Settings, api: Api, new_card: Callable[..., TestCard]
) -> None:
    card = new_card()
    paid = pay(api, card, 1, "k1", reference="INV-7")
    pay(api, card, 2, "k2")
    runner = CliRunner()
    d = ("--data-dir", str(settings.data_dir))
    listed = runner.invoke(cli_app, ["payments", "list", "--reference", "INV-7", "--json", *d])
    assert listed.exit_code == 0, listed.output
    assert [p["id"] for p in json.loads(listed.output)] == [paid["authorization_id"]]
    table = runner.invoke(cli_app, ["payments", "list", "--terminal", "SHOP0001", *d])
    assert table.exit_code == 0 and "INV-7" in table.output
    pid = str(paid["authorization_id"])
    shown = runner.invoke(cli_app, ["payments", "show", pid, "--json", *d])
    assert shown.exit_code == 0 and json.loads(shown.output)["reference"] == "INV-7"
    wrong = runner.invoke(cli_app, ["payments", "show", pid, "--terminal", "OTHER1", *d])
    assert wrong.exit_code == 1

"""``GET /v1/status/{kind}/{key}``: processed with the first answer, in progress, not found.

Run on both stores (the contract-suite parametrization of ``any_api``).
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from acquirer.status import StatusLookup
from tests.acquirer.testkit import Api, TestCard

KINDS = ("authorizations", "operations", "rentals", "parcels")


def status(api: Api, kind: str, key: str, terminal_id: str = "SHOP0001") -> dict[str, object]:
    response = api.client.get(f"/v1/status/{kind}/{key}", params={"terminal_id": terminal_id})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.mark.parametrize("kind", KINDS)
def test_unknown_key_is_not_found(any_api: Api, kind: str) -> None:
    assert status(any_api, kind, "never-sent") == {
        "terminal_id": "SHOP0001",
        "kind": kind,
        "idempotency_key": "never-sent",
        "status": "not_found",
        "answer": None,
    }


def test_processed_authorization_returns_the_first_answer(
    any_api: Api, any_new_card: Callable[..., TestCard]
) -> None:
    card = any_new_card()
    sent = any_api.authorize(card.tap(amount=1250, atc=1), key="pay-1")
    assert sent.json()["approved"] is True
    found = status(any_api, "authorizations", "pay-1")
    assert found["status"] == "processed"
    assert found["answer"] == json.loads(sent.content)
    # The answer is the stored one: a replay of the request returns the same bytes.
    assert json.dumps(found["answer"], separators=(",", ":")).encode() == sent.content
    # Keys are per terminal: another terminal's identical key is not this request.
    assert status(any_api, "authorizations", "pay-1", "SHOP0002")["status"] == "not_found"
    # Scopes are separate: no operation was sent under that key.
    assert status(any_api, "operations", "pay-1")["status"] == "not_found"


def test_declined_authorization_is_processed_with_its_decline(
    any_api: Api, any_new_card: Callable[..., TestCard]
) -> None:
    card = any_new_card()
    sent = any_api.authorize(card.tap(amount=1250, atc=1), key="pay-2", amount=999)
    assert sent.json()["reason"] == "amount_mismatch"
    found = status(any_api, "authorizations", "pay-2")
    assert found["status"] == "processed"
    assert found["answer"] == sent.json()


def test_reversal_by_key_is_an_operation(
    any_api: Api, any_new_card: Callable[..., TestCard]
) -> None:
    card = any_new_card()
    assert any_api.authorize(card.tap(amount=1250, atc=1), key="pay-3").json()["approved"]
    reversal = any_api.client.post(
        "/v1/reversals",
        json={"terminal_id": "SHOP0001", "original_idempotency_key": "pay-3"},
        headers={"Idempotency-Key": "rev-3"},
    )
    assert reversal.status_code == 200, reversal.text
    found = status(any_api, "operations", "rev-3")
    assert found["status"] == "processed"
    assert found["answer"] == reversal.json()


def test_barred_key_is_processed_as_declined(any_api: Api) -> None:
    """A reversal that overtook its original bars the key: the status says declined."""
    reversal = any_api.client.post(
        "/v1/reversals",
        json={"terminal_id": "SHOP0001", "original_idempotency_key": "late-1"},
        headers={"Idempotency-Key": "rev-late-1"},
    )
    assert reversal.status_code == 404
    found = status(any_api, "authorizations", "late-1")
    assert found["status"] == "processed"
    answer = found["answer"]
    assert isinstance(answer, dict)
    assert answer["approved"] is False and answer["reason"] == "reversed_before_authorization"


def test_key_in_flight_is_in_progress(any_api: Api) -> None:
    lookup: StatusLookup = any_api.client.app.state.status  # type: ignore[attr-defined]
    with lookup.in_flight.claim("authorization", "SHOP0001", "busy-1"):
        assert status(any_api, "authorizations", "busy-1")["status"] == "in_progress"
        assert status(any_api, "operations", "busy-1")["status"] == "not_found"
    assert status(any_api, "authorizations", "busy-1")["status"] == "not_found"


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/status/payments/k1", {"terminal_id": "SHOP0001"}),  # not a kind
        ("/v1/status/authorizations/a%20b", {"terminal_id": "SHOP0001"}),  # not a key
        ("/v1/status/authorizations/k1", {}),  # no terminal
        ("/v1/status/authorizations/k1", {"terminal_id": "no-dashes"}),
    ],
)
def test_malformed_lookups_are_422(api: Api, path: str, params: dict[str, str]) -> None:
    assert api.client.get(path, params=params).status_code == 422

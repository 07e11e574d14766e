"""Bad input to the local API gets a 4xx problem, never a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.terminal.daemon.rig import Rig


def problem(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert (body["status"], body["code"], body["type"]) == (status, code, f"/problems/{code}")


def test_a_wrong_or_missing_token_is_401(rig: Rig) -> None:
    for headers in ({"Authorization": "Bearer wrong-token-0123456789"}, {}, {"Authorization": "x"}):
        response = httpx.get(f"{rig.base_url}/v1/health", headers=headers)
        problem(response, 401, "unauthorized")
        assert response.headers["www-authenticate"].startswith("Bearer")
    problem(httpx.post(f"{rig.base_url}/v1/actions", json={"kind": "payment"}), 401, "unauthorized")


def test_malformed_json_is_400(rig: Rig) -> None:
    response = rig.api.post("/v1/actions", content=b'{"kind": "payment", "amount": ',
                            headers={"Idempotency-Key": "k1", "Content-Type": "application/json"})
    problem(response, 400, "json_invalid")


def test_a_missing_idempotency_key_is_400(rig: Rig) -> None:
    problem(rig.api.post("/v1/actions", json={"kind": "payment", "amount": 100, "currency": "EUR"}),
            400, "idempotency_key_missing")  # fmt: skip


@pytest.mark.parametrize("body", [
    {"kind": "payment", "amount": "12,50"},
    {"kind": "payment", "amount": "1250"},
    {"kind": "payment", "amount": 12.5},
    {"kind": "payment", "amount": -100},
    {"kind": "payment", "amount": 0},
    {"kind": "teleport", "amount": 100},
    {"kind": "payment", "amount": 100, "currency": "euro"},
    {"kind": "payment", "amount": 100, "tip": 5},
    {"kind": "payment", "amount": 10**13},
], ids=["comma-string", "digit-string", "float", "negative", "zero", "unknown-kind",
        "bad-currency", "unknown-field", "too-big"])  # fmt: skip
def test_a_body_outside_the_schema_is_422(rig: Rig, body: dict[str, Any]) -> None:
    problem(rig.act(**body), 422, "request_invalid")


def test_refusals_of_well_formed_requests_are_422(rig: Rig) -> None:
    problem(rig.act(kind="payment", amount=50000), 422, "amount_over_contactless_limit")
    problem(rig.act(kind="payment", amount=100, currency="USD"), 422, "currency_unsupported")
    problem(rig.act(kind="bike_unlock", amount=100), 422, "kind_unsupported")
    problem(rig.act(kind="refund", amount=100), 422, "refund_original_invalid")
    problem(rig.act(kind="refund", amount=100, original_action_id="act_" + "0" * 32), 422,
            "refund_original_invalid")  # fmt: skip
    assert rig.api.get("/v1/health").json()["running_action"] is None


def test_unknown_actions_and_bad_queries(rig: Rig) -> None:
    problem(rig.api.get("/v1/actions/act_" + "0" * 32), 404, "action_unknown")
    problem(rig.api.post("/v1/actions/act_" + "0" * 32 + "/cancel"), 404, "action_unknown")
    problem(rig.api.get("/v1/actions/nope"), 422, "request_invalid")
    problem(rig.api.get("/v1/transactions", params={"limit": "many"}), 422, "request_invalid")
    problem(rig.api.get("/v1/events", headers={"Last-Event-ID": "x"}), 422, "request_invalid")
    problem(rig.api.post("/v1/display", json={"message": ""}), 422, "request_invalid")
    problem(rig.api.get("/v1/nothing"), 404, "not_found")

"""No 500 from the lifecycle, settlement and parcel routes, whatever the body, path or query."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.acquirer.payments.test_api import PROBLEM, json_values

fuzz = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

PAYMENT = "auth_01KDVDNA000000000000000000"
RENTAL = "rent_01KDVDNA000000000000000000"
DEBT = "debt_01KDVDNA000000000000000000"
PARCEL = "parcel_01KDVDNA000000000000000000"
ROUTES = [
    f"/v1/payments/{PAYMENT}/increments",
    f"/v1/payments/{PAYMENT}/capture",
    f"/v1/payments/{PAYMENT}/void",
    f"/v1/payments/{PAYMENT}/refunds",
    f"/v1/payments/{PAYMENT}/reversals",
    "/v1/reversals",
    "/v1/settlement/batches",
    "/v1/rentals",
    "/v1/rentals/returns",
    f"/v1/rentals/{RENTAL}/start",
    f"/v1/rentals/{RENTAL}/cancel",
    f"/v1/debts/{DEBT}/payments",
    "/v1/parcels",
    "/v1/parcels/pickups",
    f"/v1/parcels/{PARCEL}/payments",
    f"/v1/parcels/{PARCEL}/door-events",
]


def _never_500(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.headers["content-type"] == PROBLEM


@fuzz
@given(route=st.sampled_from(ROUTES), body=json_values, key=st.text(max_size=70))
def test_junk_bodies_never_500(client: TestClient, route: str, body: Any, key: str) -> None:
    headers = {"Idempotency-Key": key} if key.isascii() and key.isprintable() else {}
    _never_500(client.post(route, json=body, headers=headers))


@fuzz
@given(
    route=st.sampled_from(ROUTES),
    terminal=st.text(max_size=20),
    amount=st.one_of(st.none(), st.integers(-5, 10**13), st.text(max_size=5), st.floats()),
)
def test_junk_fields_never_500(client: TestClient, route: str, terminal: str, amount: Any) -> None:
    body: dict[str, Any] = {"terminal_id": terminal}
    if amount is not None:
        body["amount"] = amount
    if route == "/v1/reversals":
        body["original_idempotency_key"] = "k1"
    _never_500(
        client.post(
            route,
            content=_json(body),
            headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
        )
    )


#: Path segments a client can send (httpx refuses control characters in URLs).
segments = st.text(
    st.characters(min_codepoint=33, max_codepoint=126, blacklist_characters="/?#%"), max_size=40
)


@fuzz
@given(segment=segments, terminal=st.text(max_size=20))
def test_junk_paths_and_queries_never_500(client: TestClient, segment: str, terminal: str) -> None:
    for path in (
        f"/v1/payments/{segment}",
        f"/v1/settlement/batches/{segment}",
        f"/v1/settlement/batches/{segment}/lines.csv",
        f"/v1/rentals/{segment}",
        f"/v1/debts/{segment}",
        "/v1/rentals",
        "/v1/debts",
        "/v1/deny-list",
        f"/v1/parcels/{segment}",
        f"/v1/parcels/{segment}/audit",
        "/v1/parcels",
    ):
        _never_500(client.get(path, params={"terminal_id": terminal, "cursor": segment}))


def _json(value: Any) -> bytes:
    import json

    return json.dumps(value, allow_nan=True).encode()

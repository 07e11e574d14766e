"""The HTTP contract: idempotency, problem details, schema strictness, fuzzed junk."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from acquirer.payments.sql import SqlPaymentStore
from tests.acquirer.testkit import Api, TestCard

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code"} <= set(body)
    assert (body["status"], body["code"]) == (status, code)
    assert body["type"] == f"/problems/{code}"
    return body


def test_health(client: TestClient) -> None:
    response = client.get("/v1/health")
    assert response.json() == {"status": "ok", "test_keys": True}


# -- idempotency ----------------------------------------------------------------------------


def test_same_key_same_request_returns_the_first_answer_byte_for_byte(
    api: Api, new_card: Callable[..., TestCard], store: SqlPaymentStore
) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    first = api.authorize(tap, key="order-1")
    again = api.authorize(tap, key='"order-1"')  # RFC 8941 string form: the same key
    assert first.content == again.content
    assert first.json()["approved"] is True
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert store.count_authorizations() == 1


def test_same_key_different_request_is_a_conflict(
    api: Api, new_card: Callable[..., TestCard], store: SqlPaymentStore
) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    api.authorize(tap, key="order-2")
    body = assert_problem(
        api.authorize(tap, key="order-2", amount=1251), 409, "idempotency_key_reused"
    )
    assert "different request" in body["detail"]
    assert store.count_authorizations() == 1


def test_keys_are_scoped_per_terminal(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    api.authorize(card.tap(amount=1250, atc=1), key="k", terminal_id="A")
    other = api.authorize(card.tap(amount=1250, atc=2), key="k", terminal_id="B")
    assert other.json()["approved"] is True


def test_declines_are_replayed_too(api: Api, new_card: Callable[..., TestCard]) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    first = api.authorize(tap, key="d", amount=1)
    assert first.json()["reason"] == "amount_mismatch"
    assert api.authorize(tap, key="d", amount=1).content == first.content


@pytest.mark.parametrize(
    ("headers", "code"),
    [
        ({}, "idempotency_key_missing"),
        ({"Idempotency-Key": ""}, "idempotency_key_invalid"),
        ({"Idempotency-Key": "has space"}, "idempotency_key_invalid"),
        ({"Idempotency-Key": "x" * 65}, "idempotency_key_invalid"),
    ],
)
def test_idempotency_key_is_required_and_checked(
    client: TestClient, api: Api, headers: dict[str, str], code: str
) -> None:
    response = client.post("/v1/authorizations", json=api.body("9F3602000A"), headers=headers)
    assert_problem(response, 400, code)


# -- EMV data ---------------------------------------------------------------------------------


def test_missing_mandatory_tag_is_named(api: Api, new_card: Callable[..., TestCard]) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1, omit=[0x9F36])
    body = assert_problem(api.authorize(tap), 422, "emv_data_incomplete")
    assert "9F36" in body["detail"]


def test_missing_pan_is_named(api: Api, new_card: Callable[..., TestCard]) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1, omit=[0x5A])
    body = assert_problem(api.authorize(tap), 422, "emv_data_incomplete")
    assert "5A" in body["detail"]


def test_malformed_tlv_names_the_offset(api: Api) -> None:
    body = assert_problem(api.authorize("9F3605000A"), 422, "emv_data_invalid")
    assert "offset" in body["detail"]


def test_wrong_length_value_is_named(api: Api, new_card: Callable[..., TestCard]) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    short = tap.data.replace(b"\x9f\x36\x02\x00\x01", b"\x9f\x36\x01\x01")
    body = assert_problem(api.authorize(short.hex()), 422, "emv_data_invalid")
    assert "9F36" in body["detail"]


@pytest.mark.parametrize("emv_data", ["", "ABC", "ZZ", "9F 36", "00" * 4097])
def test_bad_hex(api: Api, emv_data: str) -> None:
    assert_problem(api.authorize(emv_data), 422, "emv_data_invalid")


# -- schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 12.5},
        {"amount": 1250.0},
        {"amount": "1250"},
        {"amount": True},
        {"amount": -1},
        {"amount": 10**12},
        {"currency": "XXX"},
        {"currency": "eur"},
        {"terminal_id": ""},
        {"terminal_id": "a" * 17},
        {"terminal_id": "shop-1"},
        {"extra": 1},
    ],
)
def test_schema_violations(client: TestClient, api: Api, change: dict[str, Any]) -> None:
    body = {**api.body("9F3602000A"), **change}
    response = client.post("/v1/authorizations", json=body, headers={"Idempotency-Key": "k"})
    problem = assert_problem(response, 422, "request_invalid")
    assert problem["errors"]
    assert all("input" not in error for error in problem["errors"])


def test_missing_field(client: TestClient, api: Api) -> None:
    body = api.body("9F3602000A")
    del body["amount"]
    response = client.post("/v1/authorizations", json=body, headers={"Idempotency-Key": "k"})
    assert_problem(response, 422, "request_invalid")


@pytest.mark.parametrize("content", [b"{", b"not json", b"\xff\xfe", b""])
def test_malformed_json(client: TestClient, content: bytes) -> None:
    response = client.post(
        "/v1/authorizations",
        content=content,
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert response.status_code in (400, 422)
    assert response.headers["content-type"] == PROBLEM


def test_problem_never_echoes_emv_data(api: Api, new_card: Callable[..., TestCard]) -> None:
    card = new_card("visa")
    tap = card.tap(amount=1250, atc=1)
    response = api.authorize(tap.hex + "0", amount=1250)
    assert response.status_code == 422
    assert card.token not in response.text and tap.hex[:20] not in response.text


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded"])
def test_body_must_be_json(client: TestClient, api: Api, content_type: str | None) -> None:
    headers = {"Idempotency-Key": "k"}
    if content_type:
        headers["Content-Type"] = content_type
    response = client.post(
        "/v1/authorizations", content=json.dumps(api.body("9F3602000A")), headers=headers
    )
    assert_problem(response, 415, "unsupported_media_type")


def test_oversize_body_is_413(client: TestClient) -> None:
    response = client.post(
        "/v1/authorizations",
        content=b"{" + b" " * 20_000 + b"}",
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "request_too_large")


def test_oversize_chunked_body_is_413(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 1024

    response = client.post(
        "/v1/authorizations",
        content=chunks(),
        headers={"Idempotency-Key": "k", "Content-Type": "application/json"},
    )
    assert_problem(response, 413, "request_too_large")


def test_unknown_route_and_method_are_problems(client: TestClient) -> None:
    assert_problem(client.get("/v1/nothing"), 404, "not_found")
    assert_problem(client.get("/v1/authorizations"), 405, "method_not_allowed")


def test_openapi_describes_problem_responses(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    responses = spec["paths"]["/v1/authorizations"]["post"]["responses"]
    for status in ("400", "409", "413", "415", "422", "503"):
        assert list(responses[status]["content"]) == ["application/problem+json"]
    assert "Problem" in spec["components"]["schemas"]
    assert "Idempotency-Key" in json.dumps(spec["paths"]["/v1/authorizations"]["post"])


# -- fuzzing ----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=10,
)
hex_strings = st.binary(max_size=300).map(lambda b: b.hex())
fuzz = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _never_500(response: Any) -> None:
    assert response.status_code < 500, response.text
    if response.status_code != 200:
        assert response.headers["content-type"] == PROBLEM


@fuzz
@given(body=json_values)
def test_junk_json_never_500(client: TestClient, body: Any) -> None:
    _never_500(client.post("/v1/authorizations", json=body, headers={"Idempotency-Key": "f"}))


@fuzz
@given(raw=st.binary(max_size=200))
def test_junk_bytes_never_500(client: TestClient, raw: bytes) -> None:
    _never_500(
        client.post(
            "/v1/authorizations",
            content=raw,
            headers={"Idempotency-Key": "f", "Content-Type": "application/json"},
        )
    )


@fuzz
@given(emv_data=hex_strings, amount=st.integers(0, 10**12 - 1))
def test_junk_tlv_never_500(client: TestClient, api: Api, emv_data: str, amount: int) -> None:
    _never_500(api.authorize(emv_data, amount=amount))


@fuzz
@given(data=st.data())
def test_mutated_genuine_records_never_500(
    api: Api, new_card: Callable[..., TestCard], data: st.DataObject
) -> None:
    card = new_card("visa")
    raw = bytearray(card.tap(amount=1250, atc=1).data)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    _never_500(api.authorize(raw.hex()))


# -- failures and logs -----------------------------------------------------------------------


def test_database_failure_is_503_without_internals(
    settings: Any, new_card: Callable[..., TestCard]
) -> None:
    from acquirer import create_app

    app = create_app(settings)
    tap = new_card("visa").tap(amount=1250, atc=1)
    with TestClient(app) as client:
        app.state.service._store.engine.close()  # the database goes away under the service
        response = Api(client).authorize(tap)
    body = assert_problem(response, 503, "store_failed")
    assert "sqlite" not in response.text.lower() and "closed" not in body["detail"]


def test_unexpected_error_is_a_generic_500_problem(
    settings: Any, new_card: Callable[..., TestCard], monkeypatch: pytest.MonkeyPatch
) -> None:
    from acquirer import create_app

    app = create_app(settings)

    def explode(request: Any) -> Any:
        raise RuntimeError("secret internals")

    async def explode_async(request: Any) -> Any:
        explode(request)

    # The blocking path (network stores) and the event-loop path (SQLite) alike.
    monkeypatch.setattr(app.state.service, "authorize", explode)
    monkeypatch.setattr(app.state.service, "authorize_async", explode_async)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = Api(client).authorize(new_card("visa").tap(amount=1250, atc=1))
    assert_problem(response, 500, "internal_error")
    assert "secret internals" not in response.text


def test_logs_carry_no_pan_token_or_cryptogram(
    api: Api, new_card: Callable[..., TestCard], caplog: pytest.LogCaptureFixture
) -> None:
    card = new_card("visa", funding_pan="4000056655665556")
    caplog.set_level(logging.DEBUG)
    taps = [card.tap(amount=1250, atc=1), card.tap(amount=1250, atc=1)]
    bodies = [api.authorize(tap).json() for tap in taps]
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert bodies[0]["authorization_id"] in text and "atc_replayed" in text
    assert "4000056655665556" not in text and card.token not in text
    for tap in taps:
        assert tap.arqc.hex() not in text.lower()
    assert bodies[0]["par"] in text

"""The OpenAPI document says what the server does (issue 17, defect 7).

Each test pins one disagreement found between the document and the server: the document's
patterns are the server's, every status the server can answer is documented, and bodies that
are not UTF-8 JSON get one answer whichever way they are malformed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from acquirer.idempotency import parse_idempotency_key
from emvcore.currency import payment_currencies
from tests.acquirer.testkit import Api, TestCard

PROBLEM = "application/problem+json"


def _document(client: TestClient) -> dict[str, Any]:
    document: dict[str, Any] = client.get("/openapi.json").json()
    return document


def _operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def _resolve(document: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = document["components"]["schemas"][name]
    return schema


def test_every_idempotency_key_header_carries_the_pattern_the_server_enforces(
    client: TestClient,
) -> None:
    document = _document(client)
    headers = [
        parameter
        for _, _, operation in _operations(document)
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "header" and parameter["name"] == "Idempotency-Key"
    ]
    assert len(headers) > 10
    patterns = {parameter["schema"].get("pattern") for parameter in headers}
    assert len(patterns) == 1
    (pattern,) = patterns
    assert pattern is not None
    for value in ["a", "A1._:-", "x" * 64, '"quoted-key"']:
        assert re.search(pattern, value) and parse_idempotency_key(value) is not None
    for value in ["", "x" * 65, "sp ace", '"unclosed', 'un"closed"', "é", '""']:
        assert not re.search(pattern, value) and parse_idempotency_key(value) is None


def test_every_currency_field_admits_exactly_the_payment_currencies(client: TestClient) -> None:
    document = _document(client)
    payable = sorted(c.alpha for c in payment_currencies())
    found = 0
    for path, method, operation in _operations(document):
        if "requestBody" not in operation:
            continue
        body = operation["requestBody"]["content"]["application/json"]["schema"]
        schema = _resolve(document, body)
        for field, prop in schema.get("properties", {}).items():
            if field != "currency":
                continue
            name = (method, path)
            options = prop.get("anyOf", [prop])
            (choice,) = [_resolve(document, o) for o in options if o.get("type") != "null"]
            assert sorted(choice["enum"]) == payable, name
            found += 1
    assert found >= 4  # authorizations, rentals, parcels, checkout


def test_the_server_refuses_a_code_the_document_does_not_list(api: Api) -> None:
    response = api.authorize("9F0206000000001250", currency="XAU")
    assert response.status_code == 422
    assert response.json()["code"] == "request_invalid"


def test_integers_are_documented_as_json_integers_and_1741_0_is_refused(
    client: TestClient, api: Api, new_card: Callable[..., TestCard]
) -> None:
    document = _document(client)
    assert "1741.0" in document["info"]["description"]
    tap = new_card("visa").tap(amount=1741, atc=1)
    body = api.body(tap, amount=1741)
    raw = json.dumps(body).replace('"amount": 1741', '"amount": 1741.0')
    response = client.post(
        "/v1/authorizations",
        content=raw.encode(),
        headers={"Idempotency-Key": "float-1", "Content-Type": "application/json"},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == "request_invalid"
    checkout = client.post(
        "/v1/checkout/sessions",
        content=b'{"terminal_id": "SHOP0001", "amount": 1741.0, "currency": "EUR"}',
        headers={"Idempotency-Key": "float-2", "Content-Type": "application/json"},
    )
    assert checkout.status_code == 422, checkout.text


def test_every_operation_documents_the_body_middleware_answers(client: TestClient) -> None:
    document = _document(client)
    for path, method, operation in _operations(document):
        statuses = set(operation["responses"])
        assert {"400", "408", "413"} <= statuses, (method, path)
        if "requestBody" in operation:
            assert "415" in statuses, (method, path)
    settlement = document["paths"]["/v1/settlement/batches"]["post"]["responses"]
    assert PROBLEM in settlement["415"]["content"]


def test_settlement_answers_415_to_a_body_that_is_not_json(client: TestClient) -> None:
    response = client.post(
        "/v1/settlement/batches",
        content=b"x=1",
        headers={"Idempotency-Key": "s-1", "Content-Type": "text/plain"},
    )
    assert response.status_code == 415, response.text


def test_get_on_a_post_only_path_beside_an_id_route_is_405(client: TestClient) -> None:
    response = client.get("/v1/parcels/pickups")
    assert response.status_code == 405, response.text
    assert response.headers["allow"] == "POST"


@pytest.mark.parametrize("path", ["/v1/parcels", "/v1/rentals"])
def test_options_lists_every_method_of_the_path(client: TestClient, path: str) -> None:
    response = client.options(path)
    allowed = {m.strip() for m in response.headers["allow"].split(",")}
    assert allowed >= {"GET", "POST"}, response.headers["allow"]


@pytest.mark.parametrize(
    "raw",
    [
        b'{"terminal_id": ',  # truncated
        b"{'terminal_id': 1}",  # not JSON syntax
        b'{"terminal_id": "\xff\xfe"}',  # not UTF-8
        b"[" * 5000 + b"]" * 5000,  # nesting beyond the parser
    ],
)
def test_malformed_json_always_gets_json_invalid(client: TestClient, raw: bytes) -> None:
    for path in ["/v1/authorizations", "/v1/settlement/batches", "/v1/parcels"]:
        response = client.post(
            path,
            content=raw,
            headers={"Idempotency-Key": "m-1", "Content-Type": "application/json"},
        )
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "json_invalid", (path, response.text)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-32", "utf-8-sig"])
@pytest.mark.parametrize(
    "media_type",
    ["application/json", "application/json; charset=utf-16"],  # fast path, FastAPI route
)
def test_a_body_not_in_utf8_is_refused_never_approved(
    client: TestClient,
    api: Api,
    new_card: Callable[..., TestCard],
    encoding: str,
    media_type: str,
) -> None:
    tap = new_card("visa").tap(amount=1250, atc=1)
    raw = json.dumps(api.body(tap)).encode(encoding)
    response = client.post(
        "/v1/authorizations",
        content=raw,
        headers={"Idempotency-Key": "u-1", "Content-Type": media_type},
    )
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "json_invalid"
    assert api.authorize(tap).json()["approved"] is True  # the same tap in UTF-8 is fine

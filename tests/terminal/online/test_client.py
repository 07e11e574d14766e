"""AcquirerClient over httpx.MockTransport: decisions, problems, retries and mapped errors."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest

from terminal.errors import AcquirerRejectedError, AcquirerUnavailableError
from terminal.online import AcquirerClient, AuthorizationResponse

APPROVAL = {
    "authorization_id": "auth_01JD0000000000000000000000",
    "approved": True,
    "response_code": "00",
    "reason": "approved",
    "issuer_authentication_data": "0011223344556677",
    "token_masked": "489537******5671",
    "par": "T001TESTPAR000000000000000001",
    "atc": 7,
    "cryptogram_verified": True,
    "created_at": "2026-11-22T09:30:05Z",
}


def client_for(
    handler: Callable[[httpx.Request], httpx.Response],
) -> tuple[AcquirerClient, list[httpx.Request]]:
    requests: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return handler(request)

    return AcquirerClient("http://acquirer.test/", transport=httpx.MockTransport(record)), requests


def authorize(client: AcquirerClient, key: str = "key-1") -> AuthorizationResponse:
    return client.authorize(
        terminal_id="TERM0001",
        amount=1250,
        currency="EUR",
        emv_data=bytes.fromhex("9f3602000a"),
        idempotency_key=key,
    )


def test_approval_is_parsed() -> None:
    client, requests = client_for(lambda request: httpx.Response(200, json=APPROVAL))
    response = authorize(client)
    assert response == AuthorizationResponse(
        authorization_id="auth_01JD0000000000000000000000",
        approved=True,
        response_code="00",
        reason="approved",
        issuer_authentication_data=bytes.fromhex("0011223344556677"),
        cryptogram_verified=True,
        token_masked="489537******5671",
        par="T001TESTPAR000000000000000001",
        atc=7,
    )
    (request,) = requests
    assert request.method == "POST"
    assert str(request.url) == "http://acquirer.test/v1/authorizations"
    assert request.headers["Idempotency-Key"] == "key-1"
    assert request.headers["User-Agent"] == "tap-terminal/0.1"
    assert json.loads(request.content) == {
        "terminal_id": "TERM0001",
        "amount": 1250,
        "currency": "EUR",
        "emv_data": "9F3602000A",
    }
    client.close()


def test_decline_without_tag_91() -> None:
    body = APPROVAL | {
        "approved": False,
        "response_code": "05",
        "reason": "cryptogram_invalid",
        "issuer_authentication_data": None,
        "cryptogram_verified": False,
        "par": None,
    }
    client, _ = client_for(lambda request: httpx.Response(200, json=body))
    response = authorize(client)
    assert (response.approved, response.response_code, response.reason) == (
        False,
        "05",
        "cryptogram_invalid",
    )
    assert response.issuer_authentication_data is None
    assert (response.cryptogram_verified, response.par) == (False, None)


@pytest.mark.parametrize(
    ("status", "code", "detail"),
    [
        (409, "idempotency_key_reused", "this idempotency key was already used"),
        (422, "validation_error", "amount: must be greater than 0"),
        (401, "terminal_unknown", "unknown terminal"),
    ],
)
def test_problem_responses_are_rejections(status: int, code: str, detail: str) -> None:
    problem = {
        "type": f"/problems/{code}",
        "title": "Problem",
        "status": status,
        "detail": detail,
        "code": code,
    }
    client, requests = client_for(
        lambda request: httpx.Response(
            status, json=problem, headers={"Content-Type": "application/problem+json"}
        )
    )
    with pytest.raises(AcquirerRejectedError) as exc:
        authorize(client)
    assert (exc.value.status, exc.value.code) == (status, code)
    assert str(exc.value) == f"acquirer refused the request ({status}): {detail}"
    assert len(requests) == 1  # a refusal is not retried


def test_error_without_a_problem_body() -> None:
    client, _ = client_for(lambda request: httpx.Response(502, text="<html>bad gateway</html>"))
    with pytest.raises(AcquirerRejectedError) as exc:
        authorize(client)
    assert (exc.value.status, exc.value.code) == (502, None)
    assert str(exc.value) == "acquirer refused the request (502): Bad Gateway"


def test_connect_error_is_retried_once_with_the_same_key() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client, requests = client_for(refuse)
    with pytest.raises(AcquirerUnavailableError) as exc:
        authorize(client, key="same-key")
    assert str(exc.value).startswith("cannot connect to the acquirer at http://acquirer.test")
    assert len(requests) == 2
    assert [r.headers["Idempotency-Key"] for r in requests] == ["same-key", "same-key"]
    assert requests[0].content == requests[1].content


def test_connect_error_then_success() -> None:
    attempts: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json=APPROVAL)

    client, requests = client_for(flaky)
    assert authorize(client).approved is True
    assert len(requests) == 2
    assert requests[0].headers["Idempotency-Key"] == requests[1].headers["Idempotency-Key"]


@pytest.mark.parametrize(
    "error",
    [httpx.ReadTimeout, httpx.WriteTimeout, httpx.PoolTimeout],
)
def test_timeout_is_unavailable_and_not_retried(error: type[httpx.TimeoutException]) -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise error("timed out", request=request)

    client, requests = client_for(slow)
    with pytest.raises(AcquirerUnavailableError) as exc:
        authorize(client)
    assert str(exc.value) == "no answer from the acquirer in time"
    assert len(requests) == 1


def test_connect_timeout_is_retried_once_then_unavailable() -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("connect timed out", request=request)

    client, requests = client_for(unreachable)
    with pytest.raises(AcquirerUnavailableError, match="cannot connect to the acquirer"):
        authorize(client)
    assert len(requests) == 2
    assert requests[0].headers["Idempotency-Key"] == requests[1].headers["Idempotency-Key"]


def test_other_transport_errors_are_unavailable() -> None:
    def broken(request: httpx.Request) -> httpx.Response:
        raise httpx.RemoteProtocolError("peer closed connection", request=request)

    client, requests = client_for(broken)
    with pytest.raises(
        AcquirerUnavailableError, match="acquirer connection failed: RemoteProtocolError"
    ):
        authorize(client)
    assert len(requests) == 1


@pytest.mark.parametrize(
    "body",
    [
        b"not json at all",
        b"[1, 2, 3]",
        b"null",
        json.dumps({k: v for k, v in APPROVAL.items() if k != "approved"}).encode(),
        json.dumps(APPROVAL | {"issuer_authentication_data": "XYZ"}).encode(),
        json.dumps(APPROVAL | {"issuer_authentication_data": 12}).encode(),
        json.dumps(APPROVAL | {"approved": "false"}).encode(),
        json.dumps(APPROVAL | {"approved": 1}).encode(),
        json.dumps(APPROVAL | {"approved": None}).encode(),
    ],
    ids=[
        "junk",
        "list",
        "null",
        "no-approved",
        "bad-hex",
        "iad-int",
        "approved-string",
        "approved-int",
        "approved-null",
    ],
)
def test_200_with_a_malformed_body(body: bytes) -> None:
    client, _ = client_for(lambda request: httpx.Response(200, content=body))
    with pytest.raises(AcquirerRejectedError) as exc:
        authorize(client)
    assert (exc.value.status, exc.value.code) == (200, "malformed_response")
    assert str(exc.value) == "the acquirer's answer is not a valid authorization response"

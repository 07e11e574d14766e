"""Agent request signatures (RFC 9421): sign, verify, and the refusals."""

from __future__ import annotations

import datetime

import pytest
from http_message_signatures import ContentDigest, HTTPMessageSigner, MappingKeyResolver, algorithms

from emvcore.agentpay import (
    HttpRequest,
    MemoryReplayCache,
    Reason,
    jwk_thumbprint,
    sign_request,
    verify_request,
)
from emvcore.agentpay.keys import PrivateKey, PublicKey
from emvcore.errors import RequestSignatureError
from tests.emvcore_agentpay.support import NOW

URL = "https://acquirer.test/v1/checkouts/cs_1/pay"
BODY = b'{"mandate":"...","binding":"..."}'


def request(agent: PrivateKey, *, nonce: str | None = None, now: int = NOW) -> HttpRequest:
    signed = HttpRequest(
        "POST", URL, {"Content-Type": "application/json", "Idempotency-Key": "k1"}, BODY
    )
    return sign_request(signed, agent_key=agent, now=now, nonce=nonce)


def registry(*keys: PrivateKey) -> dict[str, PublicKey]:
    return {jwk_thumbprint(k): k.public_key() for k in keys}


def refused(
    req: HttpRequest, agent: PrivateKey, reason: Reason, *, now: int = NOW + 5, replay=None
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(RequestSignatureError) as caught:
        verify_request(req, keys=registry(agent).get, replay=replay or MemoryReplayCache(), now=now)
    assert caught.value.reason is reason, str(caught.value)


def test_a_signed_request_verifies(agent: PrivateKey) -> None:
    req = request(agent, nonce="n" * 22)
    verified = verify_request(
        req, keys=registry(agent).get, replay=MemoryReplayCache(), now=NOW + 5
    )
    assert (verified.keyid, verified.nonce, verified.created) == (
        jwk_thumbprint(agent),
        "n" * 22,
        NOW,
    )
    assert 'tag="agent-payer-auth"' in req.headers["Signature-Input"]
    assert 'alg="ecdsa-p256-sha256"' in req.headers["Signature-Input"]
    assert req.headers["Content-Digest"].startswith("sha-256=:")


def test_a_replayed_request_is_refused(agent: PrivateKey) -> None:
    replay, req = MemoryReplayCache(), request(agent)
    verify_request(req, keys=registry(agent).get, replay=replay, now=NOW + 5)
    refused(req, agent, Reason.REQUEST_REPLAYED, now=NOW + 6, replay=replay)


def test_created_outside_the_window(agent: PrivateKey) -> None:
    refused(request(agent), agent, Reason.REQUEST_STALE, now=NOW + 361)
    refused(request(agent, now=NOW + 61), agent, Reason.REQUEST_STALE, now=NOW)


def test_a_changed_body(agent: PrivateKey) -> None:
    req = request(agent)
    req.body = b'{"mandate":"...","binding":"...","payee":"m-attacker"}'
    refused(req, agent, Reason.REQUEST_DIGEST_MISMATCH)


def test_a_changed_body_with_a_recomputed_digest(agent: PrivateKey) -> None:
    req = request(agent)
    req.body = b"{}"
    req.headers["Content-Digest"] = ContentDigest.create(req.body)
    refused(req, agent, Reason.REQUEST_SIGNATURE_INVALID)


@pytest.mark.parametrize(
    "change", [("method", "DELETE"), ("url", "https://acquirer.test/v1/checkouts/cs_2/pay")]
)
def test_a_changed_route(agent: PrivateKey, change: tuple[str, str]) -> None:
    req = request(agent)
    setattr(req, *change)
    refused(req, agent, Reason.REQUEST_SIGNATURE_INVALID)


def test_an_unregistered_agent(agent: PrivateKey, stranger: PrivateKey) -> None:
    refused(request(stranger), agent, Reason.REQUEST_KEY_UNKNOWN)


def test_an_unsigned_request(agent: PrivateKey) -> None:
    refused(HttpRequest("POST", URL, {}, BODY), agent, Reason.REQUEST_SIGNATURE_MISSING)


def test_a_signature_that_does_not_cover_the_digest(agent: PrivateKey) -> None:
    req = HttpRequest("POST", URL, {"Content-Digest": ContentDigest.create(BODY)}, BODY)
    kid = jwk_thumbprint(agent)
    signer = HTTPMessageSigner(
        signature_algorithm=algorithms.ECDSA_P256_SHA256,
        key_resolver=MappingKeyResolver(public_keys={}, private_keys={kid: agent}),
    )
    signer.sign(
        req,
        key_id=kid,
        created=datetime.datetime.fromtimestamp(NOW, tz=datetime.UTC),
        nonce="n" * 22,
        label="agent",
        tag="agent-payer-auth",
        covered_component_ids=("@method", "@target-uri"),
        use_existing_digest=True,
    )
    refused(req, agent, Reason.REQUEST_COMPONENTS_MISSING)

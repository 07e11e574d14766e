"""Plain helpers for the agent payment tests: keys, a mandate, a checkout, forged tokens."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import replace
from typing import Any

from cryptography.hazmat.primitives import serialization

from emvcore.agentpay import Checkout, LineItem, Mandate, Presence, jwk_thumbprint, sign_mandate
from emvcore.agentpay.canonical import b64url
from emvcore.agentpay.keys import PrivateKey, PublicKey

NOW = 1_767_225_600  # 2026-01-01T00:00:00Z
DAY = 86_400
PAR = "T001TESTPAR" + "0" * 17 + "1"


def mandate_terms(wallet: PrivateKey, agent: PrivateKey | None, **changes: Any) -> Mandate:
    """A human-not-present mandate for coffee at m-coffee (MCC 5814), 20.00 EUR a payment."""
    terms: dict[str, Any] = dict(
        mandate_id="mdt_" + "A" * 22,
        wallet=jwk_thumbprint(wallet),
        currency="EUR",
        max_amount=2000,
        budget=10_000,
        issued_at=NOW,
        not_before=NOW,
        expires_at=NOW + 30 * DAY,
        presence=Presence.HUMAN_NOT_PRESENT,
        par=PAR,
        merchants=("m-coffee", "m-bakery"),
        mccs=("5814", "5462"),
        agent_key=None if agent is None else jwk_thumbprint(agent),
    )
    return Mandate(**{**terms, **changes})


def signed_mandate(wallet: PrivateKey, agent: PrivateKey | None, **changes: Any) -> str:
    return sign_mandate(mandate_terms(wallet, agent, **changes), wallet)


def coffee(**changes: Any) -> Checkout:
    """A 3.50 EUR flat white at m-coffee, expiring ten minutes after NOW."""
    checkout = Checkout(
        session_id="cs_01KDVDNA00TESTSESSION",
        merchant_id="m-coffee",
        mcc="5814",
        amount=350,
        currency="EUR",
        expires_at=NOW + 600,
        line_items=(LineItem("flat-white", "Flat white", 1, 350),),
        description="Kiosk 3, Main Street",
    )
    return replace(checkout, **changes)


def split(token: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    header, payload, signature = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    import base64

    return (
        json.loads(base64.urlsafe_b64decode(pad(header))),
        json.loads(base64.urlsafe_b64decode(pad(payload))),
        signature,
    )


def encode(part: dict[str, Any]) -> str:
    return b64url(json.dumps(part, separators=(",", ":")).encode())


def forge(header: dict[str, Any], claims: dict[str, Any], signature: str) -> str:
    return f"{encode(header)}.{encode(claims)}.{signature}"


def hs256_with_public_key(header: dict[str, Any], claims: dict[str, Any], public: PublicKey) -> str:
    """The classic confusion: HMAC the token with the verifier's public key as the secret."""
    secret = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{encode({**header, 'alg': 'HS256'})}.{encode(claims)}"
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64url(mac)}"

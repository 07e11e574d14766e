"""Canonical JSON, checkout hashes and key thumbprints: vectors and properties."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore.agentpay import Checkout, LineItem, generate_private_key, jwk_thumbprint, public_jwk
from emvcore.agentpay.canonical import JsonError, canonical_json, parse_object
from emvcore.agentpay.keys import public_key_from_jwk
from emvcore.errors import CheckoutError, CryptoError
from tests.emvcore_agentpay.support import coffee

ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,20}", fullmatch=True)
texts = st.text(max_size=40)
items = st.builds(LineItem, ids, texts, st.integers(1, 5), st.integers(0, 10_000))


@st.composite
def checkouts(draw: st.DrawFn) -> Checkout:
    lines = tuple(draw(st.lists(items, max_size=4)))
    amount = sum(i.quantity * i.unit_amount for i in lines)
    if amount == 0:  # no lines, or only free ones: a checkout without line items
        lines, amount = (), draw(st.integers(1, 10**9))
    return Checkout(
        draw(ids), draw(ids), draw(st.from_regex(r"\d{4}", fullmatch=True)), amount,
        draw(st.sampled_from(["EUR", "USD", "JPY"])), draw(st.integers(0, 2**40)), lines, draw(texts),
    )  # fmt: skip


def test_rfc8785_vector() -> None:
    """RFC 8785 3.2.3's sorting example, cut to strings, integers and literals."""
    document = {
        "numbers": [333333333, 4, 20, 0],
        "string": '€$\u000f\nA\'B"\\\\"/',
        "literals": [None, True, False],
    }
    assert canonical_json(document) == (
        b'{"literals":[null,true,false],"numbers":[333333333,4,20,0],'
        b'"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    )


def test_the_checkout_hash_agrees_with_an_independent_computation() -> None:
    checkout = coffee()
    # For ASCII-only text, JCS is sorted keys without white space (RFC 8785 3.2).
    plain = json.dumps(checkout.document(), sort_keys=True, separators=(",", ":")).encode()
    digest = base64.urlsafe_b64encode(hashlib.sha256(plain).digest()).rstrip(b"=").decode()
    assert checkout.hash() == digest == "nC1d2RK-8z7dmT2z6WP7YpkE46gA0XKkn54ry6Ew5ps"


@settings(max_examples=200)
@given(checkouts())
def test_canonical_form_is_stable_and_round_trips(checkout: Checkout) -> None:
    again = Checkout.from_document(json.loads(checkout.canonical()))
    assert again == checkout and again.hash() == checkout.hash()
    reordered = dict(reversed(list(json.loads(json.dumps(checkout.document(), indent=3)).items())))
    assert canonical_json(reordered) == checkout.canonical()


@settings(max_examples=200)
@given(checkouts(), st.integers(1, 10**6))
def test_any_change_of_amount_changes_the_hash(checkout: Checkout, delta: int) -> None:
    changed = Checkout(
        checkout.session_id, checkout.merchant_id, checkout.mcc, checkout.amount + delta,
        checkout.currency, checkout.expires_at, (), checkout.description,
    )  # fmt: skip
    assert changed.hash() != Checkout(
        checkout.session_id, checkout.merchant_id, checkout.mcc, checkout.amount,
        checkout.currency, checkout.expires_at, (), checkout.description,
    ).hash()  # fmt: skip


@pytest.mark.parametrize(
    "change",
    [
        {"amount": 0},
        {"amount": 3.5},
        {"currency": "eur"},
        {"mcc": "58"},
        {"merchant_id": "a b"},
        {"amount": 351},
    ],
)
def test_malformed_checkouts(change: dict[str, object]) -> None:
    document = {**coffee().document(), **change}
    with pytest.raises(CheckoutError):
        Checkout.from_document(document)


def test_strict_json() -> None:
    for bad in (
        b'{"a":1,"a":2}',
        b'{"a":1.0}',
        b'{"a":NaN}',
        b"[1]",
        b'{"a":9007199254740992}',
        b"\xff",
    ):
        with pytest.raises(JsonError):
            parse_object(bad)


def test_thumbprints_follow_rfc7638() -> None:
    key = generate_private_key()
    jwk = public_jwk(key)
    members = json.dumps(
        {k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":")
    ).encode()
    expected = base64.urlsafe_b64encode(hashlib.sha256(members).digest()).rstrip(b"=").decode()
    assert jwk_thumbprint(key) == expected


@pytest.mark.parametrize(
    "change",
    [
        {"kty": "RSA"},
        {"crv": "P-384"},
        {"d": "A" * 43},
        {"x": "A" * 43},
        {"alg": "HS256"},
        {"x": "short"},
    ],
)
def test_only_public_p256_jwks_are_read(change: dict[str, str]) -> None:
    with pytest.raises(CryptoError):
        public_key_from_jwk({**public_jwk(generate_private_key()), **change})

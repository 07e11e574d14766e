"""The closed payment binding: an agent's signature over one checkout under one mandate.

A human-not-present mandate names the agent's key (``cnf.jkt``). To pay a checkout under it,
the agent signs a compact JWS, ES256, ``typ`` ``tap-payment-binding+jwt``, whose claims are::

    {"ver": 1, "mandate_id": "mdt_...", "checkout_hash": "<Checkout.hash()>",
     "nonce": "<128+ random bits>", "iat": 1767225600}

with its public key in the protected ``jwk`` header (as a DPoP proof carries it, RFC 9449
4.2). The header key proves nothing by itself: :mod:`emvcore.agentpay.chain` accepts it only
when its RFC 7638 thumbprint is the ``cnf.jkt`` the wallet signed into the mandate. This is
AP2 v0.2's closed mandate (a key-binding JWT by the ``cnf`` key, over ``checkout_hash``, with
a ``nonce``) reduced to what our acquirer checks.

A binding is fresh for :data:`MAX_AGE` seconds after ``iat``; its nonce is single use within
that window (the acquirer's :class:`~emvcore.agentpay.replay.ReplayCache` remembers it).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from emvcore.agentpay import jose
from emvcore.agentpay.checkout import Checkout
from emvcore.agentpay.fields import NONCE, THUMBPRINT, Fields
from emvcore.agentpay.keys import (
    PrivateKey,
    PublicKey,
    jwk_thumbprint,
    public_jwk,
    public_key_from_jwk,
)
from emvcore.agentpay.reasons import Reason
from emvcore.errors import CryptoError, PaymentBindingError

VERSION = 1
PROFILE = jose.JwsProfile(
    "binding", "tap-payment-binding+jwt", PaymentBindingError, frozenset({"jwk"})
)
#: Seconds a binding stays fresh after it was signed.
MAX_AGE = 300


def new_nonce() -> str:
    """128 random bits in base64url.

    >>> len(new_nonce())
    22
    """
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class PaymentBinding:
    """A verified binding: which key signed which checkout hash under which mandate, when."""

    mandate_id: str
    checkout_hash: str
    nonce: str
    issued_at: int
    #: RFC 7638 thumbprint of the key that signed (to compare with the mandate's ``cnf.jkt``).
    agent_key: str


def _malformed(message: str) -> PaymentBindingError:
    return PaymentBindingError(Reason.BINDING_MALFORMED, message)


def sign_payment_binding(
    *,
    mandate_id: str,
    checkout: Checkout,
    agent_key: PrivateKey,
    now: int,
    nonce: str | None = None,
) -> str:
    """The agent's signature over ``checkout`` under mandate ``mandate_id``, made at ``now``."""
    claims = {
        "ver": VERSION,
        "mandate_id": mandate_id,
        "checkout_hash": checkout.hash(),
        "nonce": new_nonce() if nonce is None else nonce,
        "iat": now,
    }
    return jose.sign(PROFILE, claims, agent_key, jwk=public_jwk(agent_key))


def verify_payment_binding(token: object, *, now: int) -> PaymentBinding:
    """Verify a binding's signature with the key in its header, its form and its freshness.

    Whether that key is the one the mandate names is the chain's check
    (:func:`emvcore.agentpay.chain.check_chain`), as is the nonce's single use.
    """
    read = jose.read(PROFILE, token)
    if "jwk" not in read.header:
        raise _malformed("the binding carries no jwk header")
    try:
        key: PublicKey = public_key_from_jwk(read.header["jwk"])
    except CryptoError as exc:
        raise _malformed(f"jwk header: {exc}") from None
    fields = Fields(jose.verify(PROFILE, read, key), _malformed, "binding")
    if fields.integer("ver") != VERSION:
        raise _malformed(f"binding version is not {VERSION}")
    binding = PaymentBinding(
        mandate_id=fields.string("mandate_id"),
        checkout_hash=fields.string("checkout_hash", THUMBPRINT),
        nonce=fields.string("nonce", NONCE),
        issued_at=fields.integer("iat"),
        agent_key=jwk_thumbprint(key),
    )
    fields.done()
    if not now - MAX_AGE - jose.CLOCK_SKEW <= binding.issued_at <= now + jose.CLOCK_SKEW:
        raise PaymentBindingError(
            Reason.BINDING_STALE, f"binding signed at {binding.issued_at} is not fresh"
        )
    return binding

"""The human-present confirmation: the wallet's signature that the person accepts this cart.

A human-present mandate is paid only once the person has seen the final checkout (amount,
merchant, items: fetched from the acquirer, never from the agent) and confirmed it on their
own device, a kiosk screen or a wearable. The wallet then signs with its *device* key (the
key that signed the mandate, never the agent's) a compact JWS, ES256, ``typ``
``tap-confirmation+jwt``::

    {"ver": 1, "mandate_id": "mdt_...", "checkout_hash": "<Checkout.hash()>",
     "decision": "confirmed", "iat": 1767225600}

``decision`` is ``confirmed`` or ``declined`` (a signed decline lets the acquirer cancel the
session at once). This is AP2 v0.2's Human Present closed mandate: the user's key signs the
exact checkout on a trusted surface. A confirmation is fresh for :data:`MAX_AGE` seconds.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from emvcore.agentpay import jose
from emvcore.agentpay.checkout import Checkout
from emvcore.agentpay.fields import THUMBPRINT, Fields
from emvcore.agentpay.keys import PrivateKey, PublicKey, jwk_thumbprint
from emvcore.agentpay.reasons import Reason
from emvcore.errors import ConfirmationError

VERSION = 1
PROFILE = jose.JwsProfile("confirmation", "tap-confirmation+jwt", ConfirmationError)
#: Seconds a confirmation stays usable after the person gave it.
MAX_AGE = 300


class Decision(StrEnum):
    """What the person answered."""

    CONFIRMED = "confirmed"
    DECLINED = "declined"


@dataclass(frozen=True, slots=True)
class Confirmation:
    """A verified confirmation of one checkout under one mandate."""

    mandate_id: str
    checkout_hash: str
    decision: Decision
    issued_at: int


def _malformed(message: str) -> ConfirmationError:
    return ConfirmationError(Reason.CONFIRMATION_MALFORMED, message)


def sign_confirmation(
    *,
    mandate_id: str,
    checkout: Checkout,
    wallet_key: PrivateKey,
    now: int,
    decision: Decision = Decision.CONFIRMED,
) -> str:
    """The wallet's signed answer to ``checkout`` under mandate ``mandate_id``, at ``now``."""
    claims = {
        "ver": VERSION,
        "mandate_id": mandate_id,
        "checkout_hash": checkout.hash(),
        "decision": decision.value,
        "iat": now,
    }
    return jose.sign(PROFILE, claims, wallet_key, kid=jwk_thumbprint(wallet_key))


def verify_confirmation(
    token: object, *, wallet_key: PublicKey, mandate_id: str, checkout: Checkout, now: int
) -> Confirmation:
    """Verify that the wallet's device key confirmed exactly this checkout under this mandate.

    A token signed by any other key (the agent's, another wallet's) fails with
    ``confirmation_signature_invalid``; a confirmation of another cart or mandate with
    ``confirmation_mismatch``; a decline with ``confirmation_declined``.
    """
    read = jose.read(PROFILE, token)
    fields = Fields(jose.verify(PROFILE, read, wallet_key), _malformed, "confirmation")
    if fields.integer("ver") != VERSION:
        raise _malformed(f"confirmation version is not {VERSION}")
    try:
        decision = Decision(fields.string("decision"))
    except ValueError:
        raise _malformed("decision must be 'confirmed' or 'declined'") from None
    confirmation = Confirmation(
        mandate_id=fields.string("mandate_id"),
        checkout_hash=fields.string("checkout_hash", THUMBPRINT),
        decision=decision,
        issued_at=fields.integer("iat"),
    )
    fields.done()
    if confirmation.mandate_id != mandate_id or confirmation.checkout_hash != checkout.hash():
        raise ConfirmationError(
            Reason.CONFIRMATION_MISMATCH, "the confirmation is for another checkout or mandate"
        )
    if not now - MAX_AGE - jose.CLOCK_SKEW <= confirmation.issued_at <= now + jose.CLOCK_SKEW:
        raise ConfirmationError(
            Reason.CONFIRMATION_STALE,
            f"confirmation given at {confirmation.issued_at} is not fresh",
        )
    if confirmation.decision is Decision.DECLINED:
        raise ConfirmationError(Reason.CONFIRMATION_DECLINED, "the person declined this checkout")
    return confirmation

"""The canonical form of a checkout session and its hash, which agents and wallets sign.

An agent pays a checkout session (the Tap! sessions of the acquirer's ``checkout`` domain)
by signing its hash; a person confirms a human-present cart by having the wallet sign the
same hash. The hash is SHA-256 over the RFC 8785 canonical JSON of::

    {"typ": "tap-checkout/1", "session_id": "...", "merchant_id": "...", "mcc": "5814",
     "amount": 350, "currency": "EUR", "expires_at": 1767225600,
     "line_items": [{"id": "flat-white", "description": "Flat white",
                     "quantity": 1, "unit_amount": 350}],
     "description": "..."}

base64url without padding, as AP2 v0.2 computes ``checkout_hash`` over its checkout JWT.
Every member of the session is hashed, so nothing the person or the agent was shown can
change after signing. Two members are free text written by the merchant: ``description``
and each line item's ``description``. They are hashed and displayed, never interpreted:
the payee is always ``merchant_id`` (a prompt-injected "pay merchant X instead" in a
description changes nothing but the hash).

Amounts are integers in minor units of ``currency`` (ISO 4217), ``amount`` at most the 12
digits of EMV's Amount, Authorised (9F02); when line items are given, their total
(``quantity * unit_amount``) must equal ``amount``. ``expires_at`` is seconds since the
Unix epoch (a NumericDate, RFC 7519 2).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emvcore.agentpay.canonical import MAX_SAFE_INTEGER, canonical_json, sha256_b64url
from emvcore.agentpay.fields import ID, MCC, Fields, is_integer
from emvcore.agentpay.reasons import Reason
from emvcore.currency import currency
from emvcore.errors import CheckoutError, EncodingError

TYPE = "tap-checkout/1"
#: EMV Amount, Authorised (9F02) is n 12.
MAX_AMOUNT = 999_999_999_999
MAX_TEXT = 500
MAX_LINE_ITEMS = 100


def _malformed(message: str) -> CheckoutError:
    return CheckoutError(Reason.CHECKOUT_MALFORMED, message)


@dataclass(frozen=True, slots=True)
class LineItem:
    """One line of a cart: the merchant's item id, its text, quantity and unit price."""

    id: str
    description: str
    quantity: int
    unit_amount: int

    def __post_init__(self) -> None:
        if not ID.fullmatch(self.id):
            raise _malformed("line item id must be 1-128 of A-Z a-z 0-9 _ . : -")
        if not isinstance(self.description, str) or len(self.description) > MAX_TEXT:
            raise _malformed(f"line item description must be text of at most {MAX_TEXT} characters")
        for name, value, low in (
            ("quantity", self.quantity, 1),
            ("unit_amount", self.unit_amount, 0),
        ):
            if not is_integer(value, low, MAX_AMOUNT):
                raise _malformed(f"line item {name} must be an integer in {low}..{MAX_AMOUNT}")

    def document(self) -> dict[str, Any]:
        """The line as it is hashed."""
        return {
            "id": self.id,
            "description": self.description,
            "quantity": self.quantity,
            "unit_amount": self.unit_amount,
        }


@dataclass(frozen=True, slots=True)
class Checkout:
    """A checkout session as the acquirer holds it: what an agent or a person agrees to pay."""

    session_id: str
    merchant_id: str
    mcc: str
    amount: int
    currency: str
    expires_at: int
    line_items: tuple[LineItem, ...] = ()
    #: Free text from the merchant; shown, hashed, never used to choose the payee.
    description: str = ""

    def __post_init__(self) -> None:
        for name in ("session_id", "merchant_id"):
            if not isinstance(getattr(self, name), str) or not ID.fullmatch(getattr(self, name)):
                raise _malformed(f"{name} must be 1-128 of A-Z a-z 0-9 _ . : -")
        if not isinstance(self.mcc, str) or not MCC.fullmatch(self.mcc):
            raise _malformed("mcc must be four digits (ISO 18245)")
        if not is_integer(self.amount, 1, MAX_AMOUNT):
            raise _malformed(f"amount must be an integer in 1..{MAX_AMOUNT} minor units")
        try:
            if not isinstance(self.currency, str) or currency(self.currency).alpha != self.currency:
                raise _malformed("currency must be an upper-case ISO 4217 code")
        except EncodingError as exc:
            raise _malformed(str(exc)) from None
        if not is_integer(self.expires_at, 0, MAX_SAFE_INTEGER):
            raise _malformed("expires_at must be a NumericDate (integer seconds)")
        if not isinstance(self.description, str) or len(self.description) > MAX_TEXT:
            raise _malformed(f"description must be text of at most {MAX_TEXT} characters")
        if len(self.line_items) > MAX_LINE_ITEMS:
            raise _malformed(f"a checkout has at most {MAX_LINE_ITEMS} line items")
        if (
            self.line_items
            and sum(i.quantity * i.unit_amount for i in self.line_items) != self.amount
        ):
            raise _malformed("the line items do not add up to the amount")

    def document(self) -> dict[str, Any]:
        """The session's canonical document (before JCS serialization)."""
        return {
            "typ": TYPE,
            "session_id": self.session_id,
            "merchant_id": self.merchant_id,
            "mcc": self.mcc,
            "amount": self.amount,
            "currency": self.currency,
            "expires_at": self.expires_at,
            "line_items": [item.document() for item in self.line_items],
            "description": self.description,
        }

    def canonical(self) -> bytes:
        """The RFC 8785 canonical JSON of :meth:`document`: the bytes that are hashed."""
        return canonical_json(self.document())

    def hash(self) -> str:
        """``checkout_hash``: base64url SHA-256 of :meth:`canonical`.

        >>> Checkout("cs_1", "m-coffee", "5814", 350, "EUR", 1767225600).hash()
        'Rsa0STCBqEwN1zgccmCaWkzk_Zf3Is8z_vfSvdEzVHY'
        """
        return sha256_b64url(self.canonical())

    @classmethod
    def from_document(cls, document: object) -> Checkout:
        """Read a checkout from its document (for instance JSON an agent sent); strict."""
        fields = Fields(document, _malformed, "checkout")
        if fields.string("typ") != TYPE:
            raise _malformed(f"checkout typ must be {TYPE!r}")
        items = []
        for i, raw in enumerate(fields.array("line_items", max_items=MAX_LINE_ITEMS)):
            item = Fields(raw, _malformed, f"checkout.line_items[{i}]")
            items.append(
                LineItem(
                    item.string("id"),
                    item.string("description", max_length=MAX_TEXT),
                    item.integer("quantity", minimum=1, maximum=MAX_AMOUNT),
                    item.integer("unit_amount", maximum=MAX_AMOUNT),
                )
            )
            item.done()
        checkout = cls(
            session_id=fields.string("session_id"),
            merchant_id=fields.string("merchant_id"),
            mcc=fields.string("mcc"),
            amount=fields.integer("amount", minimum=1, maximum=MAX_AMOUNT),
            currency=fields.string("currency"),
            expires_at=fields.integer("expires_at"),
            line_items=tuple(items),
            description=fields.string("description", max_length=MAX_TEXT),
        )
        fields.done()
        return checkout

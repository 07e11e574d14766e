"""The messages of an authorization: the request, the result (the answer), the outcome.

:class:`AuthorizationRequest` is what a terminal (or an in-process caller: rentals, debts,
parcels) asks; :class:`AuthorizationResult` the decision as the terminal reads it, written on
the wire by :meth:`AuthorizationResult.to_json` (its contract is
:class:`~acquirer.payments.schemas.AuthorizationResponseBody`); :class:`AuthorizationOutcome`
what :class:`~acquirer.payments.service.AuthorizationService` returns, with the typed result.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from acquirer import idempotency
from acquirer.clock import format_timestamp
from acquirer.payments.rows import Intent


@dataclass(frozen=True, slots=True)
class AuthorizationRequest:
    """One authorization request as the terminal sent it (already schema-validated)."""

    terminal_id: str
    idempotency_key: str
    amount: int
    currency: str
    emv_data: bytes
    intent: Intent = Intent.SALE
    reference: str | None = None
    """The merchant's reference (order id), 1-64 printable ASCII characters."""
    debt_recovery: bool = False
    """A sale that pays an account's debt: the deny list, there because of that debt, does
    not refuse it (the transit schemes' debt recovery). Set by the acquirer, never by a
    terminal's request body."""

    def digest(self) -> str:
        """SHA-256 (hex) of the canonical request, to tell a retry from a different request.

        The canonical form is compact JSON with sorted keys and the EMV data in lower-case
        hex, so a retry that differs only in whitespace, key order or hex case is the same
        request. The idempotency key itself is not part of it; the intent is, when it is not
        the default (a sale), so digests of sales stay what they always were.
        """
        fields: dict[str, object] = {
            "amount": self.amount,
            "currency": self.currency,
            "emv_data": self.emv_data.hex(),
            "terminal_id": self.terminal_id,
        }
        if self.intent is not Intent.SALE:
            fields["intent"] = self.intent.value
        if self.debt_recovery:
            fields["debt_recovery"] = True
        if self.reference is not None:
            fields["reference"] = self.reference
        return idempotency.request_hash(fields)


@dataclass(frozen=True, slots=True)
class AuthorizationResult:
    """The decision, with exactly the fields the terminal reads."""

    authorization_id: str
    approved: bool
    response_code: str
    reason: str
    issuer_authentication_data: bytes | None
    token_masked: str
    par: str | None
    atc: int | None
    cryptogram_verified: bool
    created_at: datetime
    reference: str | None = None

    @property
    def tag_91(self) -> str | None:
        """The issuer authentication data (tag 91) as the answer carries it: upper hex."""
        iad = self.issuer_authentication_data
        return None if iad is None else iad.hex().upper()

    def to_json(self) -> str:
        """The response body: compact JSON, fields in contract order, tag 91 in upper hex.

        Written by hand for speed (the fast path sends it); the contract is
        :class:`~acquirer.payments.schemas.AuthorizationResponseBody`, and a test checks over
        generated results that these bytes validate against it and equal its JSON dump.
        """
        iad = self.issuer_authentication_data
        body: dict[str, object] = {
            "authorization_id": self.authorization_id,
            "approved": self.approved,
            "response_code": self.response_code,
            "reason": self.reason,
            "issuer_authentication_data": None if iad is None else iad.hex().upper(),
            "token_masked": self.token_masked,
            "par": self.par,
            "atc": self.atc,
            "cryptogram_verified": self.cryptogram_verified,
            "created_at": format_timestamp(self.created_at),
        }
        if self.reference is not None:
            # Additive: only answers to requests that carried a reference have the field.
            body["reference"] = self.reference
        return json.dumps(body, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> AuthorizationResult:
        """The result an answer body (:meth:`to_json`, possibly stored) carries."""
        answer = json.loads(text)
        iad = answer["issuer_authentication_data"]
        return cls(
            authorization_id=answer["authorization_id"],
            approved=answer["approved"],
            response_code=answer["response_code"],
            reason=answer["reason"],
            issuer_authentication_data=None if iad is None else bytes.fromhex(iad),
            token_masked=answer["token_masked"],
            par=answer["par"],
            atc=answer["atc"],
            cryptogram_verified=answer["cryptogram_verified"],
            created_at=datetime.fromisoformat(answer["created_at"]),
            reference=answer.get("reference"),
        )


@dataclass(frozen=True, slots=True)
class AuthorizationOutcome:
    """What :meth:`AuthorizationService.authorize` returns.

    ``response_json`` is the body to send: for a replayed idempotency key, the stored body of
    the first answer, byte for byte. ``replayed`` tells the two cases apart.
    """

    authorization_id: str
    approved: bool
    reason: str
    response_json: str
    replayed: bool

    @property
    def result(self) -> AuthorizationResult:
        """The answer as a typed result, for in-process callers (rentals, debts, parcels)."""
        return AuthorizationResult.from_json(self.response_json)

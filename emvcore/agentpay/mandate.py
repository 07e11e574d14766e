"""The mandate: a person's signed authority for agents to pay on their behalf.

A wallet signs a mandate with its device key as a compact JWS, ES256, ``typ``
``tap-mandate+jwt`` (RFC 7515, RFC 7518 3.4, explicit typing per RFC 8725 3.11); the
acquirer verifies it with the device key it registered when the token was provisioned.
The claims (RFC 7519 names where one exists)::

    {"ver": 1, "jti": "mdt_...", "iss": "<wallet key thumbprint>",
     "iat": 1767225600, "nbf": 1767225600, "exp": 1769904000,
     "payer": {"par": "<29 characters>", "token": "<DPAN, optional>"},
     "currency": "EUR", "max_amount": 2000, "budget": 10000,
     "payees": {"merchants": ["m-coffee"], "mccs": ["5814"]},
     "use": {"kind": "recurring", "period": "week", "max_occurrences": 10},
     "presence": "human_not_present", "cnf": {"jkt": "<agent key thumbprint>"}}

Rules: amounts are integers in minor units of ``currency``; ``max_amount <= budget``; a
payee is allowed when it is in ``merchants`` (if given) *and* its MCC is in ``mccs`` (if
given), and at least one of the two is given (a mandate payable anywhere is refused);
``nbf < exp`` and the mandate lives at most :data:`MAX_LIFETIME`; a human-not-present mandate
names the agent's key by its RFC 7638 thumbprint in ``cnf.jkt`` (the confirmation method of
RFC 7800 3.1, spelt as RFC 9449 6.1 spells a key thumbprint), and only that key may sign
payments under it. The budget and the recurrence are stateful: the acquirer keeps them.

Why a plain JWS and not an SD-JWT VC as AP2 v0.2 uses: the one verifier here (the acquirer)
must see every claim, so selective disclosure protects nobody yet and would add a disclosure
digest layer to get wrong; the ``sd-jwt`` reference package had no release since 2024. The
claims keep AP2's model (open mandate with constraints and ``cnf`` agent key, closed payment
bound by ``checkout_hash``), so wrapping them as an SD-JWT later changes the envelope only.

How each field maps to AP2 v0.2 (open Payment/Checkout Mandate, ``vct``
``mandate.payment.open.1``) and to ACP's ``delegate_payment`` Allowance (2025-09-29):

======================  ========================================  ==================================
ours                    AP2 v0.2                                  ACP delegate_payment allowance
======================  ========================================  ==================================
jti (mandate id)        the SD-JWT itself; closed mandates point  vault token id (vt_...)
                        back by hash (payment.reference)
ver, typ                vct and its version suffix                API-Version header
                        (mandate.payment.open.1)
iss + ES256 signature   issuer signature by the user's key        PSP bearer auth; optional
                        (ES256)                                   Signature header
payer.par, payer.token  payment_instrument;                       payment_method (network_token
                        payment.allowed_payment_instruments       number)
currency                amount_range.currency, budget.currency    allowance.currency (lower case)
max_amount              payment.amount_range.max (AP2 also has    allowance.max_amount
                        min; ours is 0)
budget                  payment.budget.max                        none (one time: max_amount is all)
payees.merchants        payment.allowed_payees,                   allowance.merchant_id (exactly
                        checkout.allowed_merchants                one)
payees.mccs             none (Mastercard Verifiable Intent has    none
                        merchant categories)
nbf                     payment.execution_date.not_before         none
exp                     exp; payment.execution_date.not_after     allowance.expires_at (RFC 3339)
use: single             a closed mandate is presented once        allowance.reason one_time (only
                                                                  value)
use: recurring          payment.agent_recurrence (frequency,      none
                        max_occurrences)
human_present           Human Present: the user signs the closed  the user confirms in the agent's
                        mandate on a trusted surface              UI
human_not_present       Human Not Present: the open mandate       none: the token is scoped to one
                        carries the agent key in cnf.jwk
  + cnf.jkt             and the agent signs the closed mandates   checkout session instead
                        (KB-JWT)
binding (agent)         closed mandate: checkout_hash, KB-JWT     allowance.checkout_session_id
                        nonce and aud
confirmation (wallet)   closed mandate signed by the user on the  none
                        trusted surface
======================  ========================================  ==================================
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from emvcore.agentpay import jose
from emvcore.agentpay.canonical import MAX_SAFE_INTEGER
from emvcore.agentpay.fields import ID, MCC, THUMBPRINT, Fields, is_integer
from emvcore.agentpay.keys import PrivateKey, PublicKey, jwk_thumbprint
from emvcore.agentpay.reasons import Reason
from emvcore.currency import currency
from emvcore.errors import EncodingError, MandateError

VERSION = 1
PROFILE = jose.JwsProfile("mandate", "tap-mandate+jwt", MandateError)
#: The longest a mandate may be valid (``exp - nbf``), in seconds.
MAX_LIFETIME = 400 * 86_400
#: Largest per-payment maximum and budget: EMV Amount, Authorised (9F02) is n 12.
MAX_AMOUNT = 999_999_999_999
_PAR = re.compile(r"[0-9A-Z]{29}")
_TOKEN = re.compile(r"\d{12,19}")
_MANDATE_ID = re.compile(r"mdt_[A-Za-z0-9_-]{22}")


class Presence(StrEnum):
    """Who is there when a payment is made under the mandate."""

    #: The person confirms the final cart; the wallet signs the confirmation.
    HUMAN_PRESENT = "human_present"
    #: The agent pays alone, with the key the mandate names.
    HUMAN_NOT_PRESENT = "human_not_present"


class Period(StrEnum):
    """The period of a recurring mandate (AP2 ``agent_recurrence.frequency``)."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"


@dataclass(frozen=True, slots=True)
class Recurrence:
    """A recurring mandate: at most one payment per ``period``, and ``max_occurrences`` in all."""

    period: Period
    max_occurrences: int | None = None


def new_mandate_id() -> str:
    """A fresh, unguessable mandate id: ``mdt_`` and 128 random bits in base64url.

    >>> len(new_mandate_id()), new_mandate_id()[:4]
    (26, 'mdt_')
    """
    return "mdt_" + secrets.token_urlsafe(16)


def _malformed(message: str) -> MandateError:
    return MandateError(Reason.MANDATE_MALFORMED, message)


@dataclass(frozen=True, slots=True)
class Mandate:
    """The terms of a mandate. :func:`sign_mandate` signs them; :func:`verify_mandate` reads them."""

    mandate_id: str
    #: RFC 7638 thumbprint of the wallet device key that signs (the JWT ``iss``).
    wallet: str
    currency: str
    max_amount: int
    budget: int
    issued_at: int
    not_before: int
    expires_at: int
    presence: Presence
    par: str | None = None
    token: str | None = None
    merchants: tuple[str, ...] = ()
    mccs: tuple[str, ...] = ()
    #: ``None``: single use. A :class:`Recurrence`: recurring.
    recurrence: Recurrence | None = None
    #: RFC 7638 thumbprint of the agent key allowed to pay (``cnf.jkt``).
    agent_key: str | None = None
    version: int = VERSION

    def __post_init__(self) -> None:
        if not _MANDATE_ID.fullmatch(self.mandate_id):
            raise _malformed("mandate id must be 'mdt_' and 22 base64url characters")
        if not THUMBPRINT.fullmatch(self.wallet):
            raise _malformed("wallet must be an RFC 7638 thumbprint")
        if self.par is None and self.token is None:
            raise _malformed("a mandate names its payer by PAR, token or both")
        if self.par is not None and not _PAR.fullmatch(self.par):
            raise _malformed("par must be 29 upper-case letters or digits")
        if self.token is not None and not _TOKEN.fullmatch(self.token):
            raise _malformed("token must be 12-19 digits")
        try:
            if currency(self.currency).alpha != self.currency:
                raise _malformed("currency must be an upper-case ISO 4217 code")
        except EncodingError as exc:
            raise _malformed(str(exc)) from None
        for name in ("max_amount", "budget"):
            value = getattr(self, name)
            if not is_integer(value, 1, MAX_AMOUNT):
                raise _malformed(f"{name} must be an integer in 1..{MAX_AMOUNT} minor units")
        if self.max_amount > self.budget:
            raise _malformed("max_amount must not exceed the budget")
        if not self.merchants and not self.mccs:
            raise _malformed("a mandate names allowed merchants, merchant categories or both")
        if not all(ID.fullmatch(m) for m in self.merchants) or not all(
            MCC.fullmatch(c) for c in self.mccs
        ):
            raise _malformed("merchants must be ids and mccs four digits")
        if len(set(self.merchants)) != len(self.merchants) or len(set(self.mccs)) != len(self.mccs):
            raise _malformed("merchants and mccs must not repeat")
        times = (self.issued_at, self.not_before, self.expires_at)
        if not all(is_integer(t, 0, MAX_SAFE_INTEGER) for t in times):
            raise _malformed("iat, nbf and exp must be NumericDates (integer seconds)")
        if (
            not 0 <= self.not_before < self.expires_at
            or self.expires_at - self.not_before > MAX_LIFETIME
        ):
            raise _malformed(f"nbf must precede exp, at most {MAX_LIFETIME} seconds apart")
        if not 0 <= self.issued_at <= self.expires_at:
            raise _malformed("iat must not be after exp")
        if self.agent_key is not None and not THUMBPRINT.fullmatch(self.agent_key):
            raise _malformed("cnf.jkt must be an RFC 7638 thumbprint")
        if self.presence is Presence.HUMAN_NOT_PRESENT and self.agent_key is None:
            raise _malformed("a human-not-present mandate names the agent's key (cnf.jkt)")
        if self.recurrence is not None and self.recurrence.max_occurrences is not None:
            if not 1 <= self.recurrence.max_occurrences <= 10_000:
                raise _malformed("max_occurrences must be in 1..10000")
        if self.version != VERSION:
            raise MandateError(
                Reason.MANDATE_VERSION_UNSUPPORTED, f"mandate version {self.version}"
            )

    def payee_refusal(self, merchant_id: str, mcc: str) -> Reason | None:
        """``None`` when the mandate allows this merchant and category, else the reason."""
        if self.merchants and merchant_id not in self.merchants:
            return Reason.MERCHANT_NOT_ALLOWED
        if self.mccs and mcc not in self.mccs:
            return Reason.CATEGORY_NOT_ALLOWED
        return None

    def claims(self) -> dict[str, Any]:
        """The JWT claims that are signed."""
        payer = {k: v for k, v in (("par", self.par), ("token", self.token)) if v is not None}
        payees: dict[str, Any] = {}
        if self.merchants:
            payees["merchants"] = list(self.merchants)
        if self.mccs:
            payees["mccs"] = list(self.mccs)
        use: dict[str, Any] = {"kind": "single"}
        if self.recurrence is not None:
            use = {"kind": "recurring", "period": self.recurrence.period.value}
            if self.recurrence.max_occurrences is not None:
                use["max_occurrences"] = self.recurrence.max_occurrences
        claims: dict[str, Any] = {
            "ver": self.version,
            "jti": self.mandate_id,
            "iss": self.wallet,
            "iat": self.issued_at,
            "nbf": self.not_before,
            "exp": self.expires_at,
            "payer": payer,
            "currency": self.currency,
            "max_amount": self.max_amount,
            "budget": self.budget,
            "payees": payees,
            "use": use,
            "presence": self.presence.value,
        }
        if self.agent_key is not None:
            claims["cnf"] = {"jkt": self.agent_key}
        return claims

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Mandate:
        """Read verified claims strictly (unknown members are refused)."""
        fields = Fields(claims, _malformed, "mandate")
        version = fields.integer("ver")
        if version != VERSION:
            raise MandateError(
                Reason.MANDATE_VERSION_UNSUPPORTED, f"mandate version {version} is not {VERSION}"
            )
        payer = fields.object("payer")
        par = payer.string("par") if payer.has("par") else None
        token = payer.string("token", max_length=19) if payer.has("token") else None
        payer.done()
        payees = fields.object("payees")
        merchants, mccs = payees.strings("merchants", ID), payees.strings("mccs", MCC)
        payees.done()
        use = fields.object("use")
        recurrence = None
        kind = use.string("kind")
        if kind == "recurring":
            try:
                period = Period(use.string("period"))
            except ValueError:
                raise _malformed("use.period must be day, week, month or year") from None
            count = (
                use.integer("max_occurrences", minimum=1) if use.has("max_occurrences") else None
            )
            recurrence = Recurrence(period, count)
        elif kind != "single":
            raise _malformed("use.kind must be 'single' or 'recurring'")
        use.done()
        try:
            presence = Presence(fields.string("presence"))
        except ValueError:
            raise _malformed("presence must be human_present or human_not_present") from None
        agent_key = None
        if fields.has("cnf"):
            cnf = fields.object("cnf")
            agent_key = cnf.string("jkt", THUMBPRINT)
            cnf.done()
        mandate = cls(
            mandate_id=fields.string("jti"),
            wallet=fields.string("iss"),
            currency=fields.string("currency"),
            max_amount=fields.integer("max_amount"),
            budget=fields.integer("budget"),
            issued_at=fields.integer("iat"),
            not_before=fields.integer("nbf"),
            expires_at=fields.integer("exp"),
            presence=presence,
            par=par,
            token=token,
            merchants=merchants,
            mccs=mccs,
            recurrence=recurrence,
            agent_key=agent_key,
            version=version,
        )
        fields.done()
        return mandate


def sign_mandate(mandate: Mandate, wallet_key: PrivateKey) -> str:
    """Sign the mandate with the wallet's device key: a compact JWS, ES256."""
    thumbprint = jwk_thumbprint(wallet_key)
    if mandate.wallet != thumbprint:
        raise _malformed("the mandate's wallet is not the thumbprint of the signing key")
    return jose.sign(PROFILE, mandate.claims(), wallet_key, kid=thumbprint)


def verify_mandate(token: object, wallet_key: PublicKey, *, now: int) -> Mandate:
    """Verify a mandate against the wallet's registered device key at time ``now``.

    The JWS profile (ES256 only, ``typ``, no ``crit``) is applied before the key is used;
    then the claims are read strictly; then the validity window, with :data:`jose.CLOCK_SKEW`
    of tolerance: ``nbf - skew <= now < exp + skew`` and ``iat <= now + skew``.
    """
    read = jose.read(PROFILE, token)
    thumbprint = jwk_thumbprint(wallet_key)
    if read.header.get("kid", thumbprint) != thumbprint:
        raise MandateError(
            Reason.MANDATE_SIGNATURE_INVALID, "the mandate was signed by another wallet's key"
        )
    mandate = Mandate.from_claims(jose.verify(PROFILE, read, wallet_key))
    if mandate.wallet != thumbprint:
        raise MandateError(
            Reason.MANDATE_SIGNATURE_INVALID, "the mandate names another wallet as issuer"
        )
    if now < mandate.not_before - jose.CLOCK_SKEW or now + jose.CLOCK_SKEW < mandate.issued_at:
        raise MandateError(
            Reason.MANDATE_NOT_YET_VALID, f"mandate {mandate.mandate_id} is not valid yet"
        )
    if now >= mandate.expires_at + jose.CLOCK_SKEW:
        raise MandateError(Reason.MANDATE_EXPIRED, f"mandate {mandate.mandate_id} has expired")
    return mandate

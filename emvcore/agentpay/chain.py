"""The chain check: wallet key -> mandate -> agent key -> this exact checkout.

:func:`check_chain` is what the acquirer's mandates domain runs before it authorizes a
payment under a mandate. Given the wallet's registered device key, the mandate, the checkout
session *as the acquirer holds it* and what the agent presented, it decides, without state
except the replay cache, whether the payment is within the mandate:

1. the mandate verifies under the wallet's key and is valid at ``now``
   (``mandate_*`` reasons);
2. the checkout session has not expired (``checkout_expired``);
3. if the mandate names an agent key (always for human-not-present), a payment binding is
   present (``binding_required``), verifies and is fresh (``binding_*``), is signed by
   *that* key (``agent_key_not_named``), for this mandate (``binding_mandate_mismatch``) and
   over this checkout's hash (``checkout_altered``); a binding for a mandate naming no key
   is refused too (``agent_key_not_named``);
4. if the mandate is human-present, the wallet's confirmation of this checkout is present
   (``confirmation_required``) and verifies under the *wallet's* key (``confirmation_*``);
5. the checkout is within the mandate's scope: same currency (``currency_mismatch``),
   amount at most the per-payment maximum (``amount_over_mandate``), payee allowed
   (``merchant_not_allowed``, ``merchant_category_not_allowed``). The payee is the
   checkout's ``merchant_id``; no free text is read;
6. last, the binding's nonce is recorded in the replay cache (``binding_replayed``), so
   only an accepted binding consumes its nonce.

The budget (total spent), the recurrence and revocation need state: the acquirer checks them
after this, in the same transaction that records the payment.
"""

from __future__ import annotations

from dataclasses import dataclass

from emvcore.agentpay import binding as binding_
from emvcore.agentpay import jose
from emvcore.agentpay.checkout import Checkout
from emvcore.agentpay.confirmation import verify_confirmation
from emvcore.agentpay.keys import PublicKey
from emvcore.agentpay.mandate import Mandate, Presence, verify_mandate
from emvcore.agentpay.reasons import Reason
from emvcore.agentpay.replay import ReplayCache
from emvcore.errors import (
    AgentPayError,
    CheckoutError,
    ConfirmationError,
    MandateScopeError,
    PaymentBindingError,
)


@dataclass(frozen=True, slots=True)
class ChainAccepted:
    """The payment is within the mandate: what the acquirer authorizes and records."""

    mandate: Mandate
    checkout_hash: str
    #: Always the checkout's ``merchant_id``.
    payee: str
    amount: int
    currency: str
    #: Thumbprint of the agent key that signed the binding (``None`` without a binding).
    agent_key: str | None
    binding_nonce: str | None
    #: Whether the person confirmed this checkout (human present).
    confirmed: bool


@dataclass(frozen=True, slots=True)
class ChainRefused:
    """The payment is refused; ``reason`` is the stable code to return."""

    reason: Reason
    message: str

    @classmethod
    def of(cls, error: AgentPayError) -> ChainRefused:
        """The refusal an error stands for."""
        return cls(error.reason, str(error))


def check_chain(
    *,
    mandate: str,
    wallet_key: PublicKey,
    checkout: Checkout,
    binding: str | None,
    confirmation: str | None,
    now: int,
    replay: ReplayCache,
) -> ChainAccepted | ChainRefused:
    """Decide whether ``checkout`` may be paid under ``mandate`` (a compact JWS) at ``now``."""
    try:
        return _check(mandate, wallet_key, checkout, binding, confirmation, now, replay)
    except AgentPayError as error:
        return ChainRefused.of(error)


def _check(
    token: str,
    wallet_key: PublicKey,
    checkout: Checkout,
    binding_token: str | None,
    confirmation: str | None,
    now: int,
    replay: ReplayCache,
) -> ChainAccepted:
    mandate = verify_mandate(token, wallet_key, now=now)
    checkout_hash = checkout.hash()
    if checkout.expires_at <= now:
        raise CheckoutError(Reason.CHECKOUT_EXPIRED, f"checkout {checkout.session_id} has expired")

    bound = None
    if binding_token is not None or mandate.agent_key is not None:
        if binding_token is None:
            raise PaymentBindingError(
                Reason.BINDING_REQUIRED, "the mandate names an agent key: a binding is required"
            )
        bound = binding_.verify_payment_binding(binding_token, now=now)
        if mandate.agent_key is None or bound.agent_key != mandate.agent_key:
            raise PaymentBindingError(
                Reason.AGENT_KEY_NOT_NAMED, "the binding's key is not the one the mandate names"
            )
        if bound.mandate_id != mandate.mandate_id:
            raise PaymentBindingError(
                Reason.BINDING_MANDATE_MISMATCH, "the binding is for another mandate"
            )
        if bound.checkout_hash != checkout_hash:
            raise PaymentBindingError(
                Reason.CHECKOUT_ALTERED, "the checkout differs from the one the agent signed"
            )

    if mandate.presence is Presence.HUMAN_PRESENT:
        if confirmation is None:
            raise ConfirmationError(
                Reason.CONFIRMATION_REQUIRED,
                "a human-present mandate needs the wallet's confirmation",
            )
        verify_confirmation(
            confirmation,
            wallet_key=wallet_key,
            mandate_id=mandate.mandate_id,
            checkout=checkout,
            now=now,
        )

    if checkout.currency != mandate.currency:
        raise MandateScopeError(
            Reason.CURRENCY_MISMATCH,
            f"checkout in {checkout.currency}, mandate in {mandate.currency}",
        )
    if checkout.amount > mandate.max_amount:
        raise MandateScopeError(
            Reason.AMOUNT_OVER_MANDATE,
            f"{checkout.amount} is over the mandate's {mandate.max_amount}",
        )
    refusal = mandate.payee_refusal(checkout.merchant_id, checkout.mcc)
    if refusal is not None:
        raise MandateScopeError(
            refusal, f"merchant {checkout.merchant_id} (MCC {checkout.mcc}) is not allowed"
        )

    if bound is not None:
        window_end = bound.issued_at + binding_.MAX_AGE + jose.CLOCK_SKEW
        if not replay.first_use(
            f"binding:{bound.agent_key}", bound.nonce, expires_at=window_end, now=now
        ):
            raise PaymentBindingError(
                Reason.BINDING_REPLAYED, "this binding's nonce was already used"
            )

    return ChainAccepted(
        mandate=mandate,
        checkout_hash=checkout_hash,
        payee=checkout.merchant_id,
        amount=checkout.amount,
        currency=checkout.currency,
        agent_key=None if bound is None else bound.agent_key,
        binding_nonce=None if bound is None else bound.nonce,
        confirmed=mandate.presence is Presence.HUMAN_PRESENT,
    )

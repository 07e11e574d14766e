"""What the mandates domain stores (a mandate's state) and its own stable refusal reasons.

A payment under a mandate is refused by the chain check (:class:`emvcore.agentpay.Reason`),
by the session's state (:class:`~acquirer.checkout.rows.CheckoutReason`), by the mandate's
state here (:class:`MandateReason`) or by the payments authorization itself (its reasons).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class MandateReason(enum.StrEnum):
    """Why the acquirer's state refuses a payment the chain check accepted. Stable values.

    ======================  ==================================================================
    reason                  meaning
    ======================  ==================================================================
    wallet_key_unknown      no device key with the mandate's ``iss`` thumbprint is registered
    payer_mismatch          the mandate names a token other than the one its key is for
    agent_key_unknown       the binding's agent key is not registered with the acquirer
    mandate_revoked         the person revoked the mandate
    mandate_used            single use already used, or ``max_occurrences`` reached
    budget_exceeded         the payment would take the total spent over the budget
    ======================  ==================================================================
    """

    WALLET_KEY_UNKNOWN = "wallet_key_unknown"
    PAYER_MISMATCH = "payer_mismatch"
    AGENT_KEY_UNKNOWN = "agent_key_unknown"
    MANDATE_REVOKED = "mandate_revoked"
    MANDATE_USED = "mandate_used"
    BUDGET_EXCEEDED = "budget_exceeded"


class MandateRefusal(Exception):
    """Raised inside a payment's transaction to roll it back: the mandate cannot pay it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class MandateRow:
    """A verified mandate and its state. Times of the mandate are NumericDates (seconds)."""

    id: str
    wallet: str
    token: str
    currency: str
    max_amount: int
    budget: int
    spent: int
    uses: int
    #: ``1`` for single use, ``max_occurrences`` or ``None`` (unbounded) for recurring.
    max_uses: int | None
    not_before: int
    expires_at: int
    presence: str
    agent_key: str | None
    revoked_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @property
    def remaining(self) -> int:
        """What is left of the budget, in minor units."""
        return self.budget - self.spent


@dataclass(frozen=True, slots=True)
class WalletKeyRow:
    """A wallet's device key, registered for one token."""

    thumbprint: str
    token: str
    jwk: str
    created_at: datetime

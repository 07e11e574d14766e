"""What the checkout domain stores: a session's row and state, and the stable refusal reasons.

A checkout session (issue 15, Tap! mode) is created by a terminal for one amount and
currency and moves ``created -> paid | expired | cancelled`` exactly once. A wallet's
payment of it is either answered by the payments authorization (its own reasons,
:class:`~acquirer.payments.reasons.Reason`) or refused by the checkout domain before or while
it is recorded (:class:`CheckoutReason`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class SessionState(enum.StrEnum):
    """A session's state: ``created`` until it is paid, expired or cancelled (once)."""

    CREATED = "created"
    PAID = "paid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class CheckoutReason(enum.StrEnum):
    """Why a wallet's payment of a session was refused by the checkout domain.

    Stable, part of the API contract, beside the payments reasons (``amount_mismatch``,
    ``currency_mismatch``, ``cryptogram_invalid``, ``atc_replayed``, ...), which a payment
    that reached the authorization carries:

    ======================  ==================================================================
    reason                  meaning
    ======================  ==================================================================
    session_expired         the session's expiry passed before it was paid
    session_cancelled       the terminal cancelled the session
    session_already_paid    the session was paid (by this wallet or another)
    link_malformed          the link is not a v1 Tap! link under the acquirer's base URL
    link_forged             the link's MAC does not verify under its terminal's link key, or
                            it names another terminal's session
    link_replayed           the link's nonce was used by an earlier payment
                            (:func:`emvcore.tapmode.accept_link`)
    cryptogram_replayed     the cryptogram's Unpredictable Number (9F37) is not this session's
                            nonce: EMV data made for another session, replayed here
    ======================  ==================================================================
    """

    SESSION_EXPIRED = "session_expired"
    SESSION_CANCELLED = "session_cancelled"
    SESSION_ALREADY_PAID = "session_already_paid"
    LINK_MALFORMED = "link_malformed"
    LINK_FORGED = "link_forged"
    LINK_REPLAYED = "link_replayed"
    CRYPTOGRAM_REPLAYED = "cryptogram_replayed"


#: The refusal of a payment of a session in each closed state.
CLOSED_REASONS = {
    SessionState.PAID: CheckoutReason.SESSION_ALREADY_PAID,
    SessionState.EXPIRED: CheckoutReason.SESSION_EXPIRED,
    SessionState.CANCELLED: CheckoutReason.SESSION_CANCELLED,
}


class CheckoutRefusal(Exception):
    """Raised inside a payment's transaction to roll it back: the session cannot be paid."""

    def __init__(self, reason: CheckoutReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class SessionRow:
    """One checkout session. ``nonce`` is the 4-byte session nonce the cryptogram covers (9F37)."""

    id: str
    terminal_id: str
    merchant_id: str
    idempotency_key: str
    request_hash: str
    amount: int
    currency: str
    reference: str
    nonce: bytes
    state: SessionState
    created_at: datetime
    expires_at: datetime
    updated_at: datetime
    authorization_id: str | None = None

    def open_at(self, now: datetime) -> bool:
        """Whether a wallet may still pay it at ``now``."""
        return self.state is SessionState.CREATED and now < self.expires_at

    def refusal_at(self, now: datetime) -> CheckoutReason | None:
        """Why a payment at ``now`` is refused by the session's state, or ``None``."""
        if self.state is not SessionState.CREATED:
            return CLOSED_REASONS[self.state]
        if now >= self.expires_at:
            return CheckoutReason.SESSION_EXPIRED
        return None

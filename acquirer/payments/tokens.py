"""What a token allows: its status, its expiry and its domain restriction controls.

The same rules decide a card's authorization and an agent's delegated payment
(:class:`~acquirer.payments.service.AuthorizationService`); an increment of a hold asks the
token's status through :mod:`acquirer.payments.risk`.

>>> from datetime import UTC
>>> last_day, next_month = datetime(2025, 12, 31, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC)
>>> expired("2512", last_day), expired("2512", next_month)
(False, True)
"""

from __future__ import annotations

from datetime import datetime

from acquirer.payments.reasons import Reason
from acquirer.registry import TokenRow, TokenStatus

__all__ = ["expired", "in_domain", "token_refusal"]


def in_domain(token: TokenRow, mcc: str | None) -> bool:
    """Whether the token's domain restriction controls allow a merchant of ``mcc``.

    ``mcc`` is ``None`` for an unregistered terminal, which a restricted token refuses.
    """
    if token.allowed_mccs is None:
        return True
    return mcc is not None and mcc in token.allowed_mccs


def token_refusal(token: TokenRow, mcc: str | None, now: datetime) -> Reason | None:
    """Why the token cannot pay at a merchant of ``mcc`` now (status, expiry, domain)."""
    if token.status is not TokenStatus.ACTIVE:
        return Reason.TOKEN_INACTIVE
    if expired(token.expiry, now):
        return Reason.TOKEN_EXPIRED
    if not in_domain(token, mcc):
        return Reason.TOKEN_DOMAIN_RESTRICTED
    return None


def expired(expiry: str, now: datetime) -> bool:
    """A YYMM expiry is valid through the last day of that month."""
    return f"{now.year % 100:02d}{now.month:02d}" > expiry

"""Risk controls applied to a genuine, fresh cryptogram before it is approved.

Three rules, checked in this order after the token's own status, expiry and domain:

- **Deny list** by Payment Account Reference: an account with an unpaid debt (a bike ride
  that could not be charged) is refused on every token and card of that account, since the
  PAR (EMV tag 9F24) is the same for all of them. Reason ``par_denied``.
- **Amount limit per merchant category** (ISO 18245 MCC of the terminal's merchant): for
  example, a ceiling on bike deposits. Reason ``amount_limit_exceeded``. Terminals outside
  the registry have no category, so no category limit applies to them.
- **Velocity per PAR**: at most ``velocity_limit`` approvals per account within
  ``velocity_window``; the next one is refused (``velocity_exceeded``), a classic control
  against a stolen wallet being tapped repeatedly.

An incremental authorization (:mod:`acquirer.payments.lifecycle`) grows a hold the
authorization approved, so it obeys the same rules on the hold's new total
(:func:`assess_increment`): the token's status, the deny list and the category limit (velocity
counts taps, and an increment is no tap). Whatever the rules, no payment's total exceeds
:data:`MAX_AMOUNT`, the largest amount an amount field carries.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from acquirer.payments.rows import AuthorizationContext, IncrementContext
from acquirer.registry import TokenStatus

#: The largest amount in minor units: EMV's Amount, Authorised (9F02) and ISO 8583 field 4
#: are n 12, so no payment, however grown, may total more.
MAX_AMOUNT = 999_999_999_999


@dataclass(frozen=True, slots=True)
class RiskRules:
    """The configurable limits; ``velocity_limit`` 0 turns the velocity rule off."""

    velocity_limit: int = 60
    velocity_window: timedelta = timedelta(minutes=10)


class RiskVerdict(enum.StrEnum):
    """The rule an authorization broke; the service declines with the reason of that name."""

    TOKEN_INACTIVE = "token_inactive"  # noqa: S105 (a reason, not a secret)
    PAR_DENIED = "par_denied"
    AMOUNT_LIMIT_EXCEEDED = "amount_limit_exceeded"
    VELOCITY_EXCEEDED = "velocity_exceeded"


def assess(
    rules: RiskRules, context: AuthorizationContext, amount: int, *, debt_recovery: bool = False
) -> RiskVerdict | None:
    """The first rule the authorization breaks, or ``None``.

    ``context`` was read with ``approvals_since`` = now - ``rules.velocity_window``
    (:meth:`velocity_since`), so its ``recent_approvals`` is the count within the window.
    A ``debt_recovery`` sale pays the debt the account is denied for: the deny list does
    not apply to it; every other rule does.
    """
    if context.par_denied and not debt_recovery:
        return RiskVerdict.PAR_DENIED
    if context.mcc_limit is not None and amount > context.mcc_limit:
        return RiskVerdict.AMOUNT_LIMIT_EXCEEDED
    if rules.velocity_limit and context.recent_approvals >= rules.velocity_limit:
        return RiskVerdict.VELOCITY_EXCEEDED
    return None


def velocity_since(rules: RiskRules, now: datetime) -> datetime:
    """The start of the velocity window ending at ``now``."""
    return now - rules.velocity_window


def assess_increment(context: IncrementContext | None, total: int) -> RiskVerdict | None:
    """The first rule an increment bringing a hold to ``total`` breaks, or ``None``.

    The authorization's rules, in its order, on the new total: the token must still be
    active, the account not denied, the total within the merchant category's limit.

    >>> ok = IncrementContext(TokenStatus.ACTIVE, par_denied=False, mcc_limit=10_000)
    >>> assess_increment(ok, 10_000), assess_increment(ok, 10_001)
    (None, <RiskVerdict.AMOUNT_LIMIT_EXCEEDED: 'amount_limit_exceeded'>)
    >>> assess_increment(IncrementContext(TokenStatus.SUSPENDED, False, None), 1)
    <RiskVerdict.TOKEN_INACTIVE: 'token_inactive'>
    """
    if context is None or context.token_status is not TokenStatus.ACTIVE:
        return RiskVerdict.TOKEN_INACTIVE
    if context.par_denied:
        return RiskVerdict.PAR_DENIED
    if context.mcc_limit is not None and total > context.mcc_limit:
        return RiskVerdict.AMOUNT_LIMIT_EXCEEDED
    return None


def increment_ceiling(context: IncrementContext | None) -> int:
    """The largest total a hold may reach by increments (0: no increment is allowed).

    >>> increment_ceiling(IncrementContext(TokenStatus.ACTIVE, False, None)) == MAX_AMOUNT
    True
    >>> increment_ceiling(IncrementContext(TokenStatus.ACTIVE, True, 500))
    0
    """
    if assess_increment(context, 0) is not None:
        return 0
    assert context is not None  # assess_increment refuses an unknown payment
    limit = context.mcc_limit
    return MAX_AMOUNT if limit is None else min(limit, MAX_AMOUNT)

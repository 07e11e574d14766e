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
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta

from acquirer.payments.rows import AuthorizationContext


@dataclass(frozen=True, slots=True)
class RiskRules:
    """The configurable limits; ``velocity_limit`` 0 turns the velocity rule off."""

    velocity_limit: int = 60
    velocity_window: timedelta = timedelta(minutes=10)


class RiskVerdict(enum.StrEnum):
    """The rule an authorization broke; the service declines with the reason of that name."""

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

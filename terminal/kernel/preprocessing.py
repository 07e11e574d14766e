"""Entry Point pre-processing: what each combination may do for this amount (Book B 3.1.1).

Before the card is even seen, every configured combination gets its indicators from the
amount and its reader limits:

- amount >= Reader Contactless Transaction Limit: the combination is not allowed;
- amount = 0: not allowed unless zero amounts are; if allowed, online is required;
- status check (amount of exactly one unit of the currency) asks for online;
- amount > Reader Contactless Floor Limit: "online cryptogram required" (TTQ byte 2 b8);
- amount >= Reader CVM Required Limit: "CVM required" (TTQ byte 2 b7).

When no combination is allowed the outcome is Try Another Interface (Book B 3.1.1.13).
"""

from __future__ import annotations

from dataclasses import dataclass

from emvcore.contactless import TTQ_CVM_REQUIRED, TTQ_ONLINE_CRYPTOGRAM_REQUIRED
from emvcore.currency import currency
from terminal.kernel.config import Combination


@dataclass(frozen=True, slots=True)
class Indicators:
    """Entry Point Pre-Processing Indicators of one combination (Book B 3.1.1.1)."""

    combination: Combination
    allowed: bool
    online_required: bool
    cvm_required: bool
    floor_limit_exceeded: bool
    zero_amount: bool
    ttq: bytes


def preprocess(combination: Combination, amount: int, currency_code: str) -> Indicators:
    """The indicators of one combination for ``amount`` minor units.

    >>> from terminal.kernel.config import DEFAULT_COMBINATIONS
    >>> i = preprocess(DEFAULT_COMBINATIONS[0], 6_000, "EUR")
    >>> i.allowed, i.online_required, i.cvm_required, i.ttq.hex()
    (True, True, True, '23c04000')
    """
    limits = combination.limits
    allowed = True
    online = False
    zero = amount == 0
    if zero:
        allowed = limits.zero_amount_allowed
        online = True
    if limits.status_check and amount == 10 ** currency(currency_code).exponent:
        online = True
    if limits.transaction_limit is not None and amount >= limits.transaction_limit:
        allowed = False
    floor_exceeded = limits.floor_limit is not None and amount > limits.floor_limit
    online = online or floor_exceeded
    cvm = limits.cvm_required_limit is not None and amount >= limits.cvm_required_limit
    ttq = bytearray(limits.ttq)
    ttq[1] &= ~(TTQ_ONLINE_CRYPTOGRAM_REQUIRED | TTQ_CVM_REQUIRED) & 0xFF
    ttq[1] |= (TTQ_ONLINE_CRYPTOGRAM_REQUIRED if online else 0) | (TTQ_CVM_REQUIRED if cvm else 0)
    return Indicators(combination, allowed, online, cvm, floor_exceeded, zero, bytes(ttq))

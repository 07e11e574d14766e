"""Entry Point pre-processing: what each combination may do for this amount (Book B 3.1.1).

Before the card is even seen, every configured combination gets its indicators from the
amount and its reader limits:

- the combination set is the one of the transaction type (purchase, purchase with
  cashback, cash advance, refund: :meth:`KernelConfig.combinations_for`);
- 3.1.1.1: a configured TTQ is copied, byte 2 b8-b7 cleared; a combination without one
  gets none (no TTQ bits are set and 9F66 is not among the terminal data);
- 3.1.1.3: status check (amount of exactly one unit of the currency) asks for online;
- 3.1.1.4: amount = 0: not allowed unless zero amounts are; allowed on an online-capable
  reader it asks for online; on an offline-only reader (TTQ byte 1 b4) the combination is
  not allowed (an offline-only reader cannot send a zero amount online);
- 3.1.1.5: amount >= Reader Contactless Transaction Limit: not allowed;
- 3.1.1.6: amount > Reader Contactless Floor Limit, or, where that limit is absent, the
  Terminal Floor Limit (9F1B): "floor limit exceeded", "online cryptogram required"
  (TTQ byte 2 b8);
- 3.1.1.7: amount >= Reader CVM Required Limit: "CVM required" (TTQ byte 2 b7).

When no combination is allowed the outcome is Try Another Interface (Book B 3.1.1.13),
decided before the reader polls for a card (:class:`Prepared`).

Section numbers within 3.1.1 are as remembered from Book B v2.6; the stored material
names the steps but not every number.
"""

from __future__ import annotations

from dataclasses import dataclass

from emvcore.contactless import TTQ_CVM_REQUIRED, TTQ_ONLINE_CRYPTOGRAM_REQUIRED
from emvcore.currency import currency
from terminal.kernel.config import Combination, KernelConfig

#: TTQ byte 1 b4: offline-only reader (Book C-3 Annex A).
TTQ_OFFLINE_ONLY_READER = 0x08


@dataclass(frozen=True, slots=True)
class Indicators:
    """Entry Point Pre-Processing Indicators of one combination (Book B 3.1.1.1)."""

    combination: Combination
    allowed: bool
    online_required: bool
    cvm_required: bool
    floor_limit_exceeded: bool
    zero_amount: bool
    #: The TTQ for this transaction; four zero bytes when none is configured.
    ttq: bytes
    ttq_configured: bool = True


@dataclass(frozen=True, slots=True)
class Prepared:
    """Pre-processing of one transaction: the indicators of every combination of its set."""

    indicators: tuple[Indicators, ...]

    @property
    def allowed(self) -> tuple[Indicators, ...]:
        """The combinations this transaction may use."""
        return tuple(i for i in self.indicators if i.allowed)


def pre_process(config: KernelConfig, transaction_type: int, amount: int, currency_code: str,
                ) -> Prepared:  # fmt: skip
    """Book B 3.1.1 for every combination of the transaction type's set."""
    return Prepared(
        tuple(
            preprocess(c, amount, currency_code, terminal_floor_limit=config.terminal_floor_limit)
            for c in config.combinations_for(transaction_type)
        )
    )


def preprocess(
    combination: Combination,
    amount: int,
    currency_code: str,
    *,
    terminal_floor_limit: int | None = None,
) -> Indicators:
    """The indicators of one combination for ``amount`` minor units.

    >>> from terminal.kernel.config import DEFAULT_COMBINATIONS
    >>> i = preprocess(DEFAULT_COMBINATIONS[0], 6_000, "EUR")
    >>> i.allowed, i.online_required, i.cvm_required, i.ttq.hex()
    (True, True, True, '23c04000')
    """
    limits = combination.limits
    configured = limits.ttq is not None
    ttq = bytearray(limits.ttq if limits.ttq is not None else bytes(4))
    allowed = True
    online = False
    zero = amount == 0
    if zero:
        allowed = limits.zero_amount_allowed and not ttq[0] & TTQ_OFFLINE_ONLY_READER
        online = True
    if limits.status_check and amount == 10 ** currency(currency_code).exponent:
        online = True
    if limits.transaction_limit is not None and amount >= limits.transaction_limit:
        allowed = False
    floor_limit = limits.floor_limit if limits.floor_limit is not None else terminal_floor_limit
    floor_exceeded = floor_limit is not None and amount > floor_limit
    online = online or floor_exceeded
    cvm = limits.cvm_required_limit is not None and amount >= limits.cvm_required_limit
    if configured:
        ttq[1] &= ~(TTQ_ONLINE_CRYPTOGRAM_REQUIRED | TTQ_CVM_REQUIRED) & 0xFF
        ttq[1] |= (TTQ_ONLINE_CRYPTOGRAM_REQUIRED if online else 0) | (
            TTQ_CVM_REQUIRED if cvm else 0
        )
    return Indicators(
        combination, allowed, online, cvm, floor_exceeded, zero, bytes(ttq), configured
    )

"""ISO 4217 currencies: alphabetic code, numeric code (EMV tag 5F2A) and minor-unit exponent.

Amounts everywhere in this stack are integers in minor units; this table turns a
shopkeeper's "12.50 EUR" into ``1250`` and the EMV ``5F2A`` value ``0978``. A short table
is kept here rather than a dependency because the well-kept option (pycountry) carries the
codes but not the minor-unit exponents, which are the part that matters for money.
Add a currency by adding a line; the source is the ISO 4217 list (SIX Group, "List one").
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from emvcore.errors import EncodingError


@dataclass(frozen=True, slots=True)
class Currency:
    """One ISO 4217 currency."""

    alpha: str
    numeric: int
    exponent: int


_TABLE: tuple[Currency, ...] = (
    Currency("CHF", 756, 2),
    Currency("CNY", 156, 2),
    Currency("EUR", 978, 2),
    Currency("GBP", 826, 2),
    Currency("HKD", 344, 2),
    Currency("JPY", 392, 0),
    Currency("SGD", 702, 2),
    Currency("USD", 840, 2),
)
_BY_ALPHA = {c.alpha: c for c in _TABLE}
_BY_NUMERIC = {c.numeric: c for c in _TABLE}


def currency(code: str | int) -> Currency:
    """Look a currency up by alphabetic or numeric code.

    >>> currency("EUR").numeric, currency(392).alpha
    (978, 'JPY')
    """
    found = _BY_NUMERIC.get(code) if isinstance(code, int) else _BY_ALPHA.get(code.upper())
    if found is None:
        known = ", ".join(sorted(_BY_ALPHA))
        raise EncodingError(f"unknown currency {code!r} (known: {known})")
    return found


def to_minor_units(amount: str, code: str) -> int:
    """Parse a decimal amount typed by a person into minor units, exactly.

    >>> to_minor_units("12.50", "EUR"), to_minor_units("1200", "JPY")
    (1250, 1200)
    >>> to_minor_units("12.505", "EUR")
    Traceback (most recent call last):
    ...
    emvcore.errors.EncodingError: amount '12.505' has more than 2 decimal places for EUR
    """
    cur = currency(code)
    try:
        value = Decimal(amount.strip())
    except InvalidOperation:
        raise EncodingError(f"amount {amount!r} is not a number") from None
    if not value.is_finite() or value < 0:
        raise EncodingError(f"amount {amount!r} must be zero or positive")
    minor = value.scaleb(cur.exponent)
    if minor != minor.to_integral_value():
        raise EncodingError(
            f"amount {amount!r} has more than {cur.exponent} decimal places for {cur.alpha}"
        )
    if minor > 999_999_999_999:
        raise EncodingError(f"amount {amount!r} exceeds the 12 digits EMV tag 9F02 carries")
    return int(minor)


def format_minor_units(amount: int, code: str) -> str:
    """Format minor units for a display or receipt.

    >>> format_minor_units(1250, "EUR")
    '12.50 EUR'
    """
    cur = currency(code)
    if cur.exponent == 0:
        return f"{amount} {cur.alpha}"
    whole, frac = divmod(amount, 10**cur.exponent)
    return f"{whole}.{frac:0{cur.exponent}d} {cur.alpha}"

"""What the shopkeeper keys into the amount field, checked before anything reaches the daemon.

The text is parsed strictly by :func:`emvcore.currency.to_minor_units` with the decimal
separator of the shop's locale (CLDR, through babel): ``12,50`` in ``fr_FR``, ``12.50`` in
``en_GB``; letters, signs, thousands separators, too many decimals and the other separator
are refused with the parser's own message. A zero amount is not a sale, and an amount at or
above the contactless transaction limit could not be paid by a tap (EMV Contactless Book B
3.1.1 and 3.2.1.3: at or above the Reader Contactless Transaction Limit the reader offers
another interface), so both are refused here too. Every refusal is a
:class:`~emvcore.errors.AmountError` whose message the console shows as it is.

>>> key_amount("12,50", "EUR", locale="fr_FR", limit=50_000)
1250
>>> key_amount("12.50", "EUR", locale="fr_FR", limit=None)  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
emvcore.errors.AmountError: amount '12.50' is not a number: use ',' as the decimal separator, ...
>>> key_amount("500.00", "EUR", locale="en_GB", limit=50_000)
Traceback (most recent call last):
...
emvcore.errors.AmountError: 500.00 EUR is at or above the contactless limit of 500.00 EUR
"""

from __future__ import annotations

from emvcore.amount import decimal_separator_for
from emvcore.currency import format_minor_units, to_minor_units
from emvcore.errors import AmountError
from terminal.settings import TerminalSettings

__all__ = ["contactless_limit", "key_amount"]


def key_amount(text: str, currency: str, *, locale: str, limit: int | None) -> int:
    """The keyed ``text`` in minor units of ``currency``, or an AmountError saying why not."""
    minor = to_minor_units(text, currency, locale=locale)
    separator = decimal_separator_for(locale)
    if minor == 0:
        raise AmountError("the amount must be more than zero")
    if limit is not None and minor >= limit:
        shown = format_minor_units(minor, currency, decimal_separator=separator)
        most = format_minor_units(limit, currency, decimal_separator=separator)
        raise AmountError(f"{shown} is at or above the contactless limit of {most}")
    return minor


def contactless_limit(settings: TerminalSettings) -> int | None:
    """The smallest amount no combination of ``settings`` takes contactless, or ``None`` when
    some combination sets no Reader Contactless Transaction Limit (Book B 3.1.1)."""
    limits = [c.limits.transaction_limit for c in settings.combinations]
    if not limits or any(limit is None for limit in limits):
        return None
    return max(limit for limit in limits if limit is not None)

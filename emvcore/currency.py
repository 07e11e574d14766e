"""ISO 4217 currencies: alphabetic code, numeric code (EMV tag 5F2A) and minor-unit exponent.

Amounts everywhere in this stack are integers in minor units; this module turns a
shopkeeper's "12.50 EUR" into ``1250`` and the EMV ``5F2A`` value ``0978``. The table is ISO
4217 List One as the ``iso4217`` package ships it (SIX Group's XML, republished with each
amendment): every active currency with its numeric code and its minor unit, which is the part
that matters for money and which pycountry does not carry. babel's CLDR data was the other
candidate; it carries no numeric codes, and its digits are CLDR's display conventions, not
ISO's minor units (CLDR gives IQD 0 and MGA 0 digits where ISO 4217 gives 3 and 2).

Currencies whose minor unit ISO gives as "N.A." (gold XAU, the SDR XDR, the test code XTS,
XXX) cannot be paid in: :func:`currency` refuses them with a :class:`CurrencyError`.
"""

from __future__ import annotations

from dataclasses import dataclass

import iso4217

from emvcore.amount import decimal_separator_for, format_amount, parse_amount
from emvcore.errors import CurrencyError


@dataclass(frozen=True, slots=True)
class Currency:
    """One ISO 4217 currency that a payment can be made in."""

    alpha: str
    numeric: int
    exponent: int
    name: str = ""


def _load() -> tuple[dict[str, Currency], dict[int, Currency], dict[str, str]]:
    """Index the ISO table: payable currencies by code and number; the rest by code -> name."""
    by_alpha: dict[str, Currency] = {}
    by_numeric: dict[int, Currency] = {}
    no_minor_unit: dict[str, str] = {}
    for entry in iso4217.Currency:
        if entry.exponent is None:
            no_minor_unit[entry.code] = entry.currency_name
            continue
        cur = Currency(entry.code, entry.number, entry.exponent, entry.currency_name)
        by_alpha[cur.alpha] = cur
        by_numeric[cur.numeric] = cur
    return by_alpha, by_numeric, no_minor_unit


_BY_ALPHA, _BY_NUMERIC, _NO_MINOR_UNIT = _load()
_NO_MINOR_UNIT_NUMERIC = {iso4217.Currency(code).number: code for code in _NO_MINOR_UNIT}


def currency(code: str | int) -> Currency:
    """Look a currency up by alphabetic or numeric code.

    >>> currency("EUR").numeric, currency(392).alpha, currency("kwd").exponent
    (978, 'JPY', 3)
    >>> currency("XAU")
    Traceback (most recent call last):
    ...
    emvcore.errors.CurrencyError: XAU (Gold) has no minor unit in ISO 4217 and cannot be used for a payment
    """
    if isinstance(code, int):
        found = _BY_NUMERIC.get(code)
        alpha = _NO_MINOR_UNIT_NUMERIC.get(code)
    else:
        alpha = code.upper()
        found = _BY_ALPHA.get(alpha)
    if found is not None:
        return found
    if alpha is not None and alpha in _NO_MINOR_UNIT:
        raise CurrencyError(
            f"{alpha} ({_NO_MINOR_UNIT[alpha]}) has no minor unit in ISO 4217 "
            "and cannot be used for a payment"
        )
    raise CurrencyError(f"unknown currency {code!r}: not an ISO 4217 code")


def payment_currencies() -> tuple[Currency, ...]:
    """Every currency :func:`currency` accepts, by alphabetic code.

    >>> len(payment_currencies()) > 150, payment_currencies()[0].alpha
    (True, 'AED')
    """
    return tuple(_BY_ALPHA[alpha] for alpha in sorted(_BY_ALPHA))


def to_minor_units(
    amount: str,
    code: str,
    *,
    decimal_separator: str | None = None,
    locale: str | None = None,
) -> int:
    """Parse a decimal amount typed by a person into minor units, exactly.

    The rules are :func:`emvcore.amount.parse_amount`'s. The decimal separator is ``"."``
    unless the caller gives one (``","`` or ``"."``) or a ``locale`` whose separator it is.

    >>> to_minor_units("12.50", "EUR"), to_minor_units("1200", "JPY")
    (1250, 1200)
    >>> to_minor_units("12,50", "EUR", locale="fr_FR"), to_minor_units("1,5", "KWD", decimal_separator=",")
    (1250, 1500)
    >>> to_minor_units("12.505", "EUR")
    Traceback (most recent call last):
    ...
    emvcore.errors.AmountError: amount '12.505' has more than 2 decimal places for EUR
    """
    if decimal_separator is not None and locale is not None:
        raise TypeError("to_minor_units takes a decimal_separator or a locale, not both")
    cur = currency(code)
    if locale is not None:
        separator = decimal_separator_for(locale)
    else:
        separator = "." if decimal_separator is None else decimal_separator
    return parse_amount(amount, exponent=cur.exponent, code=cur.alpha, decimal_separator=separator)


def format_minor_units(amount: int, code: str, *, decimal_separator: str = ".") -> str:
    """Format minor units for a display or receipt.

    >>> format_minor_units(1250, "EUR"), format_minor_units(-5, "EUR"), format_minor_units(7, "JPY")
    ('12.50 EUR', '-0.05 EUR', '7 JPY')
    """
    cur = currency(code)
    text = format_amount(amount, exponent=cur.exponent, decimal_separator=decimal_separator)
    return f"{text} {cur.alpha}"

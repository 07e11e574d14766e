"""Amounts typed by a person, parsed strictly into integer minor units, and formatted back.

A shopkeeper types ``12.50`` (or ``12,50`` where the locale writes a decimal comma); the
kernel needs ``1250`` for EMV tag 9F02, *Amount, Authorised (Numeric)*, format n12 (EMV Book 3
Annex A), so nothing larger than twelve digits of minor units can reach a card. The parser
accepts exactly ``DIGITS[SEPARATOR DIGITS]`` in ASCII digits, with at most the currency's
minor-unit exponent of digits after the separator, and refuses everything Python's own
``Decimal``/``float`` would let through by accident: exponents (``1e3``), underscores
(``1_000``), full-width or other non-ASCII digits (``１２``), signs, thousands separators,
``NaN`` and ``Infinity``. Every refusal is an :class:`~emvcore.errors.AmountError` whose
message names the rule that was broken.

This module knows digits and exponents only; :mod:`emvcore.currency` supplies the exponent
and the code for a currency and is what callers normally use (``to_minor_units``).
"""

from __future__ import annotations

import re

from emvcore.errors import AmountError

#: The largest value EMV tag 9F02 (n12) can carry, in minor units of any currency.
MAX_MINOR_UNITS = 10**12 - 1

#: The decimal separators an amount may use; a caller picks one (see ``decimal_separator_for``).
DECIMAL_SEPARATORS = (".", ",")

_SHOWN_MAX = 40  # characters of the offending text quoted in a message
# Hyphen-minus, minus sign, figure and en dashes, small and full-width hyphen-minus.
_MINUS_SIGNS = "-\u2212\u2012\u2013\ufe63\uff0d"
_EXPONENT = re.compile(r"[0-9]*[.,]?[0-9]*[eE][+-]?[0-9]+")
_GROUPED = re.compile(r"[0-9][\s'\u2019][0-9]")  # 1 000, 1'000: digit groups apart


def _shown(text: str) -> str:
    """The offending text as quoted in a message: its repr, cut short if it is long."""
    if len(text) > _SHOWN_MAX:
        return repr(text[:_SHOWN_MAX]) + "..."
    return repr(text)


def _check_separator(decimal_separator: str) -> None:
    if decimal_separator not in DECIMAL_SEPARATORS:
        raise AmountError(
            f"the decimal separator must be '.' or ',', not {_shown(decimal_separator)}"
        )


def _not_a_number(text: str, stripped: str, decimal_separator: str) -> AmountError:
    """The error for text that is not ``DIGITS[SEPARATOR DIGITS]``, naming the rule it broke."""
    head = f"amount {_shown(text)} is not a number"
    other = "," if decimal_separator == "." else "."
    if not stripped:
        return AmountError(f"{head}: it is empty")
    if any(not ch.isascii() and (ch.isdigit() or ch.isnumeric()) for ch in stripped):
        return AmountError(f"{head}: use the digits 0-9 only")
    if stripped[0] == "+":
        return AmountError(f"{head}: write it without a sign")
    if "_" in stripped:
        return AmountError(f"{head}: write it without underscores")
    if _EXPONENT.fullmatch(stripped):
        return AmountError(f"{head}: write it out in digits, without an exponent")
    separators = stripped.count(".") + stripped.count(",")
    if _GROUPED.search(stripped) or (separators > 1 and re.fullmatch(r"[0-9.,]+", stripped)):
        return AmountError(f"{head}: write it without thousands separators")
    if re.fullmatch(rf"[0-9]+{re.escape(other)}[0-9]+", stripped):
        return AmountError(
            f"{head}: use '{decimal_separator}' as the decimal separator, "
            "and no thousands separators"
        )
    if re.fullmatch(r"[0-9]*[.,][0-9]*", stripped) and any(ch.isdigit() for ch in stripped):
        return AmountError(f"{head}: write digits on both sides of the decimal separator")
    return AmountError(head)


def parse_amount(text: str, *, exponent: int, code: str, decimal_separator: str = ".") -> int:
    """Parse ``text`` into minor units of a currency with minor-unit ``exponent``, exactly.

    ``code`` only names the currency in messages. Surrounding white space is ignored.

    >>> parse_amount("12.50", exponent=2, code="EUR"), parse_amount("0012", exponent=0, code="JPY")
    (1250, 12)
    >>> parse_amount("12,5", exponent=2, code="EUR", decimal_separator=",")
    1250
    >>> parse_amount("1e3", exponent=2, code="EUR")
    Traceback (most recent call last):
    ...
    emvcore.errors.AmountError: amount '1e3' is not a number: write it out in digits, without an exponent
    >>> parse_amount("-5", exponent=2, code="EUR")
    Traceback (most recent call last):
    ...
    emvcore.errors.AmountError: amount '-5' must be zero or positive: amounts cannot be negative
    >>> parse_amount("10000000000", exponent=2, code="EUR")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    emvcore.errors.AmountError: amount '10000000000' is too large: ... can carry is 9999999999.99 EUR
    """
    _check_separator(decimal_separator)
    stripped = text.strip()
    if stripped[:1] and stripped[0] in _MINUS_SIGNS:
        raise AmountError(
            f"amount {_shown(text)} must be zero or positive: amounts cannot be negative"
        )
    match = re.fullmatch(rf"([0-9]+)(?:{re.escape(decimal_separator)}([0-9]+))?", stripped)
    if match is None:
        raise _not_a_number(text, stripped, decimal_separator)
    whole, fraction = match.group(1), match.group(2) or ""
    if len(fraction) > exponent:
        if exponent == 0:
            raise AmountError(
                f"amount {_shown(text)} must be a whole number for {code} (it has no minor unit)"
            )
        raise AmountError(
            f"amount {_shown(text)} has more than {exponent} decimal places for {code}"
        )
    # Leading zeros stripped first: a long run of them is still a small amount, and int()
    # never sees more digits than 9F02 can hold.
    digits = (whole + fraction.ljust(exponent, "0")).lstrip("0")
    if len(digits) > len(str(MAX_MINOR_UNITS)):
        largest = format_amount(
            MAX_MINOR_UNITS, exponent=exponent, decimal_separator=decimal_separator
        )
        raise AmountError(
            f"amount {_shown(text)} is too large: the largest amount a card transaction "
            f"can carry is {largest} {code}"
        )
    return int(digits or "0")


def format_amount(minor: int, *, exponent: int, decimal_separator: str = ".") -> str:
    """Format minor units as a plain decimal, the inverse of :func:`parse_amount`.

    >>> format_amount(1250, exponent=2), format_amount(5, exponent=3, decimal_separator=",")
    ('12.50', '0,005')
    >>> format_amount(-1, exponent=2), format_amount(1200, exponent=0)
    ('-0.01', '1200')
    """
    _check_separator(decimal_separator)
    sign = "-" if minor < 0 else ""
    if exponent == 0:
        return f"{sign}{abs(minor)}"
    whole, fraction = divmod(abs(minor), 10**exponent)
    return f"{sign}{whole}{decimal_separator}{fraction:0{exponent}d}"


def decimal_separator_for(locale: str) -> str:
    """The decimal separator a locale writes (CLDR data, through babel): ``","`` or ``"."``.

    Locales are given as ``de_CH``, ``fr-CH`` or ``de_DE.UTF-8``. A locale whose separator is
    neither (such as the Arabic decimal separator in its native digits) gets ``"."``, because
    amounts are written in ASCII digits here.

    >>> decimal_separator_for("de_DE"), decimal_separator_for("de_CH"), decimal_separator_for("en")
    (',', '.', '.')
    """
    from babel import Locale, UnknownLocaleError
    from babel.numbers import get_decimal_symbol

    try:
        parsed = Locale.parse(locale.strip().replace("-", "_"))
        symbol = get_decimal_symbol(parsed, numbering_system="latn")
    except (UnknownLocaleError, ValueError, TypeError):
        raise AmountError(f"unknown locale {_shown(locale)}") from None
    return "," if symbol == "," else "."

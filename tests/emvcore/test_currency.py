"""ISO 4217 currencies from the iso4217 package: codes, numbers (5F2A) and minor units."""

from __future__ import annotations

import iso4217
import pytest

from emvcore.currency import currency, format_minor_units, payment_currencies, to_minor_units
from emvcore.errors import AmountError, CurrencyError, EncodingError


@pytest.mark.parametrize(
    ("code", "numeric", "exponent"),
    [("EUR", 978, 2), ("JPY", 392, 0), ("CHF", 756, 2), ("KWD", 414, 3), ("BHD", 48, 3),
     ("CLF", 990, 4), ("UYW", 927, 4), ("ISK", 352, 0), ("KRW", 410, 0), ("IQD", 368, 3),
     ("MGA", 969, 2), ("VND", 704, 0), ("XOF", 952, 0), ("ZWG", 924, 2)],
)  # fmt: skip
def test_codes_numbers_and_exponents(code: str, numeric: int, exponent: int) -> None:
    by_code = currency(code)
    assert (by_code.alpha, by_code.numeric, by_code.exponent) == (code, numeric, exponent)
    assert currency(numeric) == by_code
    assert currency(code.lower()) == by_code


def test_the_eight_currencies_of_the_old_table_are_unchanged() -> None:
    old = {"CHF": (756, 2), "CNY": (156, 2), "EUR": (978, 2), "GBP": (826, 2),
           "HKD": (344, 2), "JPY": (392, 0), "SGD": (702, 2), "USD": (840, 2)}  # fmt: skip
    assert {c: (currency(c).numeric, currency(c).exponent) for c in old} == old


def test_every_iso_currency_with_a_minor_unit_is_payable() -> None:
    expected = {c.code for c in iso4217.Currency if c.exponent is not None}
    assert {c.alpha for c in payment_currencies()} == expected
    assert len(expected) > 150
    numbers = [c.numeric for c in payment_currencies()]
    assert len(numbers) == len(set(numbers))
    assert all(0 < n < 1000 for n in numbers)  # three digits: n3 in 5F2A


@pytest.mark.parametrize("code", ["XAU", "XAG", "XDR", "XTS", "XXX", 959])
def test_currencies_without_a_minor_unit_are_refused(code: str | int) -> None:
    with pytest.raises(CurrencyError, match="has no minor unit in ISO 4217 and cannot be used"):
        currency(code)


def test_the_refusal_names_the_currency() -> None:
    with pytest.raises(CurrencyError) as exc:
        to_minor_units("1", "XAU")
    assert str(exc.value) == (
        "XAU (Gold) has no minor unit in ISO 4217 and cannot be used for a payment"
    )


@pytest.mark.parametrize("code", ["XYZ", "EURO", "", "€", 0, 1000, 1, -978])
def test_unknown_codes(code: str | int) -> None:
    with pytest.raises(CurrencyError, match="unknown currency"):
        currency(code)


def test_errors_stay_encoding_errors_for_existing_callers() -> None:
    with pytest.raises(EncodingError):
        currency("XYZ")
    with pytest.raises(EncodingError):
        to_minor_units("1e3", "EUR")


@pytest.mark.parametrize(
    ("minor", "code", "text"),
    [(1250, "EUR", "12.50 EUR"), (0, "EUR", "0.00 EUR"), (5, "KWD", "0.005 KWD"),
     (1200, "JPY", "1200 JPY"), (1, "CLF", "0.0001 CLF"), (-1, "EUR", "-0.01 EUR"),
     (-150, "EUR", "-1.50 EUR"), (-7, "JPY", "-7 JPY"), (999_999_999_999, "EUR", "9999999999.99 EUR")],
)  # fmt: skip
def test_format_minor_units(minor: int, code: str, text: str) -> None:
    assert format_minor_units(minor, code) == text


def test_format_with_a_decimal_comma() -> None:
    assert format_minor_units(1250, "EUR", decimal_separator=",") == "12,50 EUR"


def test_negative_minor_units_format_as_their_value() -> None:
    # divmod floors: -1 cent once printed as "-1.99"; the sign is now applied to the magnitude.
    assert format_minor_units(-1, "EUR") != "-1.99 EUR"
    assert to_minor_units(format_minor_units(-1, "EUR")[1:-4], "EUR") == 1


def test_locale_and_separator_are_exclusive() -> None:
    with pytest.raises(TypeError):
        to_minor_units("1", "EUR", decimal_separator=",", locale="de_DE")


def test_unknown_locale() -> None:
    with pytest.raises(AmountError, match="unknown locale 'xx_QQ'"):
        to_minor_units("1", "EUR", locale="xx_QQ")


def test_an_empty_separator_is_refused_not_defaulted() -> None:
    with pytest.raises(AmountError, match="the decimal separator must be"):
        to_minor_units("1", "EUR", decimal_separator="")

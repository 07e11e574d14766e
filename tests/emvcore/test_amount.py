"""Amounts typed by a person: strict parsing into minor units (9F02, n12) and back."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore.amount import (
    MAX_MINOR_UNITS,
    decimal_separator_for,
    format_amount,
    parse_amount,
)
from emvcore.currency import Currency, payment_currencies, to_minor_units
from emvcore.errors import AmountError, EmvError

CURRENCIES = payment_currencies()


@pytest.mark.parametrize(
    ("text", "code", "minor"),
    [("12.50", "EUR", 1250), ("12.5", "EUR", 1250), ("12", "EUR", 1200), ("0", "EUR", 0),
     ("0.01", "EUR", 1), (" 7.00\n", "EUR", 700), ("007", "EUR", 700), ("1200", "JPY", 1200),
     ("1.234", "KWD", 1234), ("0.0001", "CLF", 1), ("9999999999.99", "EUR", MAX_MINOR_UNITS),
     ("999999999999", "JPY", MAX_MINOR_UNITS), ("0000000000000000012.50", "EUR", 1250)],
)  # fmt: skip
def test_plain_decimals(text: str, code: str, minor: int) -> None:
    assert to_minor_units(text, code) == minor


@pytest.mark.parametrize(
    ("text", "message"),
    [("1e3", "amount '1e3' is not a number: write it out in digits, without an exponent"),
     ("1.5E+2", "amount '1.5E+2' is not a number: write it out in digits, without an exponent"),
     ("1_000", "amount '1_000' is not a number: write it without underscores"),
     ("１２", "amount '１２' is not a number: use the digits 0-9 only"),
     ("١٢", "amount '١٢' is not a number: use the digits 0-9 only"),
     ("²", "amount '²' is not a number: use the digits 0-9 only"),
     ("+5", "amount '+5' is not a number: write it without a sign"),
     ("-5", "amount '-5' must be zero or positive: amounts cannot be negative"),
     ("-0", "amount '-0' must be zero or positive: amounts cannot be negative"),
     ("−5", "amount '−5' must be zero or positive: amounts cannot be negative"),
     ("1,000.00", "amount '1,000.00' is not a number: write it without thousands separators"),
     ("1.000.000", "amount '1.000.000' is not a number: write it without thousands separators"),
     ("1 000", "amount '1 000' is not a number: write it without thousands separators"),
     ("1'000", "amount \"1'000\" is not a number: write it without thousands separators"),
     ("12,50", "amount '12,50' is not a number: use '.' as the decimal separator, and no thousands separators"),
     (".5", "amount '.5' is not a number: write digits on both sides of the decimal separator"),
     ("5.", "amount '5.' is not a number: write digits on both sides of the decimal separator"),
     ("", "amount '' is not a number: it is empty"), ("  ", "amount '  ' is not a number: it is empty"),
     ("NaN", "amount 'NaN' is not a number"), ("Infinity", "amount 'Infinity' is not a number"),
     ("0x10", "amount '0x10' is not a number"), ("abc", "amount 'abc' is not a number"),
     ("12.505", "amount '12.505' has more than 2 decimal places for EUR"),
     ("12.500", "amount '12.500' has more than 2 decimal places for EUR")],
)  # fmt: skip
def test_refusals_say_why(text: str, message: str) -> None:
    with pytest.raises(AmountError) as exc:
        to_minor_units(text, "EUR")
    assert str(exc.value) == message


def test_a_currency_without_minor_unit_takes_whole_numbers() -> None:
    with pytest.raises(AmountError) as exc:
        to_minor_units("1200.0", "JPY")
    assert str(exc.value) == "amount '1200.0' must be a whole number for JPY (it has no minor unit)"


@pytest.mark.parametrize(
    ("text", "code", "largest"),
    [("10000000000", "EUR", "9999999999.99 EUR"), ("9999999999.991", "EUR", None),
     ("1000000000000", "JPY", "999999999999 JPY"), ("1000000000", "KWD", "999999999.999 KWD"),
     ("1" + "0" * 5000, "EUR", "9999999999.99 EUR")],
)  # fmt: skip
def test_over_twelve_digits_of_9f02(text: str, code: str, largest: str | None) -> None:
    with pytest.raises(AmountError) as exc:
        to_minor_units(text, code)
    if largest is not None:
        assert str(exc.value).endswith(
            f"is too large: the largest amount a card transaction can carry is {largest}"
        )


def test_a_long_text_is_quoted_short() -> None:
    with pytest.raises(AmountError) as exc:
        to_minor_units("x" * 10_000, "EUR")
    assert len(str(exc.value)) < 100


@pytest.mark.parametrize(
    ("locale", "separator"),
    [("de_DE", ","), ("fr_FR", ","), ("fr-CH", ","), ("de_CH", "."), ("en_US", "."),
     ("ja_JP", "."), ("pt_BR", ","), ("de_DE.UTF-8", ",")],
)  # fmt: skip
def test_decimal_separator_of_a_locale(locale: str, separator: str) -> None:
    assert decimal_separator_for(locale) == separator


def test_a_decimal_comma_where_the_locale_writes_one() -> None:
    assert to_minor_units("12,50", "EUR", locale="de_DE") == 1250
    assert to_minor_units("12,50", "EUR", decimal_separator=",") == 1250
    with pytest.raises(AmountError, match="use ',' as the decimal separator"):
        to_minor_units("12.50", "EUR", locale="de_DE")
    with pytest.raises(AmountError, match=re.escape("use '.' as the decimal separator")):
        to_minor_units("12,50", "CHF", locale="de_CH")


def test_the_largest_amount_is_shown_with_the_callers_separator() -> None:
    with pytest.raises(AmountError, match=r"can carry is 9999999999,99 EUR$"):
        to_minor_units("10000000000", "EUR", decimal_separator=",")


@pytest.mark.parametrize("separator", [";", "", "٫", ".."])
def test_only_a_point_or_a_comma_separates(separator: str) -> None:
    with pytest.raises(AmountError, match=re.escape("the decimal separator must be '.' or ','")):
        parse_amount("1", exponent=2, code="EUR", decimal_separator=separator)


@settings(max_examples=400, deadline=None)
@given(
    cur=st.sampled_from(CURRENCIES),
    minor=st.integers(min_value=0, max_value=MAX_MINOR_UNITS),
    separator=st.sampled_from([".", ","]),
)
def test_format_then_parse_is_the_identity(cur: Currency, minor: int, separator: str) -> None:
    text = format_amount(minor, exponent=cur.exponent, decimal_separator=separator)
    assert to_minor_units(text, cur.alpha, decimal_separator=separator) == minor


@settings(max_examples=200, deadline=None)
@given(cur=st.sampled_from(CURRENCIES), minor=st.integers(min_value=MAX_MINOR_UNITS + 1))
def test_formatted_amounts_past_9f02_are_refused(cur: Currency, minor: int) -> None:
    text = format_amount(minor, exponent=cur.exponent)
    with pytest.raises(AmountError, match="the largest amount a card transaction can carry"):
        to_minor_units(text, cur.alpha)


_JUNK = st.one_of(
    st.text(),
    st.text(alphabet="0123456789.,-+eE_ '\u00a0１٣²", max_size=30),
    st.from_regex(r"\A\s*[+-]?[0-9]{0,20}([.,][0-9]{0,8})?([eE][+-]?[0-9]{1,3})?\s*\Z"),
)


@settings(max_examples=600, deadline=None)
@given(text=_JUNK, cur=st.sampled_from(CURRENCIES), separator=st.sampled_from([".", ","]))
def test_junk_raises_only_amount_errors(text: str, cur: Currency, separator: str) -> None:
    try:
        minor = to_minor_units(text, cur.alpha, decimal_separator=separator)
    except AmountError as exc:
        assert str(exc).startswith("amount ")
        return
    except EmvError as exc:  # any other emvcore error is a defect here
        pytest.fail(f"{type(exc).__name__}: {exc}")
    # Accepted: plain ASCII digits with at most one separator, and inside 9F02.
    assert 0 <= minor <= MAX_MINOR_UNITS
    assert text.strip().replace(separator, "", 1).isascii()
    assert text.strip().replace(separator, "", 1).isdigit()

"""PAN helpers: Luhn, masking, Track 2 Equivalent Data (tag 57)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore.errors import EncodingError
from emvcore.pan import (
    Track2,
    encode_track2,
    is_luhn_valid,
    luhn_check_digit,
    mask_pan,
    parse_track2,
)

H = bytes.fromhex
PAN = "5413339000001513"


@pytest.mark.parametrize(
    "pan", ["4111111111111111", "5413339000001513", "378282246310005", "79927398713", "00"]
)
def test_luhn_valid(pan: str) -> None:
    assert is_luhn_valid(pan)
    assert luhn_check_digit(pan[:-1]) == pan[-1]


@pytest.mark.parametrize("pan", ["4111111111111112", "79927398710", "", "5", "4111-1111", "４１"])
def test_luhn_invalid(pan: str) -> None:
    assert not is_luhn_valid(pan)


def test_luhn_check_digit_rejects_non_digits() -> None:
    with pytest.raises(EncodingError):
        luhn_check_digit("4111 1111")
    assert luhn_check_digit("") == "0"


@settings(max_examples=300)
@given(st.text("0123456789", min_size=1, max_size=18))
def test_luhn_completion_is_valid_and_unique(partial: str) -> None:
    check = luhn_check_digit(partial)
    assert is_luhn_valid(partial + check)
    assert sum(is_luhn_valid(partial + d) for d in "0123456789") == 1


@pytest.mark.parametrize(
    ("pan", "masked"),
    [("5413339000001513", "541333******1513"), ("4111111111111111111", "411111*********1111"),
     ("3782822463100", "378282***3100"), ("123456789012", "********9012"), ("12345", "*2345"),
     ("1234", "****"), ("", "")],
)  # fmt: skip
def test_mask_pan(pan: str, masked: str) -> None:
    assert mask_pan(pan) == masked


TRACK2 = H("5413339000001513D2512201000000000F")


def test_parse_track2() -> None:
    assert parse_track2(TRACK2) == Track2(PAN, "2512", "201", "000000000")
    even = parse_track2(H("4111111111111111D2812201"))
    assert (even.expiry, even.service_code, even.discretionary) == ("2812", "201", "")


def test_track2_repr_hides_pan_and_discretionary() -> None:
    text = repr(parse_track2(TRACK2))
    assert PAN not in text
    assert "541333******1513" in text
    assert "<9 digits>" in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("5413339000001513", "no 'D' separator"),
        ("D2512201", "PAN field has 0 digits"),
        ("12345678901234567890D2512201", "PAN field has 20 digits"),
        ("5413339000001513D25122", "5 digits after the separator"),
        ("5413339000001513D251220A00", "nibble 24 is 'A'"),
        ("5413339000001513D2512201D0", "nibble 25 is 'D'"),
        ("54133390000015F3D2512201", "nibble 15 is 'F'"),
        ("5413339000001513D2512201000000000FFF", "nibble 34 is 'F'"),
        ("5413339000001513D2512201" + "00" * 8, "20 bytes, at most 19"),
    ],
)
def test_parse_track2_errors_never_show_the_pan(data: str, message: str) -> None:
    with pytest.raises(EncodingError, match=message) as info:
        parse_track2(H(data))
    assert "541333900000" not in str(info.value)
    assert "54133390" not in str(info.value)


def test_encode_track2() -> None:
    assert encode_track2(PAN, "2512", "201", "000000000") == TRACK2
    assert encode_track2("4111111111111111", "2812") == H("4111111111111111D2812201")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("", "2512"), "PAN has 0 digits"),
        (("1" * 20, "2512"), "PAN has 20 digits"),
        (("4111-1111", "2512"), "PAN must be digits"),
        ((PAN, "251"), "expiry has 3 digits"),
        ((PAN, "25/12"), "expiry must be digits"),
        ((PAN, "2512", "2011"), "service code has 4 digits"),
        ((PAN, "2512", "201", "12AB"), "discretionary data must be digits"),
        (("1" * 19, "2512", "201", "1" * 12), "20 bytes, at most 19"),
    ],
)
def test_encode_track2_errors(args: tuple[str, ...], message: str) -> None:
    with pytest.raises(EncodingError, match=message) as info:
        encode_track2(*args)
    assert PAN not in str(info.value)


@settings(max_examples=300)
@given(
    st.text("0123456789", min_size=1, max_size=19),
    st.text("0123456789", min_size=4, max_size=4),
    st.text("0123456789", min_size=3, max_size=3),
    st.text("0123456789", max_size=8),
)
def test_track2_round_trip(pan: str, expiry: str, service: str, disc: str) -> None:
    assert parse_track2(encode_track2(pan, expiry, service, disc)) == Track2(
        pan, expiry, service, disc
    )


@settings(max_examples=300)
@given(st.binary(max_size=24))
def test_parse_track2_raises_only_encoding_error(data: bytes) -> None:
    try:
        parse_track2(data)
    except EncodingError:
        pass

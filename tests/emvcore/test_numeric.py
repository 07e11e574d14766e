"""Numeric formats n and cn (EMV Book 3 section 4.3)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore.errors import EncodingError
from emvcore.numeric import decode_cn, decode_n, encode_cn, encode_n

H = bytes.fromhex


@pytest.mark.parametrize(
    ("value", "length", "expected"),
    [(1000, 6, "000000001000"), ("978", 2, "0978"), (0, 1, "00"), (0, 0, ""),
     ("000000001000", 6, "000000001000"), (999999999999, 6, "999999999999"), ("", 2, "0000")],
)  # fmt: skip
def test_encode_n(value: int | str, length: int, expected: str) -> None:
    assert encode_n(value, length) == H(expected)


@pytest.mark.parametrize(
    ("value", "length", "message"),
    [(12345, 2, "5 digits do not fit in 2 bytes"), (-1, 2, "negative values"),
     ("12a4", 2, "character 3 is not a digit"), ("１２", 2, "character 1"), (" 12", 2, "character 1"),
     ("1", -1, "negative length"), (1, 0, "1 digits do not fit")],
)  # fmt: skip
def test_encode_n_errors(value: int | str, length: int, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        encode_n(value, length)


def test_decode_n() -> None:
    assert decode_n(H("000000001000")) == 1000
    assert decode_n(b"") == 0
    assert decode_n(bytearray(H("0978"))) == 978  # type: ignore[arg-type]
    for bad, position in (("0A", 1), ("09A0", 2), ("000F", 2)):
        with pytest.raises(EncodingError, match=f"byte {position} is not BCD"):
            decode_n(H(bad))


@pytest.mark.parametrize(
    ("digits", "length", "expected"),
    [("12345", None, "12345F"), ("1234", None, "1234"), ("1234", 4, "1234FFFF"),
     ("", None, ""), ("", 2, "FFFF"), ("5413339000001513", 10, "5413339000001513FFFF")],
)  # fmt: skip
def test_encode_cn(digits: str, length: int | None, expected: str) -> None:
    assert encode_cn(digits, length) == H(expected)


@pytest.mark.parametrize(
    ("digits", "length", "message"),
    [("12345", 2, "5 digits do not fit"), ("12F4", None, "character 3"), ("1", -2, "negative")],
)
def test_encode_cn_errors(digits: str, length: int | None, message: str) -> None:
    with pytest.raises(EncodingError, match=message):
        encode_cn(digits, length)


def test_decode_cn() -> None:
    assert decode_cn(H("12345F")) == "12345"
    assert decode_cn(H("FFFF")) == ""
    assert decode_cn(b"") == ""
    with pytest.raises(EncodingError, match="nibble 3 is 'A'"):
        decode_cn(H("12A4"))
    with pytest.raises(EncodingError, match="nibble 4 follows the 'F' padding"):
        decode_cn(H("12F4"))
    with pytest.raises(EncodingError, match="nibble 4 follows"):
        decode_cn(H("1FF0"))


@settings(max_examples=300)
@given(st.integers(0, 10**24 - 1), st.integers(12, 16))
def test_n_round_trip(value: int, length: int) -> None:
    assert decode_n(encode_n(value, length)) == value
    assert encode_n(str(value), length) == encode_n(value, length)


@settings(max_examples=300)
@given(st.text("0123456789", max_size=19), st.integers(10, 12))
def test_cn_round_trip(digits: str, length: int) -> None:
    assert decode_cn(encode_cn(digits)) == digits
    assert decode_cn(encode_cn(digits, length)) == digits


@settings(max_examples=300)
@given(st.binary(max_size=12))
def test_decoders_raise_only_encoding_error(data: bytes) -> None:
    for decoder in (decode_n, decode_cn):
        try:
            decoder(data)
        except EncodingError:
            pass

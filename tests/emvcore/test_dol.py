"""Data object lists (EMV Book 3 section 5.4)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emvcore.dol import DolEntry, build_dol_data, dol_data_length, parse_dol, split_dol_data
from emvcore.errors import DolError

H = bytes.fromhex

# A Visa qVSDC PDOL: TTQ, amount, amount other, country, TVR, currency, date, type, UN.
VISA_PDOL = H("9F66049F02069F03069F1A0295055F2A029A039C019F3704")


def test_parse_visa_pdol() -> None:
    entries = parse_dol(VISA_PDOL)
    assert [(e.tag, e.length) for e in entries] == [
        (0x9F66, 4), (0x9F02, 6), (0x9F03, 6), (0x9F1A, 2), (0x95, 5),
        (0x5F2A, 2), (0x9A, 3), (0x9C, 1), (0x9F37, 4),
    ]  # fmt: skip
    assert dol_data_length(entries) == 33


def test_parse_three_byte_tag_and_empty() -> None:
    assert parse_dol(H("DF810502")) == (DolEntry(0xDF8105, 2),)
    assert parse_dol(b"") == ()


@pytest.mark.parametrize(
    ("dol", "message"),
    [
        ("9F", "inside the tag at offset 0"),
        ("9F0206 9F81", "inside the tag at offset 3"),
        ("9F02", "before the length of tag 9F02 at offset 0"),
        ("9F0206 95", "before the length of tag 95 at offset 3"),
        ("9F0206 00 9505", "offset 3 starts with '00'"),
        ("9F8181818101", "offset 0 is longer than 4 bytes"),
    ],
)
def test_parse_errors(dol: str, message: str) -> None:
    with pytest.raises(DolError, match=message):
        parse_dol(H(dol))


@pytest.mark.parametrize(
    ("tag", "length"), [(0, 1), (-1, 1), (1 << 32, 1), (0x95, -1), (0x95, 256)]
)
def test_entry_validation(tag: int, length: int) -> None:
    with pytest.raises(DolError):
        DolEntry(tag, length)


def _one(tag: int, length: int, value: bytes | None) -> bytes:
    available = {} if value is None else {tag: value}
    return build_dol_data([DolEntry(tag, length)], available)


@pytest.mark.parametrize(
    ("tag", "length", "value", "expected"),
    [
        # a, b: unknown or absent -> zeros
        (0x9F7F, 3, None, "000000"),
        (0x9F02, 6, None, "000000000000"),
        # a: constructed -> zeros even when present
        (0x70, 2, "5A01", "0000"),
        (0xBF0C, 1, "AA", "00"),
        # c: n truncated on the left, others on the right
        (0x9F02, 4, "000000012345", "00012345"),
        (0x5A, 4, "5413339000001513", "54133390"),
        (0x9F33, 2, "E0F8C8", "E0F8"),
        (0x9F4E, 3, "414243444546", "414243"),
        # d: n leading 00, cn trailing FF, others trailing 00
        (0x9F02, 8, "000000012345", "0000000000012345"),
        (0x5A, 10, "5413339000001513", "5413339000001513FFFF"),
        (0x9F33, 4, "E0F8C8", "E0F8C800"),
        (0x5F2D, 4, "656E", "656E0000"),
        (0x9F7F, 3, "AA", "AA0000"),
        # exact length untouched; zero length gives nothing
        (0x9F37, 4, "01020304", "01020304"),
        (0x9F37, 0, "01020304", ""),
    ],
)
def test_build_rules(tag: int, length: int, value: str | None, expected: str) -> None:
    assert _one(tag, length, None if value is None else H(value)) == H(expected)


def test_build_visa_pdol() -> None:
    data = build_dol_data(
        parse_dol(VISA_PDOL),
        {
            0x9F66: H("36004000"),
            0x9F02: H("000000001000"),
            0x9F1A: H("0826"),
            0x95: bytes(5),
            0x5F2A: H("0826"),
            0x9A: H("250131"),
            0x9C: H("00"),
            0x9F37: H("DEADBEEF"),
        },
    )
    assert data == H("36004000 000000001000 000000000000 0826 0000000000 0826 250131 00 DEADBEEF")


def test_split_round_trip_and_errors() -> None:
    entries = parse_dol(VISA_PDOL)
    data = bytes(range(33))
    split = split_dol_data(entries, data)
    assert split[0x9F37] == bytes(range(29, 33))
    assert build_dol_data(entries, split) == data
    with pytest.raises(DolError, match="32 bytes, the list asks for 33"):
        split_dol_data(entries, data[:-1])
    with pytest.raises(DolError, match="34 bytes"):
        split_dol_data(entries, data + b"\x00")
    with pytest.raises(DolError, match="tag 9F37 more than once"):
        split_dol_data(parse_dol(H("9F37049F3704")), bytes(8))


@settings(max_examples=300)
@given(st.binary(max_size=40))
def test_fuzz_parse_raises_only_dol_error(data: bytes) -> None:
    try:
        entries = parse_dol(data)
    except DolError:
        return
    assert all(0 <= e.length <= 255 for e in entries)


known_tags = st.sampled_from([0x9F02, 0x5A, 0x9F33, 0x5F2D, 0x9F37, 0x70, 0x9F7F, 0xDF8105])


@settings(max_examples=300)
@given(
    st.lists(st.tuples(known_tags, st.integers(0, 40)), max_size=8, unique_by=lambda e: e[0]),
    st.dictionaries(known_tags, st.binary(max_size=50)),
)
def test_build_length_and_split_inverse(
    pairs: list[tuple[int, int]], values: dict[int, bytes]
) -> None:
    entries = [DolEntry(tag, length) for tag, length in pairs]
    data = build_dol_data(entries, values)
    assert len(data) == dol_data_length(entries)
    split = split_dol_data(entries, data)
    assert list(split) == [e.tag for e in entries]
    assert build_dol_data(entries, split) == data


@settings(max_examples=300)
@given(st.lists(st.tuples(known_tags, st.integers(0, 255)), max_size=10))
def test_parse_inverts_the_list_encoding(pairs: list[tuple[int, int]]) -> None:
    raw = b"".join(
        tag.to_bytes((tag.bit_length() + 7) // 8, "big") + bytes([n]) for tag, n in pairs
    )
    assert parse_dol(raw) == tuple(DolEntry(tag, n) for tag, n in pairs)

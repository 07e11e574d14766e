"""BER-TLV (EMV Book 3 Annex B): known encodings, every error path, properties, pyemv."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyemv import tlv as pyemv_tlv

from emvcore import tlv
from emvcore.errors import (
    TlvDuplicateTagError,
    TlvError,
    TlvLengthError,
    TlvTrailingDataError,
    TlvTruncatedError,
)

H = bytes.fromhex

# A PPSE FCI as a Mastercard card returns it.
PPSE_FCI = H(
    "6F2C840E325041592E5359532E4444463031A51ABF0C1761154F07A000000004101087010150074D415354455243"
)


# --- known encodings -----------------------------------------------------------------


def test_decode_ppse_fci_structure_and_offsets() -> None:
    (fci,) = tlv.decode(PPSE_FCI)
    assert (fci.tag, fci.offset, fci.constructed) == (0x6F, 0, True)
    df_name, a5 = fci.children()
    assert (df_name.tag, df_name.value, df_name.offset) == (0x84, b"2PAY.SYS.DDF01", 2)
    assert (a5.tag, a5.offset) == (0xA5, 18)
    (bf0c,) = a5.children()
    assert (bf0c.tag, bf0c.offset) == (0xBF0C, 20)
    (app,) = bf0c.children()
    assert [(c.tag, c.offset) for c in app.children()] == [(0x4F, 25), (0x87, 34), (0x50, 37)]


def test_walk_is_depth_first_with_constructed_objects() -> None:
    tags = [obj.tag for obj in tlv.walk(PPSE_FCI)]
    assert tags == [0x6F, 0x84, 0xA5, 0xBF0C, 0x61, 0x4F, 0x87, 0x50]


def test_every_walked_offset_points_at_its_tag() -> None:
    for obj in tlv.walk(PPSE_FCI):
        assert PPSE_FCI[obj.offset :].startswith(tlv.tag_to_bytes(obj.tag))


def test_flatten_and_find() -> None:
    flat = tlv.flatten(PPSE_FCI)
    assert flat == {
        0x84: b"2PAY.SYS.DDF01",
        0x4F: H("A0000000041010"),
        0x87: b"\x01",
        0x50: b"MASTERC",
    }
    assert tlv.find(PPSE_FCI, 0x87) == b"\x01"
    assert tlv.find(PPSE_FCI, 0x61) == H("4F07A000000004101087010150074D415354455243")
    assert tlv.find(PPSE_FCI, 0x9F38) is None


@pytest.mark.parametrize(
    ("encoded", "tag", "value"),
    [
        ("9F0206000000001000", 0x9F02, "000000001000"),
        ("DF810101AA", 0xDF8101, "AA"),
        ("DF81810101AA", 0xDF818101, "AA"),
        ("5A00", 0x5A, ""),
        ("9F1F81" + "80" + "31" * 128, 0x9F1F, "31" * 128),
        ("7082" + "0100" + "00" * 256, 0x70, "00" * 256),
        ("7083" + "010000" + "00" * 65536, 0x70, "00" * 65536),
    ],
)
def test_decode_known(encoded: str, tag: int, value: str) -> None:
    (obj,) = tlv.decode(H(encoded))
    assert (obj.tag, obj.value, obj.offset) == (tag, H(value), 0)


def test_decode_accepts_non_minimal_length_and_keeps_child_offsets_exact() -> None:
    data = H("7081059F36020001")
    (outer,) = tlv.decode(data)
    assert outer.value_offset == 3
    (child,) = outer.children()
    assert (child.tag, child.offset, child.value) == (0x9F36, 3, H("0001"))


def test_children_of_a_hand_made_object_assume_minimal_encoding() -> None:
    outer = tlv.Tlv(0x77, H("9F2701809F360200 01"), offset=10)
    assert [(c.tag, c.offset) for c in outer.children()] == [(0x9F27, 12), (0x9F36, 16)]


def test_padding_is_skipped_before_between_after() -> None:
    objs = tlv.decode(H("0000 9F2701 80 00 9F360200 01 000000"))
    assert [(o.tag, o.offset) for o in objs] == [(0x9F27, 2), (0x9F36, 7)]
    assert tlv.decode(H("000000")) == []
    assert tlv.decode(b"") == []


def test_padding_inside_templates() -> None:
    data = H("770B 00 9F270180 00 9F360101 00")
    assert tlv.flatten(data) == {0x9F27: b"\x80", 0x9F36: b"\x01"}


def test_decode_accepts_bytearray_and_memoryview() -> None:
    data = H("9F36020001")
    assert tlv.decode(bytearray(data)) == tlv.decode(data)  # type: ignore[arg-type]
    assert tlv.decode(memoryview(data)) == tlv.decode(data)  # type: ignore[arg-type]


def test_base_offset_is_added() -> None:
    (obj,) = tlv.decode(H("9F360200 01"), base_offset=40)
    assert (obj.offset, obj.value_offset) == (40, 43)


@pytest.mark.parametrize("data", ["9F", "9F36", "9F3681", "9F3680", "9F360300", "9F8181818101"])
def test_base_offset_is_added_to_errors(data: str) -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(H(data), base_offset=40)
    assert info.value.offset == 40


def test_equality_ignores_value_offset() -> None:
    assert tlv.decode(H("5A8101AA"))[0] == tlv.Tlv(0x5A, b"\xaa")


@pytest.mark.parametrize(
    ("tag", "expected"),
    [(0x6F, True), (0x70, True), (0x77, True), (0xA5, True), (0xBF0C, True), (0xE1, True),
     (0x9F02, False), (0x5A, False), (0x80, False), (0xDF8101, False), (0x5F2A, False)],
)  # fmt: skip
def test_is_constructed(tag: int, expected: bool) -> None:
    assert tlv.is_constructed(tag) is expected


@pytest.mark.parametrize("tag", [0, -1])
def test_is_constructed_rejects_non_positive(tag: int) -> None:
    with pytest.raises(TlvError):
        tlv.is_constructed(tag)


# --- encoding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "header"),
    [(0, "5A00"), (127, "5A7F"), (128, "5A8180"), (255, "5A81FF"), (256, "5A820100"),
     (65535, "5A82FFFF")],
)  # fmt: skip
def test_encode_uses_minimal_lengths(length: int, header: str) -> None:
    encoded = tlv.encode(0x5A, bytes(length))
    assert encoded[: len(header) // 2] == H(header)
    assert len(encoded) == len(header) // 2 + length


def test_encode_rejects_values_over_65535_bytes() -> None:
    with pytest.raises(TlvError) as info:
        tlv.encode(0x70, bytes(65536))
    assert info.value.tag == 0x70


@pytest.mark.parametrize(
    "tag",
    [0, -5, 0x9F, 0x1F, 0xBF, 0x9F80, 0x0102, 0x5A01, 0x9F8181, 0x9F818181, 0xDF81818101,
     1 << 40],
)  # fmt: skip
def test_encode_rejects_invalid_tags(tag: int) -> None:
    with pytest.raises(TlvError):
        tlv.encode(tag, b"")
    with pytest.raises(TlvError):
        tlv.tag_to_bytes(tag)


def test_encode_many_keeps_order_for_mapping_and_pairs() -> None:
    expected = H("9F02060000000010005F2A020978")
    assert tlv.encode_many({0x9F02: H("000000001000"), 0x5F2A: H("0978")}) == expected
    assert tlv.encode_many([(0x9F02, H("000000001000")), (0x5F2A, H("0978"))]) == expected
    assert tlv.encode_many([]) == b""


def test_tlv_encode_method() -> None:
    assert tlv.Tlv(0xBF0C, H("9F4D020B0A")).encode() == H("BF0C059F4D020B0A")


# --- error paths ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "error", "tag", "offset"),
    [
        ("9F", TlvTruncatedError, None, 0),
        ("9F81", TlvTruncatedError, None, 0),
        ("9F02", TlvTruncatedError, 0x9F02, 0),
        ("9F0281", TlvTruncatedError, 0x9F02, 0),
        ("9F028201", TlvTruncatedError, 0x9F02, 0),
        ("9F0206000000", TlvTruncatedError, 0x9F02, 0),
        ("5A0100 00 9F360300", TlvTruncatedError, 0x9F36, 4),
        ("9F0280", TlvLengthError, 0x9F02, 0),
        ("9F028400000001AA", TlvLengthError, 0x9F02, 0),
        ("5A01AA 9F0184", TlvLengthError, 0x9F01, 3),
        ("9F8181818101AA", TlvError, None, 0),
    ],
)
def test_decode_errors(data: str, error: type[TlvError], tag: int | None, offset: int) -> None:
    with pytest.raises(TlvError) as info:
        tlv.decode(H(data))
    assert type(info.value) is error
    assert (info.value.tag, info.value.offset) == (tag, offset)


def test_error_message_names_tag_and_offset() -> None:
    with pytest.raises(TlvTruncatedError, match=r"value of 6 bytes declared, 3 present \(tag 9F02"):
        tlv.decode(H("9F0206000000"))


def test_nested_error_reports_outermost_offset() -> None:
    data = H("6F07 8401AA A5 02 9F02")  # A5's child ends before its length
    with pytest.raises(TlvTruncatedError) as info:
        tlv.flatten(data)
    assert (info.value.tag, info.value.offset) == (0x9F02, 7)


def test_children_of_primitive_raises() -> None:
    (obj,) = tlv.decode(H("0000 5A0112"))
    with pytest.raises(TlvError) as info:
        obj.children()
    assert (info.value.tag, info.value.offset) == (0x5A, 2)


def test_decode_one() -> None:
    assert tlv.decode_one(H("77099F2701809F36020001")).tag == 0x77
    with pytest.raises(TlvTrailingDataError) as info:
        tlv.decode_one(H("9F3602000190"))
    assert (info.value.tag, info.value.offset) == (0x9F36, 5)
    with pytest.raises(TlvTrailingDataError):
        tlv.decode_one(H("9F36020001 00"))
    with pytest.raises(TlvTruncatedError) as trunc:
        tlv.decode_one(b"")
    assert trunc.value.offset == 0
    with pytest.raises(TlvError):
        tlv.decode_one(H("00 9F36020001"))
    with pytest.raises(TlvTruncatedError):
        tlv.decode_one(H("9F360300"))


def _nest(depth: int) -> bytes:
    data = tlv.encode(0x5A, b"\x01")
    for _ in range(depth - 1):
        data = tlv.encode(0x70, data)
    return data


def test_walk_depth_limit() -> None:
    assert len(list(tlv.walk(_nest(tlv.MAX_DEPTH)))) == tlv.MAX_DEPTH
    with pytest.raises(TlvError, match="nested deeper") as info:
        list(tlv.walk(_nest(tlv.MAX_DEPTH + 1)))
    assert info.value.tag == 0x5A
    assert info.value.offset == 2 * tlv.MAX_DEPTH
    with pytest.raises(TlvError):
        tlv.flatten(_nest(200))
    with pytest.raises(TlvError):
        tlv.find(_nest(200), 0x5A)


def test_empty_template_at_max_depth_is_fine() -> None:
    data = tlv.encode(0x70, b"")
    for _ in range(tlv.MAX_DEPTH - 1):
        data = tlv.encode(0x70, data)
    assert len(list(tlv.walk(data))) == tlv.MAX_DEPTH


def test_flatten_duplicates() -> None:
    data = H("700C 9F36020001 6F05 9F36020002")
    with pytest.raises(TlvDuplicateTagError) as info:
        tlv.flatten(data)
    assert (info.value.tag, info.value.offset) == (0x9F36, 9)
    assert tlv.flatten(data, unique=False) == {0x9F36: H("0001")}


def test_flatten_ignores_repeated_constructed_tags() -> None:
    assert tlv.flatten(H("7003 5A0101 7004 5F340101")) == {0x5A: b"\x01", 0x5F34: b"\x01"}


def test_find_returns_first_depth_first() -> None:
    data = H("7005 6F03 5A0101 5A0102")
    assert tlv.find(data, 0x5A) == b"\x01"
    assert tlv.find(data, 0x6F) == H("5A0101")


# --- properties ----------------------------------------------------------------------


@settings(max_examples=2000)
@given(st.binary(max_size=64))
def test_fuzz_decoders_raise_only_tlv_errors(data: bytes) -> None:
    for parse in (tlv.decode, tlv.decode_one, lambda d: list(tlv.walk(d)), tlv.flatten):
        try:
            parse(data)
        except TlvError:
            pass
    try:
        tlv.find(data, 0x9F02)
    except TlvError:
        pass


@st.composite
def tags(draw: st.DrawFn, constructed: bool | None = None) -> int:
    """Any well-formed one- to four-byte tag, optionally of a given kind."""
    cls = draw(st.integers(0, 3)) << 6
    flag = 0x20 if (draw(st.booleans()) if constructed is None else constructed) else 0
    if draw(st.booleans()):
        number = draw(st.integers(0 if cls | flag else 1, 30))
        return cls | flag | number
    extra = draw(st.integers(1, 3))
    tail = [draw(st.integers(0x80, 0xFF)) for _ in range(extra - 1)]
    tail.append(draw(st.integers(0x00, 0x7F)))
    return int.from_bytes(bytes([cls | flag | 0x1F, *tail]), "big")


Node = tuple[int, Any]  # (tag, bytes) or (tag, list[Node])

leaves = st.tuples(tags(constructed=False), st.binary(max_size=140))


def _templates(children: st.SearchStrategy[list[Node]]) -> st.SearchStrategy[Node]:
    return st.tuples(tags(constructed=True), children)


trees = st.lists(
    st.recursive(leaves, lambda inner: _templates(st.lists(inner, max_size=4)), max_leaves=8),
    max_size=5,
)


def _encode_tree(nodes: list[Node]) -> bytes:
    return b"".join(
        tlv.encode(tag, _encode_tree(body) if isinstance(body, list) else body)
        for tag, body in nodes
    )


def _as_nodes(objs: list[tlv.Tlv]) -> list[Node]:
    return [(o.tag, _as_nodes(o.children()) if o.constructed else o.value) for o in objs]


def _decode_tree(data: bytes) -> list[Node]:
    return _as_nodes(tlv.decode(data))


@settings(max_examples=300)
@given(trees)
def test_encode_decode_round_trip(nodes: list[Node]) -> None:
    data = _encode_tree(nodes)
    assert _decode_tree(data) == nodes
    assert b"".join(obj.encode() for obj in tlv.decode(data)) == data
    for obj in tlv.walk(data):
        assert data[obj.offset :].startswith(tlv.tag_to_bytes(obj.tag))
        assert obj.value_offset is not None
        assert data[obj.value_offset : obj.value_offset + len(obj.value)] == obj.value


@settings(max_examples=300)
@given(tags())
def test_tag_bytes_round_trip(tag: int) -> None:
    raw = tlv.tag_to_bytes(tag)
    (obj,) = tlv.decode(raw + b"\x00")
    assert obj.tag == tag
    assert tlv.is_constructed(tag) is bool(raw[0] & 0x20)


def _unique_level(nodes: list[Node]) -> bool:
    seen = [tag for tag, _ in nodes]
    return len(seen) == len(set(seen)) and all(
        _unique_level(body) for _, body in nodes if isinstance(body, list)
    )


def _as_pyemv(nodes: list[Node]) -> dict[str, Any]:
    return {
        f"{tag:02X}": _as_pyemv(body) if isinstance(body, list) else body for tag, body in nodes
    }


@settings(max_examples=300)
@given(trees.filter(_unique_level))
def test_agrees_with_pyemv(nodes: list[Node]) -> None:
    data = _encode_tree(nodes)
    assert pyemv_tlv.decode(data) == _as_pyemv(_decode_tree(data))
    flat_nodes: list[Node] = []

    def leaves_of(level: list[Node]) -> None:
        for tag, body in level:
            if isinstance(body, list):
                leaves_of(body)
            else:
                flat_nodes.append((tag, body))

    leaves_of(nodes)
    if len({tag for tag, _ in flat_nodes}) == len(flat_nodes):
        expected = pyemv_tlv.decode(data, flatten=True)
        assert {f"{t:02X}": v for t, v in tlv.flatten(data).items()} == expected

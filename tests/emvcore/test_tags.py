"""The EMV tag dictionary."""

from __future__ import annotations

import pytest

from emvcore import tags
from emvcore.tags import TAGS, Format, Source, Tag, format_of, info, name
from emvcore.tlv import is_constructed, tag_to_bytes

REQUIRED = [
    0x4F, 0x50, 0x57, 0x5A, 0x5F20, 0x5F24, 0x5F25, 0x5F28, 0x5F2A, 0x5F2D, 0x5F34, 0x61,
    0x6F, 0x70, 0x77, 0x80, 0x82, 0x84, 0x87, 0x88, 0x8A, 0x8C, 0x8D, 0x8E, 0x8F, 0x90, 0x91,
    0x92, 0x93, 0x94, 0x95, 0x9A, 0x9B, 0x9C, 0x9F02, 0x9F03, 0x9F06, 0x9F07, 0x9F08, 0x9F09,
    0x9F0D, 0x9F0E, 0x9F0F, 0x9F10, 0x9F11, 0x9F12, 0x9F19, 0x9F1A, 0x9F1C, 0x9F1E, 0x9F21,
    0x9F24, 0x9F25, 0x9F26, 0x9F27, 0x9F2A, 0x9F32, 0x9F33, 0x9F34, 0x9F35, 0x9F36, 0x9F37,
    0x9F38, 0x9F40, 0x9F42, 0x9F46, 0x9F47, 0x9F48, 0x9F49, 0x9F4A, 0x9F4B, 0x9F4C, 0x9F4E,
    0x9F5D, 0x9F66, 0x9F69, 0x9F6C, 0x9F6E, 0xA5, 0xBF0C, 0x9F53,
]  # fmt: skip


@pytest.mark.parametrize("tag", REQUIRED, ids=lambda t: f"{t:02X}")
def test_required_tag_present(tag: int) -> None:
    entry = info(tag)
    assert entry is not None
    assert entry.tag == tag
    assert entry.name == name(tag)
    assert not entry.name.startswith("Unknown")


def test_table_is_consistent() -> None:
    for tag, entry in TAGS.items():
        assert entry.tag == tag
        tag_to_bytes(tag)  # a well-formed BER tag
        assert 0 <= entry.min_length <= entry.max_length, entry
        if is_constructed(tag):
            assert entry.format is Format.B, entry


def test_enum_has_no_aliases_and_covers_table() -> None:
    assert len(Tag.__members__) == len(Tag)
    assert {int(t) for t in Tag} == set(TAGS)


@pytest.mark.parametrize(
    ("member", "value"),
    [
        (Tag.AMOUNT_AUTHORISED, 0x9F02), (Tag.AIP, 0x82), (Tag.AFL, 0x94), (Tag.PDOL, 0x9F38),
        (Tag.CDOL1, 0x8C), (Tag.ATC, 0x9F36), (Tag.TVR, 0x95), (Tag.TTQ, 0x9F66),
        (Tag.CTQ, 0x9F6C), (Tag.PAR, 0x9F24), (Tag.UNPREDICTABLE_NUMBER, 0x9F37),
        (Tag.APPLICATION_CRYPTOGRAM, 0x9F26), (Tag.CID, 0x9F27), (Tag.IAD, 0x9F10),
        (Tag.PAN, 0x5A), (Tag.PSN, 0x5F34), (Tag.TRACK2, 0x57), (Tag.KERNEL_IDENTIFIER, 0x9F2A),
        (Tag.APPLICATION_PRIORITY, 0x87), (Tag.ISSUER_AUTHENTICATION_DATA, 0x91), (Tag.ARC, 0x8A),
    ],
)  # fmt: skip
def test_named_constants(member: Tag, value: int) -> None:
    assert member == value


@pytest.mark.parametrize(
    ("tag", "fmt", "source", "length"),
    [
        (0x9F02, Format.N, Source.TERMINAL, 6), (0x5A, Format.CN, Source.ICC, 10),
        (0x9F1C, Format.AN, Source.TERMINAL, 8), (0x50, Format.ANS, Source.ICC, 16),
        (0x95, Format.B, Source.TERMINAL, 5), (0x8A, Format.AN, Source.ISSUER, 2),
        (0x91, Format.B, Source.ISSUER, 16), (0x9F24, Format.AN, Source.ICC, 29),
        (0x5F2A, Format.N, Source.TERMINAL, 2), (0x9F66, Format.B, Source.TERMINAL, 4),
        (0x9F6C, Format.B, Source.ICC, 2), (0x9F53, Format.AN, Source.TERMINAL, 1),
    ],
)  # fmt: skip
def test_formats_sources_lengths(tag: int, fmt: Format, source: Source, length: int) -> None:
    entry = info(tag)
    assert entry is not None
    assert (entry.format, entry.source, entry.max_length) == (fmt, source, length)
    assert format_of(tag) is fmt


def test_unknown_tags() -> None:
    assert info(0x9F7F) is None
    assert name(0x9F7F) == "Unknown tag 9F7F"
    assert name(0x01) == "Unknown tag 01"
    assert name(0xDF8101) == "Unknown tag DF8101"
    assert format_of(0xDF8101) is Format.B


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        TAGS[0x9F7F] = TAGS[0x9F02]  # type: ignore[index]
    assert tags.__all__

"""Data object lists: PDOL ``9F38``, CDOL1 ``8C``, CDOL2 ``8D``, DDOL ``9F49``, TDOL ``97``.

A data object list (EMV Book 3 section 5.4) is what a card sends to say which data it
wants in a later command, and how long each element must be: a concatenation of BER
tags, each followed by a one-byte length, with no values. The terminal answers with the
values alone, concatenated in list order and cut or padded to the requested lengths.

>>> pdol = parse_dol(bytes.fromhex("9F66049F02069F37045F2A02"))
>>> [(hex(e.tag), e.length) for e in pdol], dol_data_length(pdol)
([('0x9f66', 4), ('0x9f02', 6), ('0x9f37', 4), ('0x5f2a', 2)], 16)
>>> build_dol_data(pdol, {0x9F02: bytes.fromhex("000000001000"), 0x5F2A: b"\\x09\\x78"}).hex()
'00000000000000001000000000000978'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from emvcore.errors import DolError
from emvcore.tags import Format, format_of
from emvcore.tlv import is_constructed

__all__ = ["DolEntry", "build_dol_data", "dol_data_length", "parse_dol", "split_dol_data"]

_MAX_TAG_BYTES = 4


@dataclass(frozen=True, slots=True)
class DolEntry:
    """One entry of a data object list: a tag and the length (in bytes) asked for it."""

    tag: int
    length: int

    def __post_init__(self) -> None:
        if self.tag <= 0 or self.tag.bit_length() > 8 * _MAX_TAG_BYTES:
            raise DolError(f"DOL entry tag {self.tag:#x} is not a one- to four-byte tag")
        if not 0 <= self.length <= 0xFF:
            raise DolError(f"DOL entry for tag {self.tag:02X}: length {self.length} not in 0..255")


def parse_dol(dol: bytes) -> tuple[DolEntry, ...]:
    """Parse a data object list into its entries (Book 3 section 5.4).

    Each entry is a BER tag (Annex B1) followed by a one-byte length. A list that ends
    inside a tag or before a length raises :class:`~emvcore.errors.DolError` naming the
    offset; so does a tag that starts with ``00`` (lists carry no padding).

    >>> parse_dol(bytes.fromhex("9F0206 9505"))
    (DolEntry(tag=40706, length=6), DolEntry(tag=149, length=5))
    >>> parse_dol(bytes.fromhex("9F0206 9F"))
    Traceback (most recent call last):
    ...
    emvcore.errors.DolError: DOL ends inside the tag at offset 3
    """
    dol = bytes(dol)
    entries: list[DolEntry] = []
    end = len(dol)
    pos = 0
    while pos < end:
        start = pos
        byte = dol[pos]
        if byte == 0:
            raise DolError(f"DOL entry at offset {start} starts with '00', which is not a tag")
        tag = byte
        pos += 1
        if byte & 0x1F == 0x1F:
            while True:
                if pos >= end:
                    raise DolError(f"DOL ends inside the tag at offset {start}")
                byte = dol[pos]
                pos += 1
                tag = (tag << 8) | byte
                if not byte & 0x80:
                    break
                if pos - start >= _MAX_TAG_BYTES:
                    raise DolError(f"DOL tag at offset {start} is longer than 4 bytes")
        if pos >= end:
            raise DolError(f"DOL ends before the length of tag {tag:02X} at offset {start}")
        entries.append(DolEntry(tag, dol[pos]))
        pos += 1
    return tuple(entries)


def dol_data_length(entries: Sequence[DolEntry]) -> int:
    """Length in bytes of the data answering ``entries``.

    >>> dol_data_length(parse_dol(bytes.fromhex("9F02069F0306")))
    12
    """
    return sum(entry.length for entry in entries)


def _fit(value: bytes, length: int, fmt: Format) -> bytes:
    """Cut or pad ``value`` to ``length`` bytes by the rules of Book 3 section 5.4 c-d."""
    have = len(value)
    if have == length:
        return value
    if fmt is Format.N:
        return value[have - length :] if have > length else bytes(length - have) + value
    if have > length:
        return value[:length]
    pad = b"\xff" if fmt is Format.CN else b"\x00"
    return value + pad * (length - have)


def build_dol_data(entries: Sequence[DolEntry], available: Mapping[int, bytes]) -> bytes:
    """The command data answering a data object list (Book 3 section 5.4).

    For each entry, in order:

    a/b/e. a tag absent from ``available``, or a constructed tag, gives ``length`` bytes
       of ``00``;
    c. a longer value is cut: format n keeps its rightmost bytes, every other format its
       leftmost bytes;
    d. a shorter value is padded: n with leading ``00``, cn with trailing ``FF``, an, ans
       and b with trailing ``00``.

    Formats come from :func:`emvcore.tags.format_of` (b for unknown tags).

    >>> entries = parse_dol(bytes.fromhex("9F0204 5A0A 9F3302 7003"))
    >>> data = build_dol_data(entries, {
    ...     0x9F02: bytes.fromhex("000000012345"),   # n: keep the rightmost 4 bytes
    ...     0x5A: bytes.fromhex("5413339000001513"),  # cn: pad with trailing FF
    ...     0x9F33: bytes.fromhex("E0F8C8"),         # b: keep the leftmost 2 bytes
    ...     0x70: b"ignored",                        # constructed: zeros
    ... })
    >>> data.hex().upper()
    '000123455413339000001513FFFFE0F8000000'
    """
    parts: list[bytes] = []
    for entry in entries:
        value = available.get(entry.tag)
        if value is None or is_constructed(entry.tag):
            parts.append(bytes(entry.length))
        else:
            parts.append(_fit(bytes(value), entry.length, format_of(entry.tag)))
    return b"".join(parts)


def split_dol_data(entries: Sequence[DolEntry], data: bytes) -> dict[int, bytes]:
    """Cut command data back into ``{tag: value}`` by its list (the card's side).

    Raises :class:`~emvcore.errors.DolError` when ``data`` is not exactly
    :func:`dol_data_length` bytes long, or when the list names a tag twice.

    >>> entries = parse_dol(bytes.fromhex("9F02069F3704"))
    >>> {hex(t): v.hex() for t, v in split_dol_data(entries, bytes(range(10))).items()}
    {'0x9f02': '000102030405', '0x9f37': '06070809'}
    """
    data = bytes(data)
    expected = dol_data_length(entries)
    if len(data) != expected:
        raise DolError(f"DOL data is {len(data)} bytes, the list asks for {expected}")
    out: dict[int, bytes] = {}
    pos = 0
    for entry in entries:
        if entry.tag in out:
            raise DolError(f"DOL names tag {entry.tag:02X} more than once")
        out[entry.tag] = data[pos : pos + entry.length]
        pos += entry.length
    return out

"""Fuzz target: data object lists (emvcore.dol, EMV Book 3 section 5.4).

The input is a DOL (a chunk), then the values the terminal holds for its tags. Properties:

- :func:`~emvcore.dol.parse_dol` raises nothing but :class:`~emvcore.errors.DolError`, and
  a parsed list written back (tag bytes, length byte) is the input list exactly;
- :func:`~emvcore.dol.build_dol_data` gives :func:`~emvcore.dol.dol_data_length` bytes, each
  entry's part as long as it asks, zeros for absent and constructed tags, the value itself
  when it already has the right length, and for format n the value right-aligned;
- :func:`~emvcore.dol.split_dol_data` gives each entry's part back when no tag repeats,
  and raises DolError (never anything else) otherwise or on data of the wrong length.
"""

from __future__ import annotations

from emvcore import dol, tlv
from emvcore.errors import DolError
from emvcore.tags import Format, format_of
from tests.fuzz.properties import check
from tests.fuzz.stream import ByteStream

MAX_LEN = 2048


def _values(stream: ByteStream, entries: tuple[dol.DolEntry, ...]) -> dict[int, bytes]:
    available: dict[int, bytes] = {}
    for entry in entries:
        if stream.flag():
            available[entry.tag] = stream.chunk(64)
    return available


def _check_parts(
    entries: tuple[dol.DolEntry, ...], available: dict[int, bytes], data: bytes
) -> list[bytes]:
    check(len(data) == dol.dol_data_length(entries), "DOL data length differs from the list")
    parts: list[bytes] = []
    pos = 0
    for entry in entries:
        part = data[pos : pos + entry.length]
        pos += entry.length
        parts.append(part)
        value = available.get(entry.tag)
        if value is None or tlv.is_constructed(entry.tag):
            check(part == bytes(entry.length), f"tag {entry.tag:X}: absent value not zeros")
        elif len(value) == entry.length:
            check(part == value, f"tag {entry.tag:X}: exact-length value changed")
        elif format_of(entry.tag) is Format.N and len(value) < entry.length:
            check(part.endswith(value), f"tag {entry.tag:X}: n value not right-aligned")
    return parts


def one_input(data: bytes) -> None:
    """Parse a DOL from the input, build its data, split it back; check the properties."""
    stream = ByteStream(data)
    raw = stream.chunk()
    try:
        entries = dol.parse_dol(raw)
    except DolError:
        return
    written = b"".join(tlv.tag_to_bytes(e.tag) + bytes([e.length]) for e in entries)
    check(written == raw, "parse_dol(x) written back is not x")
    available = _values(stream, entries)
    built = dol.build_dol_data(entries, available)
    parts = _check_parts(entries, available, built)
    tags = [e.tag for e in entries]
    try:
        split = dol.split_dol_data(entries, built)
    except DolError:
        check(len(set(tags)) != len(tags), "split_dol_data refused data it should accept")
    else:
        check(len(set(tags)) == len(tags), "split_dol_data accepted a repeated tag")
        check(split == dict(zip(tags, parts, strict=True)), "split_dol_data differs from build")
    extra = stream.chunk(8)
    if extra:
        try:
            dol.split_dol_data(entries, built + extra)
        except DolError:
            pass
        else:
            check(False, "split_dol_data accepted data longer than the list asks")

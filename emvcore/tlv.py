"""BER-TLV data objects as EMV uses them (EMV Book 3, Annex B).

A data object is a tag, a length and a value:

* **Tag** (Annex B1): the first byte carries the class (b8-b7), whether the object is
  constructed (b6) and the tag number (b5-b1). When b5-b1 are all set the tag continues
  in subsequent bytes, each with b8 set while another byte follows. EMV tags are at most
  four bytes here (``DF8101`` is three); a longer tag is rejected.
* **Length** (Annex B2): one byte ``00``-``7F``, or ``81``/``82``/``83`` followed by one
  to three length bytes. ``80`` (indefinite) and ``84`` and above are rejected. Longer
  than necessary length fields (``81 05``) are accepted when decoding, as BER allows,
  and never produced when encoding.
* **Value** (Annex B3): the value of a constructed object is itself a sequence of data
  objects; ``00`` bytes may occur before, between and after them and carry no meaning.

Tags are plain integers (``0x9F02``, ``0xBF0C``, ``0xDF8101``). Every decoded object
remembers the offset of its first tag byte in the outermost buffer, and every error
carries the tag being read and the offset of the object where decoding failed::

    >>> objs = decode(bytes.fromhex("9F02060000000010009A03250101"))
    >>> [(hex(o.tag), o.value.hex(), o.offset) for o in objs]
    [('0x9f02', '000000001000', 0), ('0x9a', '250101', 9)]
    >>> decode(bytes.fromhex("9F0206000000"))
    Traceback (most recent call last):
    ...
    emvcore.errors.TlvTruncatedError: value of 6 bytes declared, 3 present (tag 9F02, offset 0)

Decoding never raises anything but :class:`~emvcore.errors.TlvError` and its subclasses,
and its work is linear in the input at every level; nesting is bounded by
:data:`MAX_DEPTH`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from emvcore.errors import (
    TlvDuplicateTagError,
    TlvError,
    TlvLengthError,
    TlvTrailingDataError,
    TlvTruncatedError,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_ENCODED_VALUE_LENGTH",
    "Tlv",
    "decode",
    "decode_one",
    "encode",
    "encode_many",
    "find",
    "flatten",
    "is_constructed",
    "tag_to_bytes",
    "walk",
]

#: Deepest nesting of constructed objects that :func:`walk`, :func:`flatten` and
#: :func:`find` descend into; the objects of the outermost buffer are at depth 1.
MAX_DEPTH = 16

#: Longest value :func:`encode` writes (a two-byte length field, ``82 FF FF``).
MAX_ENCODED_VALUE_LENGTH = 0xFFFF

_MAX_TAG_BYTES = 4

#: Tags whose values must never reach a log through ``repr``: PAN (5A), Track 2 (57),
#: Track 1 (56), Track 1/2 discretionary data (9F1F, 9F20), cardholder name (5F20),
#: enciphered PIN data (99) and the C-2 Track 2 data (9F6B).
SENSITIVE_TAGS = frozenset({0x5A, 0x57, 0x56, 0x9F1F, 0x9F20, 0x5F20, 0x99, 0x9F6B})


@dataclass(frozen=True, slots=True)
class Tlv:
    """One decoded BER-TLV data object.

    ``offset`` is the position of the tag's first byte in the outermost buffer that was
    decoded. ``value_offset`` is where the value starts in that buffer; it is filled in by
    the decoder (so that :meth:`children` reports exact offsets even for a long-form
    length such as ``81 05``) and is derived from the minimal encoding when left out.
    It takes no part in equality.

    >>> fci = decode_one(bytes.fromhex("6F078405A000000004"))
    >>> fci.constructed, [hex(c.tag) for c in fci.children()], fci.children()[0].offset
    (True, ['0x84'], 2)
    >>> Tlv(0x9F36, b"\\x00\\x2A").encode().hex().upper()
    '9F3602002A'
    """

    tag: int
    value: bytes
    offset: int = 0
    value_offset: int | None = field(default=None, compare=False, repr=False)

    @property
    def constructed(self) -> bool:
        """Whether b6 of the first tag byte is set (Book 3 Annex B1)."""
        return is_constructed(self.tag)

    def children(self) -> list[Tlv]:
        """Decode the value one level down, with offsets into the outermost buffer.

        Raises :class:`~emvcore.errors.TlvError` if this object is primitive.
        """
        if not self.constructed:
            raise TlvError(
                "primitive data object has no children", tag=self.tag, offset=self.offset
            )
        start = self.value_offset
        if start is None:
            start = self.offset + len(tag_to_bytes(self.tag)) + len(_length_field(len(self.value)))
        return decode(self.value, base_offset=start)

    def encode(self) -> bytes:
        """Encode this object with a minimal length field."""
        return encode(self.tag, self.value)

    def __repr__(self) -> str:
        """Like the dataclass repr, but the values of :data:`SENSITIVE_TAGS` are redacted.

        >>> Tlv(0x5A, bytes.fromhex("4895370012345671"), 4)
        Tlv(tag=0x5A, value=<8 bytes redacted>, offset=4)
        """
        value = (
            f"<{len(self.value)} bytes redacted>"
            if self.tag in SENSITIVE_TAGS
            else repr(self.value)
        )
        return f"Tlv(tag=0x{self.tag:02X}, value={value}, offset={self.offset})"


def is_constructed(tag: int) -> bool:
    """Whether ``tag`` denotes a constructed object (b6 of its first byte, Annex B1).

    >>> is_constructed(0x6F), is_constructed(0xBF0C), is_constructed(0x9F02)
    (True, True, False)
    """
    if tag <= 0:
        raise TlvError(f"tag {tag} is not a positive integer")
    return bool((tag >> (((tag.bit_length() - 1) >> 3) << 3)) & 0x20)


def tag_to_bytes(tag: int) -> bytes:
    """The encoded bytes of ``tag``, after checking it is a well-formed BER tag (Annex B1).

    >>> tag_to_bytes(0x9F02).hex().upper(), tag_to_bytes(0xDF8101).hex().upper()
    ('9F02', 'DF8101')
    >>> tag_to_bytes(0x9F)
    Traceback (most recent call last):
    ...
    emvcore.errors.TlvError: tag 9F announces subsequent bytes but has none
    """
    if tag <= 0 or tag.bit_length() > 8 * _MAX_TAG_BYTES:
        raise TlvError(f"tag {tag:#x} is not a one- to four-byte BER tag")
    raw = tag.to_bytes((tag.bit_length() + 7) >> 3, "big")
    if raw[0] & 0x1F != 0x1F:
        if len(raw) != 1:
            raise TlvError(f"tag {tag:X} continues although its first byte has b5-b1 not all set")
        return raw
    if len(raw) == 1:
        raise TlvError(f"tag {tag:X} announces subsequent bytes but has none")
    for position, byte in enumerate(raw[1:], start=2):
        last = position == len(raw)
        if bool(byte & 0x80) == last:
            reason = (
                "b8 set on its last byte" if last else f"b8 clear on byte {position} of {len(raw)}"
            )
            raise TlvError(f"tag {tag:X} is malformed: {reason}")
    return raw


def _length_field(length: int) -> bytes:
    if length < 0x80:
        return bytes((length,))
    if length <= 0xFF:
        return bytes((0x81, length))
    if length <= MAX_ENCODED_VALUE_LENGTH:
        return bytes((0x82, length >> 8, length & 0xFF))
    raise TlvError(f"value of {length} bytes exceeds the {MAX_ENCODED_VALUE_LENGTH} supported")


# A located object: (tag, start of tag, start of value, end of value), all indexes into
# the outermost buffer. The scanners below work on these so that flatten() and find()
# copy only the values they return.
_Span = tuple[int, int, int, int]


def _read_span(data: bytes, pos: int, end: int, base: int = 0) -> _Span:
    """Locate the object whose tag starts at ``data[pos]``, within ``data[:end]``.

    ``base`` is added to the offset of any error raised.
    """
    start = pos
    byte = data[pos]
    tag = byte
    pos += 1
    if byte & 0x1F == 0x1F:
        while True:
            if pos >= end:
                raise TlvTruncatedError("data ends inside a tag", offset=base + start)
            byte = data[pos]
            pos += 1
            tag = (tag << 8) | byte
            if not byte & 0x80:
                break
            if pos - start >= _MAX_TAG_BYTES:
                raise TlvError(f"tag longer than {_MAX_TAG_BYTES} bytes", offset=base + start)
    if pos >= end:
        raise TlvTruncatedError("data ends before the length", tag=tag, offset=base + start)
    length = data[pos]
    pos += 1
    if length & 0x80:
        count = length & 0x7F
        if count == 0:
            raise TlvLengthError(
                "indefinite length '80' is not allowed", tag=tag, offset=base + start
            )
        if count > 3:
            raise TlvLengthError(
                f"length field '{length:02X}' announces {count} length bytes, at most 3 allowed",
                tag=tag,
                offset=base + start,
            )
        if pos + count > end:
            raise TlvTruncatedError("data ends inside the length", tag=tag, offset=base + start)
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    value_end = pos + length
    if value_end > end:
        raise TlvTruncatedError(
            f"value of {length} bytes declared, {end - pos} present", tag=tag, offset=base + start
        )
    return tag, start, pos, value_end


def _scan(data: bytes, pos: int, end: int, base: int = 0) -> list[_Span]:
    """Locate the objects of ``data[pos:end]``, one level deep, skipping '00' padding."""
    spans: list[_Span] = []
    while pos < end:
        if data[pos] == 0:
            pos += 1
            continue
        span = _read_span(data, pos, end, base)
        spans.append(span)
        pos = span[3]
    return spans


def decode(data: bytes, *, base_offset: int = 0) -> list[Tlv]:
    """Decode the data objects of ``data``, one level deep (Book 3 Annex B).

    ``00`` padding before, between and after objects is skipped. The buffer must be
    consumed exactly; ``base_offset`` is added to every reported offset (used when
    ``data`` is the value of an enclosing object).

    >>> [(hex(o.tag), o.value.hex()) for o in decode(bytes.fromhex("00 5F2A020978 00 9C0100 00"))]
    [('0x5f2a', '0978'), ('0x9c', '00')]
    >>> decode(bytes.fromhex("9F"))
    Traceback (most recent call last):
    ...
    emvcore.errors.TlvTruncatedError: data ends inside a tag (offset 0)
    """
    if type(data) is not bytes:
        data = bytes(data)
    spans = _scan(data, 0, len(data), base_offset)
    return [
        Tlv(tag, data[value_start:value_end], base_offset + start, base_offset + value_start)
        for tag, start, value_start, value_end in spans
    ]


def decode_one(data: bytes) -> Tlv:
    """Decode a buffer that must hold exactly one data object and nothing else.

    Use it for a response that is one template (FCI ``6F``, ``77``, ``70``). No ``00``
    padding is allowed around the object (Annex B allows padding inside templates only).

    >>> decode_one(bytes.fromhex("9F3602002A")).value.hex()
    '002a'
    >>> decode_one(bytes.fromhex("9F3602002A9000"))
    Traceback (most recent call last):
    ...
    emvcore.errors.TlvTrailingDataError: 2 bytes after the data object (tag 9F36, offset 5)
    """
    if type(data) is not bytes:
        data = bytes(data)
    if not data:
        raise TlvTruncatedError("no data object: the buffer is empty", offset=0)
    if data[0] == 0:
        raise TlvError("expected a data object, found padding byte '00'", offset=0)
    tag, _, value_start, value_end = _read_span(data, 0, len(data))
    if value_end != len(data):
        raise TlvTrailingDataError(
            f"{len(data) - value_end} bytes after the data object", tag=tag, offset=value_end
        )
    return Tlv(tag, data[value_start:value_end], 0, value_start)


def _walk_spans(data: bytes) -> Iterator[_Span]:
    """Every object of ``data`` at every depth, depth first, as spans."""
    stack: list[Iterator[_Span]] = [iter(_scan(data, 0, len(data)))]
    while stack:
        for span in stack[-1]:
            yield span
            if data[span[1]] & 0x20:  # constructed: b6 of the first tag byte
                children = _scan(data, span[2], span[3])
                if children:
                    if len(stack) >= MAX_DEPTH:
                        raise TlvError(
                            f"data objects nested deeper than {MAX_DEPTH} levels",
                            tag=children[0][0],
                            offset=children[0][1],
                        )
                    stack.append(iter(children))
                    break
        else:
            stack.pop()


def walk(data: bytes) -> Iterator[Tlv]:
    """Every data object at every depth, depth first, constructed ones included.

    Objects come in document order: a constructed object, then its contents. Nesting
    deeper than :data:`MAX_DEPTH` raises :class:`~emvcore.errors.TlvError`.

    >>> [hex(o.tag) for o in walk(bytes.fromhex("6F0A8401AAA5055003414243"))]
    ['0x6f', '0x84', '0xa5', '0x50']
    """
    if type(data) is not bytes:
        data = bytes(data)
    for tag, start, value_start, value_end in _walk_spans(data):
        yield Tlv(tag, data[value_start:value_end], start, value_start)


def flatten(data: bytes, *, unique: bool = True) -> dict[int, bytes]:
    """Primitive data objects at every depth, as ``{tag: value}``.

    With ``unique`` (the default) a primitive tag seen twice raises
    :class:`~emvcore.errors.TlvDuplicateTagError` at its second occurrence (EMV requires
    tags in a response to be unique, Book 3 Annex B); otherwise the first value wins.

    >>> {hex(t): v.hex() for t, v in flatten(bytes.fromhex("7709 9F3602002A 9F270180")).items()}
    {'0x9f36': '002a', '0x9f27': '80'}
    """
    if type(data) is not bytes:
        data = bytes(data)
    out: dict[int, bytes] = {}
    for tag, start, value_start, value_end in _walk_spans(data):
        if data[start] & 0x20:
            continue
        if tag in out:
            if unique:
                raise TlvDuplicateTagError(
                    "primitive tag occurs more than once", tag=tag, offset=start
                )
            continue
        out[tag] = data[value_start:value_end]
    return out


def find(data: bytes, tag: int) -> bytes | None:
    """The value of the first object with ``tag`` at any depth, or ``None``.

    A constructed object's value is returned whole, still encoded.

    >>> find(bytes.fromhex("6F0A8401AAA5055003414243"), 0x50)
    b'ABC'
    >>> find(b"", 0x50) is None
    True
    """
    if type(data) is not bytes:
        data = bytes(data)
    for found, _, value_start, value_end in _walk_spans(data):
        if found == tag:
            return data[value_start:value_end]
    return None


def encode(tag: int, value: bytes) -> bytes:
    """Encode one data object with the shortest length field (Annex B2).

    >>> encode(0x9F02, bytes.fromhex("000000001000")).hex().upper()
    '9F0206000000001000'
    >>> encode(0x70, bytes(200))[:3].hex().upper()
    '7081C8'
    """
    value = bytes(value)
    try:
        length = _length_field(len(value))
    except TlvError as exc:
        raise TlvError(str(exc), tag=tag) from None
    return tag_to_bytes(tag) + length + value


def encode_many(items: Iterable[tuple[int, bytes]] | Mapping[int, bytes]) -> bytes:
    """Encode several data objects one after another, in the order given.

    >>> encode_many({0x9F02: bytes(6), 0x5F2A: b"\\x09\\x78"}).hex().upper()
    '9F02060000000000005F2A020978'
    >>> encode_many([(0x82, b"\\x19\\x80"), (0x94, bytes.fromhex("08010100"))]).hex().upper()
    '82021980940408010100'
    """
    pairs = items.items() if isinstance(items, Mapping) else items
    return b"".join(encode(tag, value) for tag, value in pairs)

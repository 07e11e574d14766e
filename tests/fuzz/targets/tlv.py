"""Fuzz target: BER-TLV (emvcore.tlv, EMV Book 3 Annex B).

Properties, for any input:

- :func:`~emvcore.tlv.decode`, :func:`~emvcore.tlv.decode_one`, :func:`~emvcore.tlv.walk`,
  :func:`~emvcore.tlv.flatten` and :func:`~emvcore.tlv.find` raise nothing but
  :class:`~emvcore.errors.TlvError`;
- every decoded object's ``offset``/``value_offset`` point at its tag and value in the input;
- decode -> encode -> decode gives the same objects, and encoding is canonical (the second
  encoding equals the first);
- ``flatten`` holds exactly the first value of each primitive tag that ``walk`` yields, and
  ``find`` agrees with ``walk``;
- a constructed object's children decode with offsets inside their parent.
"""

from __future__ import annotations

from emvcore import tlv
from emvcore.errors import TlvError
from tests.fuzz.properties import check

MAX_LEN = 4096


def _objects(data: bytes) -> list[tlv.Tlv] | None:
    try:
        return tlv.decode(data)
    except TlvError:
        return None


def _check_located(data: bytes, objects: list[tlv.Tlv]) -> None:
    for obj in objects:
        tag = tlv.tag_to_bytes(obj.tag)
        check(data[obj.offset : obj.offset + len(tag)] == tag, f"tag of {obj.tag:X} not at offset")
        start = obj.value_offset
        check(start is not None, "decoded object without value_offset")
        assert start is not None
        check(data[start : start + len(obj.value)] == obj.value, "value not at value_offset")


def _check_round_trip(objects: list[tlv.Tlv]) -> None:
    if any(len(o.value) > tlv.MAX_ENCODED_VALUE_LENGTH for o in objects):
        return
    encoded = tlv.encode_many((o.tag, o.value) for o in objects)
    again = tlv.decode(encoded)
    check(
        [(o.tag, o.value) for o in again] == [(o.tag, o.value) for o in objects],
        "decode(encode(decode(x))) differs from decode(x)",
    )
    check(tlv.encode_many((o.tag, o.value) for o in again) == encoded, "encoding not canonical")


def _check_children(objects: list[tlv.Tlv]) -> None:
    for obj in objects:
        if not obj.constructed:
            continue
        try:
            children = obj.children()
        except TlvError:
            continue
        start = obj.value_offset or 0
        for child in children:
            check(start <= child.offset < start + len(obj.value), "child offset outside its parent")


def _check_walk(data: bytes) -> None:
    try:
        walked = list(tlv.walk(data))
    except TlvError:
        walked = None
    try:
        flat: dict[int, bytes] | None = tlv.flatten(data, unique=False)
    except TlvError:
        flat = None
    check((walked is None) == (flat is None), "walk and flatten disagree on validity")
    if walked is None or flat is None:
        return
    first: dict[int, bytes] = {}
    for obj in walked:
        if not obj.constructed:
            first.setdefault(obj.tag, obj.value)
    check(first == flat, "flatten(unique=False) differs from the primitives walk yields")
    if walked:
        check(tlv.find(data, walked[-1].tag) is not None, "find misses a tag walk yields")
        check(tlv.find(data, walked[0].tag) == walked[0].value, "find and walk disagree")
    try:
        unique = tlv.flatten(data)
    except TlvError:
        return
    check(unique == flat, "flatten(unique=True) differs where no tag repeats")


def one_input(data: bytes) -> None:
    """Decode ``data`` every way emvcore offers and check the properties above."""
    objects = _objects(data)
    if objects is not None:
        _check_located(data, objects)
        _check_round_trip(objects)
        _check_children(objects)
    try:
        one = tlv.decode_one(data)
    except TlvError:
        pass
    else:
        check(tlv.decode_one(one.encode()) == one, "decode_one(encode(x)) differs")
    _check_walk(data)

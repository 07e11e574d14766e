"""The numeric data formats n and cn (EMV Book 3 section 4.3 and Annex A).

* **n** (numeric): decimal digits packed two to a byte (BCD), right-justified and padded
  with leading zero nibbles. Amounts (``9F02``), dates (``9A``) and currency codes
  (``5F2A``) are n.
* **cn** (compressed numeric): BCD left-justified, padded with trailing ``F`` nibbles.
  The PAN (``5A``) is cn.

Only ASCII digits ``0``-``9`` are accepted; anything else raises
:class:`~emvcore.errors.EncodingError`. Messages give the position of a bad digit or
nibble, never the value, because these fields carry PANs.

>>> encode_n(1000, 6).hex()
'000000001000'
>>> decode_n(bytes.fromhex("000000001000"))
1000
>>> encode_cn("5413339000001513").hex().upper()
'5413339000001513'
>>> decode_cn(bytes.fromhex("123FFF"))
'123'
"""

from __future__ import annotations

from emvcore.errors import EncodingError

__all__ = ["decode_cn", "decode_n", "encode_cn", "encode_n"]

_DIGITS = frozenset("0123456789")


def _check_digits(digits: str, what: str) -> None:
    for position, char in enumerate(digits):
        if char not in _DIGITS:
            raise EncodingError(f"{what}: character {position + 1} is not a digit 0-9")


def encode_n(value: int | str, length: int) -> bytes:
    """Encode ``value`` in format n over ``length`` bytes (right-justified BCD).

    ``value`` is a non-negative integer or a string of digits; a string may carry
    leading zeros but must fit in ``2 * length`` digits.

    >>> encode_n(978, 2).hex(), encode_n("250131", 3).hex()
    ('0978', '250131')
    >>> encode_n(12345, 2)
    Traceback (most recent call last):
    ...
    emvcore.errors.EncodingError: format n: 5 digits do not fit in 2 bytes
    """
    if length < 0:
        raise EncodingError(f"format n: negative length {length}")
    if isinstance(value, int):
        if value < 0:
            raise EncodingError("format n: negative values cannot be encoded")
        digits = str(value) if value else ""
    else:
        digits = value
        _check_digits(digits, "format n")
    if len(digits) > 2 * length:
        raise EncodingError(f"format n: {len(digits)} digits do not fit in {length} bytes")
    return bytes.fromhex(digits.rjust(2 * length, "0"))


def decode_n(data: bytes) -> int:
    """Decode format n BCD into an integer (empty data is 0).

    >>> decode_n(bytes.fromhex("0978"))
    978
    >>> decode_n(bytes.fromhex("09A8"))
    Traceback (most recent call last):
    ...
    emvcore.errors.EncodingError: format n: byte 2 is not BCD
    """
    text = bytes(data).hex()
    if not text:
        return 0
    if not text.isdigit():
        for index in range(len(data)):
            if not text[2 * index : 2 * index + 2].isdigit():
                raise EncodingError(f"format n: byte {index + 1} is not BCD")
    return int(text)


def encode_cn(digits: str, length: int | None = None) -> bytes:
    """Encode ``digits`` in format cn: left-justified BCD, trailing ``F`` nibbles.

    Without ``length`` the result is as short as possible (an odd count of digits gets
    one ``F``); with it, the result is exactly ``length`` bytes.

    >>> encode_cn("12345").hex().upper(), encode_cn("1234", 4).hex().upper()
    ('12345F', '1234FFFF')
    """
    _check_digits(digits, "format cn")
    if length is None:
        length = (len(digits) + 1) // 2
    elif length < 0:
        raise EncodingError(f"format cn: negative length {length}")
    if len(digits) > 2 * length:
        raise EncodingError(f"format cn: {len(digits)} digits do not fit in {length} bytes")
    return bytes.fromhex(digits.ljust(2 * length, "F"))


def decode_cn(data: bytes) -> str:
    """Decode format cn: the digits up to the first ``F`` nibble.

    Every nibble after the first ``F`` must be ``F`` too; ``A``-``E`` anywhere raise
    :class:`~emvcore.errors.EncodingError`.

    >>> decode_cn(bytes.fromhex("5413339000001513")), decode_cn(bytes.fromhex("12345F"))
    ('5413339000001513', '12345')
    >>> decode_cn(bytes.fromhex("12F4"))
    Traceback (most recent call last):
    ...
    emvcore.errors.EncodingError: format cn: nibble 4 follows the 'F' padding but is not 'F'
    """
    text = bytes(data).hex().upper()
    digits_end = text.find("F")
    if digits_end < 0:
        digits_end = len(text)
    digits = text[:digits_end]
    if not digits.isdigit() and digits:
        for position, char in enumerate(digits):
            if char not in _DIGITS:
                raise EncodingError(f"format cn: nibble {position + 1} is '{char}', not a digit")
    for position in range(digits_end, len(text)):
        if text[position] != "F":
            raise EncodingError(
                f"format cn: nibble {position + 1} follows the 'F' padding but is not 'F'"
            )
    return digits

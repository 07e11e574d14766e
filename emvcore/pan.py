"""Primary account numbers: the Luhn check digit, masking, and Track 2 Equivalent Data.

* The PAN's last digit is a Luhn (mod 10) check digit (ISO/IEC 7812-1 Annex B).
* Masked PANs show at most the first six and the last four digits (PCI DSS 3.4);
  logs and the ledger carry only masked PANs.
* Track 2 Equivalent Data (tag ``57``, EMV Book 3 Annex A) is the magnetic stripe's
  track 2 in BCD nibbles: PAN, separator ``D``, expiry ``YYMM``, service code,
  discretionary data, and one ``F`` nibble if needed to fill the last byte.

No error message or ``repr`` here contains a full PAN.

>>> is_luhn_valid("4111111111111111"), mask_pan("4111111111111111")
(True, '411111******1111')
>>> parse_track2(bytes.fromhex("4111111111111111D28122011234567F"))
Track2(pan='411111******1111', expiry='2812', service_code='201', discretionary=<7 digits>)
"""

from __future__ import annotations

from dataclasses import dataclass

from emvcore.errors import EncodingError

__all__ = [
    "Track2",
    "encode_track2",
    "is_luhn_valid",
    "luhn_check_digit",
    "mask_pan",
    "parse_track2",
]

_DIGITS = frozenset("0123456789")
_MAX_PAN_DIGITS = 19
_MAX_TRACK2_BYTES = 19  # tag 57 is "b, var. up to 19" (Book 3 Annex A)


def _is_digits(text: str) -> bool:
    return all(char in _DIGITS for char in text)


def _luhn_sum(digits: str, double_first: bool) -> int:
    """Sum of the Luhn weights of ``digits`` read right to left."""
    total = 0
    double = double_first
    for char in reversed(digits):
        digit = ord(char) - 48
        if double:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
        double = not double
    return total


def luhn_check_digit(partial: str) -> str:
    """The Luhn check digit completing ``partial`` (a PAN without its last digit).

    >>> luhn_check_digit("411111111111111"), luhn_check_digit("541333900000151")
    ('1', '3')
    """
    if not _is_digits(partial):
        raise EncodingError("Luhn check digit: the account number must be digits 0-9 only")
    return str(-_luhn_sum(partial, double_first=True) % 10)


def is_luhn_valid(pan: str) -> bool:
    """Whether ``pan`` (digits only, at least two) ends in a correct Luhn check digit.

    >>> is_luhn_valid("5413339000001513"), is_luhn_valid("5413339000001514")
    (True, False)
    """
    if len(pan) < 2 or not _is_digits(pan):
        return False
    return _luhn_sum(pan, double_first=False) % 10 == 0


def mask_pan(pan: str) -> str:
    """Mask ``pan`` for display and logs: first six and last four characters visible.

    PANs shorter than 13 digits show only their last four, and anything of four
    characters or fewer is masked entirely, so at least a third of the digits stay hidden.

    >>> mask_pan("5413339000001513"), mask_pan("123456789012"), mask_pan("1234")
    ('541333******1513', '********9012', '****')
    """
    if len(pan) >= 13:
        return pan[:6] + "*" * (len(pan) - 10) + pan[-4:]
    if len(pan) > 4:
        return "*" * (len(pan) - 4) + pan[-4:]
    return "*" * len(pan)


@dataclass(frozen=True, slots=True, repr=False)
class Track2:
    """The fields of Track 2 Equivalent Data, as digit strings.

    ``expiry`` is ``YYMM``. The ``repr`` masks the PAN and hides the discretionary
    data (it can hold card verification values), so a stray log line leaks nothing.
    """

    pan: str
    expiry: str
    service_code: str
    discretionary: str

    def __repr__(self) -> str:
        return (
            f"Track2(pan={mask_pan(self.pan)!r}, expiry={self.expiry!r}, "
            f"service_code={self.service_code!r}, discretionary=<{len(self.discretionary)} digits>)"
        )


def parse_track2(data: bytes) -> Track2:
    """Parse Track 2 Equivalent Data (tag ``57``).

    Raises :class:`~emvcore.errors.EncodingError`, naming the field and nibble position
    but never the digits, when the separator is missing, a field is not digits, the
    PAN is longer than 19 digits or the data is longer than 19 bytes.

    >>> t2 = parse_track2(bytes.fromhex("5413339000001513D2512201000000000F"))
    >>> t2.expiry, t2.service_code, t2.discretionary, is_luhn_valid(t2.pan)
    ('2512', '201', '000000000', True)
    >>> parse_track2(bytes.fromhex("5413339000001513"))
    Traceback (most recent call last):
    ...
    emvcore.errors.EncodingError: Track 2: no 'D' separator after the PAN
    """
    data = bytes(data)
    if len(data) > _MAX_TRACK2_BYTES:
        raise EncodingError(f"Track 2: {len(data)} bytes, at most {_MAX_TRACK2_BYTES} allowed")
    text = data.hex().upper()
    if text.endswith("F"):
        text = text[:-1]
    separator = text.find("D")
    if separator < 0:
        raise EncodingError("Track 2: no 'D' separator after the PAN")
    pan, rest = text[:separator], text[separator + 1 :]
    if not pan or len(pan) > _MAX_PAN_DIGITS:
        raise EncodingError(f"Track 2: PAN field has {len(pan)} digits, expected 1 to 19")
    for position, char in enumerate(text):
        if position != separator and char not in _DIGITS:
            raise EncodingError(f"Track 2: nibble {position + 1} is '{char}', not a digit")
    if len(rest) < 7:
        raise EncodingError(
            f"Track 2: {len(rest)} digits after the separator, expiry and service code need 7"
        )
    return Track2(pan, rest[:4], rest[4:7], rest[7:])


def encode_track2(
    pan: str, expiry: str, service_code: str = "201", discretionary: str = ""
) -> bytes:
    """Encode Track 2 Equivalent Data (tag ``57``), padding with one ``F`` if needed.

    >>> encode_track2("4111111111111111", "2812", "201", "1234567").hex().upper()
    '4111111111111111D28122011234567F'
    """
    fields = (
        ("PAN", pan, 1, _MAX_PAN_DIGITS),
        ("expiry", expiry, 4, 4),
        ("service code", service_code, 3, 3),
        ("discretionary data", discretionary, 0, 2 * _MAX_TRACK2_BYTES),
    )
    for field_name, digits, shortest, longest in fields:
        if not _is_digits(digits):
            raise EncodingError(f"Track 2: the {field_name} must be digits 0-9 only")
        if not shortest <= len(digits) <= longest:
            raise EncodingError(
                f"Track 2: the {field_name} has {len(digits)} digits, expected "
                + (str(shortest) if shortest == longest else f"{shortest} to {longest}")
            )
    text = f"{pan}D{expiry}{service_code}{discretionary}"
    if len(text) % 2:
        text += "F"
    if len(text) > 2 * _MAX_TRACK2_BYTES:
        raise EncodingError(f"Track 2: {len(text) // 2} bytes, at most {_MAX_TRACK2_BYTES} allowed")
    return bytes.fromhex(text)

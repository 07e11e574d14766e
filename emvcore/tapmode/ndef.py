"""The NDEF message in a Tap! tag: the link, the wallet to open, or nothing to pay.

NFC Forum NDEF 1.0 records, encoded and decoded with ndeflib (the library nfcpy itself
uses). A payable tag holds exactly, in this order:

1. a URI record (NFC Forum URI RTD 1.0, TNF 1 type ``U``) with the tag link
   (:mod:`emvcore.tapmode.link`), its ``https://`` abbreviated to prefix code 04;
2. an Android Application Record (TNF 4, external type ``android.com:pkg``, the payload
   the package name in ASCII), so an Android phone opens the wallet app even when it was
   not running; a phone without it follows the URI.

**Idle** (no payable session) is the NFC Forum *empty* message: one record of TNF 0
(``D0 00 00``, NDEF 1.0 section 3.2.6), NLEN 3. The tag stays a valid read-only Type 4
Tag (its READ-ONLY state has NLEN > 0), a reader finds an NDEF message, and a phone finds
nothing to open: no URI, no application. A wallet also treats a zero-length message
(NLEN 0, a tag in the INITIALIZED state) as idle.

>>> uri = "https://pay.example/tap/v1/cs_0123456789ABCDEF?n=AAAAAAAAAAAAAAAA&t=T1&m=x"
>>> octets = encode_message(uri, "com.example.wallet")
>>> octets[:7].hex().upper()  # MB SR, type length 1, payload 67, "U", 04 = https://
'91014355047061'
>>> decode_message(octets) == TapMessage(uri, "com.example.wallet")
True
>>> IDLE_MESSAGE.hex().upper(), decode_message(IDLE_MESSAGE), decode_message(b"")
('D00000', None, None)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Final

import ndef

from emvcore.errors import TapMessageError

__all__ = ["AAR_TYPE", "IDLE_MESSAGE", "TapMessage", "decode_message", "encode_message"]

#: The ndeflib type of an Android Application Record (NFC Forum external type, TNF 4).
AAR_TYPE: Final = "urn:nfc:ext:android.com:pkg"
#: The NFC Forum empty NDEF message: one record, TNF 0, MB ME SR set, no type, no payload.
IDLE_MESSAGE: Final = b"".join(ndef.message_encoder([ndef.Record()]))

#: An Android package name: dot-separated Java identifiers, at least two parts.
_PACKAGE = re.compile(r"[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+")


@dataclass(frozen=True, slots=True)
class TapMessage:
    """What a payable tag says: the link and the Android package of the wallet to open."""

    uri: str
    package: str | None


def encode_message(uri: str, package: str) -> bytes:
    """The NDEF message of a payable tag: the URI record, then the AAR naming ``package``."""
    if not _PACKAGE.fullmatch(package):
        raise TapMessageError(f"{package!r} is not an Android package name")
    records = [ndef.UriRecord(uri), ndef.Record(AAR_TYPE, "", package.encode("ascii"))]
    return b"".join(ndef.message_encoder(records))


def _decode(octets: bytes) -> list[Any]:
    try:
        return list(ndef.message_decoder(octets, errors="strict"))
    except ndef.DecodeError as exc:
        raise TapMessageError(f"not an NDEF message: {exc}") from None


def decode_message(octets: bytes) -> TapMessage | None:
    """The tag's message, or ``None`` when the tag is idle (nothing to pay).

    Strict: a payable message is one URI record, then at most one Android Application
    Record; anything else (a text record, a second URI, a smart poster) is refused with
    :class:`TapMessageError`, since a wallet follows only what this module writes.
    """
    if not octets:
        return None
    records = _decode(bytes(octets))
    if len(records) == 1 and records[0].type == "" and not records[0].data:
        return None
    first, rest = records[0], records[1:]
    if not isinstance(first, ndef.UriRecord):
        raise TapMessageError(f"the first record is {first.type!r}, not a URI record")
    if len(rest) > 1 or any(record.type != AAR_TYPE for record in rest):
        raise TapMessageError("after the URI record only one Android Application Record may follow")
    package = None
    if rest:
        try:
            package = bytes(rest[0].data).decode("ascii")
        except UnicodeDecodeError:
            raise TapMessageError("the Android Application Record is not ASCII") from None
        if not _PACKAGE.fullmatch(package):
            raise TapMessageError("the Android Application Record names no package")
    # ``iri`` is the record's text as on the wire; ndeflib's ``uri`` percent-quotes the
    # query's = and &, which no link parser should see.
    return TapMessage(str(first.iri), package)

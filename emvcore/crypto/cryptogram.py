"""Application cryptograms: ARQC, TC and AAC (EMV Book 2 section 8.1).

The card computes its application cryptogram as an 8-byte MAC over the transaction
data selected by its cryptogram version, under the AC key (a session key, or the ICC
master key itself for Visa CVN 10): EMV Book 2 section 8.1.2 and Annex A1.2, ISO/IEC
9797-1 MAC algorithm 3 with DES. The issuer recomputes it to authenticate the card.
Which data, which key and which padding belong to a cryptogram version: see
:mod:`emvcore.crypto.cvn`.

    >>> sk = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> data = bytes.fromhex("000000002000 000000000000 0124 0000008000 0124 110309"
    ...                      "00 3804823E 5800 0001")
    >>> arqc = generate_ac(sk, data, Padding.METHOD_2)
    >>> arqc.hex().upper()
    '3B76CF10FECD8789'
    >>> verify_ac(sk, data, arqc, Padding.METHOD_2)
    True
"""

from __future__ import annotations

import hmac

from emvcore.crypto.mac import Padding, mac_iso9797_alg3
from emvcore.errors import CryptoError

__all__ = ["AC_LENGTH", "generate_ac", "verify_ac"]

AC_LENGTH = 8
"""Length in bytes of an application cryptogram (tag 9F26)."""


def generate_ac(key: bytes, data: bytes, padding: Padding) -> bytes:
    """The 8-byte application cryptogram over ``data`` (EMV Book 2 8.1.2, Annex A1.2).

    ``key`` is the 16-byte AC key; ``padding`` is ISO/IEC 9797-1 method 2 for EMV
    (Book 2 A1.2.1) and method 1 for Visa CVN 10.

    >>> sk = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> generate_ac(sk, bytes.fromhex("0123456789ABCDEF01"), Padding.METHOD_1).hex().upper()
    'D549B308EB818497'
    """
    return mac_iso9797_alg3(key, data, padding, AC_LENGTH)


def verify_ac(key: bytes, data: bytes, ac: bytes, padding: Padding) -> bool:
    """Whether ``ac`` is the application cryptogram over ``data``, compared in constant time.

    An ``ac`` that is not 8 bytes long is a malformed tag 9F26, reported as
    :class:`~emvcore.errors.CryptoError` rather than as a failed verification.

    >>> sk = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> verify_ac(sk, b"data", bytes(8), Padding.METHOD_2)
    False
    """
    if len(ac) != AC_LENGTH:
        raise CryptoError(f"an application cryptogram is 8 bytes long, not {len(ac)}")
    return hmac.compare_digest(generate_ac(key, data, padding), ac)

"""Authorisation response cryptograms, ARPC methods 1 and 2 (EMV Book 2 section 8.2).

The issuer answers an ARQC with an ARPC that the card checks during issuer
authentication (EMV Book 3 section 10.9), sent in Issuer Authentication Data, tag 91:

- Method 1 (Book 2 8.2.1): ``ARPC = TDES(K)[ARQC XOR (ARC || 00 00 00 00 00 00)]``,
  8 bytes, where ARC is the 2-byte Authorisation Response Code; tag 91 is
  ``ARPC || ARC``.
- Method 2 (Book 2 8.2.2): ``ARPC`` = the leftmost 4 bytes of ISO/IEC 9797-1 MAC
  algorithm 3 (padding method 2) over ``ARQC || CSU || Proprietary Authentication Data``,
  where CSU is the 4-byte Card Status Update; tag 91 is ``ARPC || CSU || [proprietary]``.

Which key ``K`` is used (a session key or the ICC master key) belongs to the cryptogram
version: see :mod:`emvcore.crypto.cvn`.

    >>> sk = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> arqc = bytes.fromhex("1234567890ABCDEF")
    >>> arpc_method_1(sk, arqc, bytes.fromhex("0000")).hex().upper()
    'F5E6F44147E2F1B0'
    >>> arpc_method_2(sk, arqc, bytes.fromhex("00000000")).hex().upper()
    '9308BEBC'
"""

from __future__ import annotations

from emvcore.crypto.mac import Padding, mac_iso9797_alg3
from emvcore.crypto.tdes import tdes_ecb_encrypt, xor
from emvcore.errors import CryptoError

__all__ = ["arpc_method_1", "arpc_method_2"]

_MAX_PROPRIETARY = 8


def _check(key: bytes, arqc: bytes) -> None:
    if len(key) != 16:
        raise CryptoError(f"the ARPC key must be 16 bytes long, not {len(key)}")
    if len(arqc) != 8:
        raise CryptoError(f"the ARQC must be 8 bytes long, not {len(arqc)}")


def arpc_method_1(key: bytes, arqc: bytes, arc: bytes) -> bytes:
    """ARPC method 1 (EMV Book 2 8.2.1): ``TDES(key)[ARQC XOR (ARC || 00*6)]``, 8 bytes.

    ``arc`` is the 2-byte Authorisation Response Code (tag 8A, e.g. ``b"00"`` as ASCII
    ``3030``, or a scheme-specific binary code).

    >>> key = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> arpc_method_1(key, bytes.fromhex("1234567890ABCDEF"), b"00").hex().upper()
    '0E609714A253574A'
    """
    _check(key, arqc)
    if len(arc) != 2:
        raise CryptoError(f"the authorisation response code must be 2 bytes, not {len(arc)}")
    return tdes_ecb_encrypt(key, xor(arqc, arc + bytes(6)))


def arpc_method_2(key: bytes, arqc: bytes, csu: bytes, proprietary: bytes = b"") -> bytes:
    """ARPC method 2 (EMV Book 2 8.2.2): 4-byte MAC over ``ARQC || CSU || proprietary``.

    ISO/IEC 9797-1 MAC algorithm 3 with padding method 2; ``csu`` is the 4-byte Card
    Status Update, ``proprietary`` the 0 to 8 bytes of Proprietary Authentication Data.

    >>> key = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> arqc = bytes.fromhex("1234567890ABCDEF")
    >>> arpc_method_2(key, arqc, bytes.fromhex("00800000"), b"\\x12\\x34").hex().upper()
    '189F2D90'
    """
    _check(key, arqc)
    if len(csu) != 4:
        raise CryptoError(f"the card status update must be 4 bytes long, not {len(csu)}")
    if len(proprietary) > _MAX_PROPRIETARY:
        raise CryptoError(
            f"proprietary authentication data is 0 to 8 bytes long, not {len(proprietary)}"
        )
    return mac_iso9797_alg3(key, arqc + csu + proprietary, Padding.METHOD_2, 4)

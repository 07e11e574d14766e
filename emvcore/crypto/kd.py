"""ICC master key derivation from an issuer master key (EMV Book 2 Annex A1.4).

A card is personalised with its own ICC master key, ``MK``, derived from the issuer
master key ``IMK`` and the card's PAN and PAN sequence number; the issuer (here, the
acquirer acting for it) re-derives ``MK`` at authorisation time. Both options encrypt a
16-digit value ``Y`` and its complement under the IMK::

    MK = adjust_parity( TDES(IMK)[Y] || TDES(IMK)[Y XOR FF..FF] )

- Option A (A1.4.1): ``Y`` is the rightmost 16 digits of ``PAN || PSN``, zero-padded on
  the left when shorter.
- Option B (A1.4.2), for PANs over 16 digits: ``Y`` is 16 decimal digits taken from the
  SHA-1 hash of ``PAN || PSN``.

PAN and PSN are decimal strings; errors never repeat them.

    >>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_icc_mk(imk, "1234567890123456").hex().upper()
    '154F349D8585CB7F6B0798E9839B10C1'
"""

from __future__ import annotations

import hashlib

from emvcore.crypto.tdes import adjust_parity, tdes_ecb_encrypt
from emvcore.errors import CryptoError

__all__ = ["derive_icc_mk", "derive_icc_mk_a", "derive_icc_mk_b"]

_MAX_PAN_DIGITS = 19  # ISO/IEC 7812-1; EMV tag 5A is cn up to 10 bytes
_OPTION_A_MAX_PAN_DIGITS = 16
_DIGITS = frozenset("0123456789")
# Option B decimalisation: hex letters a-f of the hash stand for 0-5 (A1.4.2 step 3).
_DECIMALISE_LETTERS = str.maketrans("abcdef", "012345")


def _check(imk: bytes, pan: str, psn: str) -> None:
    if len(imk) != 16:
        raise CryptoError(f"the issuer master key must be 16 bytes long, not {len(imk)}")
    if not 1 <= len(pan) <= _MAX_PAN_DIGITS or not _DIGITS.issuperset(pan):
        raise CryptoError(f"the PAN must be 1 to 19 decimal digits ({len(pan)} characters given)")
    if len(psn) != 2 or not _DIGITS.issuperset(psn):
        raise CryptoError("the PAN sequence number must be 2 decimal digits")


def _master_key(imk: bytes, y_digits: str) -> bytes:
    """``adjust_parity(TDES(IMK)[Y] || TDES(IMK)[Y XOR FF..FF])`` for 16 digits ``Y``."""
    y = bytes.fromhex(y_digits)
    not_y = bytes(0xFF ^ b for b in y)
    return adjust_parity(tdes_ecb_encrypt(imk, y + not_y))


def derive_icc_mk_a(imk: bytes, pan: str, psn: str = "00") -> bytes:
    """ICC master key derivation option A (EMV Book 2 Annex A1.4.1).

    ``Y`` is the rightmost 16 digits of ``PAN || PSN`` (left-padded with zeros when
    shorter, PSN ``00`` when the card has none). The result is 16 bytes with odd parity.

    >>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_icc_mk_a(imk, "12345678901234567", "01").hex().upper()
    '73AD54688CEF2934B0979857E3C719F1'
    """
    _check(imk, pan, psn)
    return _master_key(imk, (pan + psn)[-16:].zfill(16))


def derive_icc_mk_b(imk: bytes, pan: str, psn: str = "00") -> bytes:
    """ICC master key derivation option B (EMV Book 2 Annex A1.4.2).

    For a PAN of more than 16 digits:

    1. ``X = PAN || PSN``, with one ``0`` digit added on the left if its length is odd;
    2. ``H = SHA-1(X)`` over ``X`` packed as BCD;
    3. ``Y`` = the first 16 decimal digits of ``H`` read as hex, left to right; if there
       are fewer than 16, the hex letters of ``H`` are then taken left to right and
       decimalised (``a``..``f`` -> ``0``..``5``) until there are 16;
    4. ``MK`` is computed from ``Y`` as in option A.

    For a PAN of 16 digits or fewer option B is option A, as in pyemv and jPOS.

    >>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_icc_mk_b(imk, "12345678901234567", "01").hex().upper()
    'AD406D7F6D7570916D75E5DCAB8CF737'
    """
    _check(imk, pan, psn)
    if len(pan) <= _OPTION_A_MAX_PAN_DIGITS:
        return _master_key(imk, (pan + psn)[-16:].zfill(16))
    x = pan + psn
    if len(x) % 2:
        x = "0" + x
    # SHA-1 only compresses PAN || PSN into 16 digits; the secret is the IMK.
    digest = hashlib.sha1(bytes.fromhex(x), usedforsecurity=False).hexdigest()
    digits = "".join(c for c in digest if c in _DIGITS)
    if len(digits) < 16:
        letters = "".join(c for c in digest if c not in _DIGITS)
        digits += letters.translate(_DECIMALISE_LETTERS)
    return _master_key(imk, digits[:16])


def derive_icc_mk(imk: bytes, pan: str, psn: str = "00") -> bytes:
    """ICC master key for ``pan``: option A up to 16 digits, option B beyond (Book 2 A1.4).

    >>> imk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_icc_mk(imk, "12345678901234567", "01") == derive_icc_mk_b(
    ...     imk, "12345678901234567", "01")
    True
    """
    if len(pan) <= _OPTION_A_MAX_PAN_DIGITS:
        return derive_icc_mk_a(imk, pan, psn)
    return derive_icc_mk_b(imk, pan, psn)

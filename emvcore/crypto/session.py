"""Application cryptogram session keys (EMV Book 2 Annex A1.3, Mastercard M/Chip).

Both derivations use the EMV common session key construction (Book 2 A1.3.1) with an
8-byte diversification value ``R = R0 .. R7``::

    F1 = R0 || R1 || F0 || R3 || R4 || R5 || R6 || R7
    F2 = R0 || R1 || 0F || R3 || R4 || R5 || R6 || R7
    SK = adjust_parity( TDES(MK)[F1] || TDES(MK)[F2] )

They differ only in ``R``:

- EMV common session key (Visa CVN 18, M/Chip CVN 20/21 and others):
  ``R = ATC || 00 00 00 00 00 00``.
- Mastercard session key (M/Chip 4 and M/Chip Advance CVN 16/17, "MasterCard proprietary
  SKD"): ``R = ATC || 00 00 || UN``, so the unpredictable number enters the key.

    >>> mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_common_sk(mk, bytes.fromhex("001C")).hex().upper()
    'E9FB384AF807B940FEDCEA613461B0C4'
"""

from __future__ import annotations

from emvcore.crypto.tdes import adjust_parity, tdes_ecb_encrypt
from emvcore.errors import CryptoError

__all__ = ["derive_ac_diversified_sk", "derive_common_sk", "derive_mastercard_sk"]


def _check_master_key(icc_mk: bytes) -> None:
    if len(icc_mk) != 16:
        raise CryptoError(f"the ICC master key must be 16 bytes long, not {len(icc_mk)}")


def _check_atc(atc: bytes) -> None:
    if len(atc) != 2:
        raise CryptoError(f"the ATC (9F36) must be 2 bytes long, not {len(atc)}")


def _session_key(icc_mk: bytes, r: bytes) -> bytes:
    """The EMV common session key construction of Book 2 A1.3.1 for an 8-byte ``R``."""
    f1 = r[:2] + b"\xf0" + r[3:]
    f2 = r[:2] + b"\x0f" + r[3:]
    return adjust_parity(tdes_ecb_encrypt(icc_mk, f1 + f2))


def derive_common_sk(icc_mk: bytes, atc: bytes) -> bytes:
    """EMV common session key for the ATC (EMV Book 2 Annex A1.3.1).

    ``R = ATC || 00 00 00 00 00 00``. ``icc_mk`` is the 16-byte ICC master key and
    ``atc`` the 2-byte Application Transaction Counter (tag 9F36).

    >>> mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_common_sk(mk, bytes.fromhex("0001")).hex().upper()
    '858C34707F67D50845F8296EF19BBFFD'
    """
    _check_master_key(icc_mk)
    _check_atc(atc)
    return _session_key(icc_mk, atc + bytes(6))


def derive_mastercard_sk(icc_mk: bytes, atc: bytes, un: bytes) -> bytes:
    """Mastercard M/Chip session key: the A1.3.1 construction with ``R = ATC || 00 00 || UN``.

    This is the "Mastercard proprietary SKD" of M/Chip 4 and M/Chip Advance cryptogram
    versions 16 and 17; ``un`` is the 4-byte Unpredictable Number (tag 9F37).

    >>> mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_mastercard_sk(mk, bytes.fromhex("001C"), bytes.fromhex("ABCDEF12")) == (
    ...     derive_common_sk(mk, bytes.fromhex("001C")))
    False
    """
    _check_master_key(icc_mk)
    _check_atc(atc)
    if len(un) != 4:
        raise CryptoError(f"the unpredictable number (9F37) must be 4 bytes long, not {len(un)}")
    return _session_key(icc_mk, atc + b"\x00\x00" + un)


def derive_ac_diversified_sk(icc_mk: bytes, r: bytes) -> bytes:
    """The A1.3.1 construction for any 8-byte ``R``: the secure messaging session keys.

    Book 2 A1.3: SK_SMI and SK_SMC are derived from MK_SMI / MK_SMC with ``R`` = the
    Application Cryptogram of the transaction (:mod:`emvcore.crypto.sm`).

    >>> mk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> derive_ac_diversified_sk(mk, bytes.fromhex("0001") + bytes(6)) == (
    ...     derive_common_sk(mk, bytes.fromhex("0001")))
    True
    """
    _check_master_key(icc_mk)
    if len(r) != 8:
        raise CryptoError(f"the diversification value R must be 8 bytes long, not {len(r)}")
    return _session_key(icc_mk, r)

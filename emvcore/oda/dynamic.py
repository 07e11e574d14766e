"""Signed dynamic data: DDA, fDDA (EMV Contactless Book C-3) and CDA (EMV Book 2 6.5, 6.6).

The card signs with its ICC private key a block that, recovered with the ICC public key,
reads (Book 2 6.5.2 Table 17; for CDA 6.6.2 Table 22)::

    6A | 05 | hash alg 01 | L_DD (1) | ICC Dynamic Data (L_DD) | BB padding | hash (20) | BC

The hash is SHA-1 over the format byte through the padding, then the terminal dynamic
data. What the dynamic data hold depends on the method:

- **DDA** (Book 2 6.5): ICC Dynamic Data starts with the ICC Dynamic Number (length byte
  then 2 to 8 bytes, Table 17 note); terminal dynamic data are the DDOL values.
- **fDDA** (Book C-3, version 01): the card signs during GET PROCESSING OPTIONS; the ICC
  Dynamic Data are ``len || ICC Dynamic Number (9F4C)`` and the terminal dynamic data are
  ``UN (9F37) || Amount, Authorised (9F02) || Currency (5F2A) || Card Authentication
  Related Data (9F69)``, whose first byte is the fDDA version, ``01``.
- **CDA** (Book 2 6.6): the ICC Dynamic Data are ``len || ICC Dynamic Number || CID ||
  Application Cryptogram (8) || Transaction Data Hash Code (20)`` (6.6.1 Table 19), the
  terminal dynamic data is the Unpredictable Number, and the hash code is SHA-1 over the
  PDOL values, the CDOL1 values and the GENERATE AC response objects other than 9F4B.

Verification raises only :class:`~emvcore.errors.OdaError`; signing (emulated cards)
raises :class:`~emvcore.errors.CryptoError` on bad parameters.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.errors import CryptoError, OdaError, TlvError
from emvcore.oda import _recovery as rec
from emvcore.oda.certificates import RecoveredKey
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import modulus_bytes
from emvcore.tlv import decode

__all__ = [
    "CdaResult",
    "cda_icc_dynamic_data",
    "cda_response_data",
    "cda_transaction_data_hash",
    "fdda_icc_dynamic_data",
    "fdda_terminal_data",
    "icc_dynamic_number",
    "recover_dynamic_data",
    "sign_dynamic_data",
    "verify_cda",
]

SIGNED_DATA_FORMAT = 0x05
FDDA_VERSION = 0x01
_SDAD_TAG = 0x9F4B
#: Header, format, hash indicator, L_DD, hash and trailer: 25 bytes around the data.
_OVERHEAD = 25
_WHAT = "signed dynamic application data (9F4B)"


def sign_dynamic_data(
    icc_key: rsa.RSAPrivateKey, icc_dynamic_data: bytes, terminal_dynamic_data: bytes
) -> bytes:
    """The Signed Dynamic Application Data (9F4B) over the two dynamic data (Book 2 6.5.1).

    ``icc_dynamic_data`` may be up to ``N_IC - 25`` bytes; the rest is ``BB`` padding.
    """
    room = len(modulus_bytes(icc_key)) - _OVERHEAD
    if len(icc_dynamic_data) > room:
        raise CryptoError(f"ICC dynamic data of {len(icc_dynamic_data)} bytes exceed {room}")
    body = bytes([SIGNED_DATA_FORMAT, rec.SHA1, len(icc_dynamic_data)]) + icc_dynamic_data
    body += bytes([rec.PAD]) * (room - len(icc_dynamic_data))
    return rec.sign(icc_key, body, terminal_dynamic_data)


def _open(icc: RecoveredKey, sdad: bytes | None) -> tuple[bytes, bytes]:
    """Steps 1 to 4 of Book 2 6.5.2 / 6.6.2: the block and the ICC Dynamic Data."""
    if sdad is None or not sdad:
        raise OdaError(OdaFailure.SDAD_MISSING, f"{_WHAT} is missing")
    if len(icc.modulus) < _OVERHEAD + 1:
        raise OdaError(OdaFailure.SDAD_FORMAT, "the ICC key is too short to sign dynamic data")
    block = rec.recover(sdad, icc.modulus, icc.exponent, OdaFailure.SDAD_FORMAT, _WHAT)
    if block[1] != SIGNED_DATA_FORMAT:
        raise OdaError(OdaFailure.SDAD_FORMAT, f"{_WHAT}: format is {block[1]:02X}, not 05")
    if block[2] != rec.SHA1:
        raise OdaError(OdaFailure.SDAD_FORMAT, f"{_WHAT}: unknown hash algorithm {block[2]:02X}")
    length = block[3]
    if length > len(block) - _OVERHEAD:
        raise OdaError(
            OdaFailure.SDAD_FORMAT, f"{_WHAT}: ICC dynamic data length {length} too long"
        )
    return block, block[4 : 4 + length]


def recover_dynamic_data(
    icc: RecoveredKey, sdad: bytes | None, terminal_dynamic_data: bytes
) -> bytes:
    """Verify a DDA or fDDA signature (Book 2 6.5.2 steps 1-7) and return the ICC Dynamic Data.

    ``terminal_dynamic_data`` are the DDOL values for DDA, :func:`fdda_terminal_data`
    for fDDA. Read the ICC Dynamic Number from the result with :func:`icc_dynamic_number`.
    """
    block, icc_dynamic_data = _open(icc, sdad)
    rec.check_hash(block, terminal_dynamic_data, OdaFailure.SDAD_HASH, _WHAT)
    return icc_dynamic_data


def icc_dynamic_number(icc_dynamic_data: bytes) -> bytes:
    """The ICC Dynamic Number (9F4C) at the start of ICC Dynamic Data: length, 2-8 bytes.

    >>> icc_dynamic_number(bytes.fromhex("021234")).hex()
    '1234'
    """
    if not icc_dynamic_data or not 2 <= icc_dynamic_data[0] <= 8:
        raise OdaError(OdaFailure.SDAD_FORMAT, "the ICC Dynamic Number length is not 2 to 8")
    length = icc_dynamic_data[0]
    if len(icc_dynamic_data) < 1 + length:
        raise OdaError(
            OdaFailure.SDAD_FORMAT, "the ICC Dynamic Data end inside the ICC Dynamic Number"
        )
    return icc_dynamic_data[1 : 1 + length]


def fdda_terminal_data(
    *,
    unpredictable_number: bytes,
    amount: bytes,
    currency: bytes,
    card_authentication_related_data: bytes,
) -> bytes:
    """Terminal dynamic data for fDDA version 01 (Book C-3): 9F37 || 9F02 || 5F2A || 9F69.

    Wrong lengths of the terminal's own values raise CryptoError; a Card Authentication
    Related Data that is not 5 to 16 bytes of fDDA version ``01`` raises
    ``OdaError(SDAD_FORMAT)``.

    >>> fdda_terminal_data(unpredictable_number=bytes.fromhex("01020304"),
    ...     amount=bytes.fromhex("000000001000"), currency=bytes.fromhex("0978"),
    ...     card_authentication_related_data=bytes.fromhex("01A1B2C3D40000")).hex().upper()
    '01020304000000001000097801A1B2C3D40000'
    """
    if len(unpredictable_number) != 4 or len(amount) != 6 or len(currency) != 2:
        raise CryptoError("fDDA needs a 4-byte UN, a 6-byte amount and a 2-byte currency code")
    data = card_authentication_related_data
    if not 5 <= len(data) <= 16 or data[0] != FDDA_VERSION:
        raise OdaError(
            OdaFailure.SDAD_FORMAT, "Card Authentication Related Data (9F69) is not fDDA version 01"
        )
    return bytes(unpredictable_number) + bytes(amount) + bytes(currency) + bytes(data)


def fdda_icc_dynamic_data(icc_dynamic_number: bytes) -> bytes:
    """ICC Dynamic Data for fDDA: ``len || ICC Dynamic Number`` (Book 2 Table 17 note).

    >>> fdda_icc_dynamic_data(bytes.fromhex("1234")).hex()
    '021234'
    """
    if not 2 <= len(icc_dynamic_number) <= 8:
        raise CryptoError(f"an ICC Dynamic Number is 2 to 8 bytes, not {len(icc_dynamic_number)}")
    return bytes([len(icc_dynamic_number)]) + icc_dynamic_number


def cda_transaction_data_hash(
    pdol_data: bytes, cdol1_data: bytes, response_without_sdad: bytes
) -> bytes:
    """The Transaction Data Hash Code (Book 2 6.6.1): SHA-1(PDOL || CDOL1 || response).

    ``response_without_sdad`` are the GENERATE AC response objects (tag, length, value),
    in the order received, without 9F4B: see :func:`cda_response_data`.
    """
    return rec.sha1(bytes(pdol_data) + bytes(cdol1_data) + bytes(response_without_sdad))


def cda_response_data(template_value: bytes) -> bytes:
    """The objects of a GENERATE AC response template (77) except 9F4B, as received.

    >>> cda_response_data(bytes.fromhex("9F2701809F4B02ABCD9F360200 01")).hex().upper()
    '9F2701809F36020001'
    """
    try:
        objects = decode(bytes(template_value))
    except TlvError as exc:
        raise OdaError(OdaFailure.SDAD_FORMAT, f"GENERATE AC response: {exc}") from None
    return b"".join(
        template_value[obj.offset : (obj.value_offset or 0) + len(obj.value)]
        for obj in objects
        if obj.tag != _SDAD_TAG
    )


def cda_icc_dynamic_data(
    *, icc_dynamic_number: bytes, cid: int, ac: bytes, transaction_data_hash: bytes
) -> bytes:
    """ICC Dynamic Data for CDA (Book 2 6.6.1 Table 19): len || IDN || CID || AC || TDHC."""
    if not 0 <= cid <= 0xFF or len(ac) != 8 or len(transaction_data_hash) != 20:
        raise CryptoError("CDA needs a one-byte CID, an 8-byte AC and a 20-byte hash code")
    return fdda_icc_dynamic_data(icc_dynamic_number) + bytes([cid]) + ac + transaction_data_hash


@dataclass(frozen=True, slots=True)
class CdaResult:
    """What a verified CDA signature vouches for: the card's dynamic number, CID and AC."""

    icc_dynamic_number: bytes
    cid: int
    ac: bytes


def verify_cda(
    icc: RecoveredKey,
    sdad: bytes | None,
    *,
    unpredictable_number: bytes,
    cid: int,
    transaction_data_hash: bytes,
) -> CdaResult:
    """Verify a CDA signature (Book 2 6.6.2 steps 1-9) and return the AC the card signed.

    ``cid`` is the Cryptogram Information Data (9F27) returned in the GENERATE AC
    response and ``transaction_data_hash`` the terminal's :func:`cda_transaction_data_hash`.
    A CID differing from the signed one is ``CDA_MISMATCH`` (step 5, before the hash, as
    the book orders it); a wrong hash or hash code is ``SDAD_HASH``.
    """
    block, data = _open(icc, sdad)
    number = icc_dynamic_number(data)
    at = 1 + len(number)
    if len(data) != at + 1 + 8 + 20:
        raise OdaError(
            OdaFailure.SDAD_FORMAT, f"{_WHAT}: CDA ICC Dynamic Data are {len(data)} bytes"
        )
    signed_cid, ac, code = data[at], data[at + 1 : at + 9], data[at + 9 :]
    if signed_cid != cid:
        raise OdaError(
            OdaFailure.CDA_MISMATCH,
            f"the signed CID {signed_cid:02X} differs from the returned CID {cid:02X}",
        )
    rec.check_hash(block, unpredictable_number, OdaFailure.SDAD_HASH, _WHAT)
    if code != transaction_data_hash:
        raise OdaError(OdaFailure.SDAD_HASH, f"{_WHAT}: the transaction data hash code differs")
    return CdaResult(number, signed_cid, ac)

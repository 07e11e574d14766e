"""The framing every EMV signature shares (Book 2 Annex A2.1), and small field helpers.

A recovered block is ``'6A' || body || hash (20) || 'BC'``, as long as the signer's
modulus; the hash is SHA-1 (Hash Algorithm Indicator ``01``, Book 2 Annex B3.1) over
``body`` followed by data the verifier holds (remainder, exponent, static or dynamic data).
"""

from __future__ import annotations

import hashlib
from datetime import date

from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.errors import CryptoError, OdaError
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import modulus_bytes, rsa_private, rsa_public

HEADER = 0x6A
TRAILER = 0xBC
PAD = 0xBB
HASH_LENGTH = 20
SHA1 = 0x01  # Hash Algorithm Indicator (Book 2 Annex B3)
RSA = 0x01  # Public Key Algorithm Indicator (Book 2 Annex B2)
#: Header, hash and trailer: what a block holds besides its body.
FRAME_LENGTH = 1 + HASH_LENGTH + 1


def sha1(data: bytes) -> bytes:
    """SHA-1 as EMV uses it (Annex B3.1): integrity of signed data, never a password."""
    return hashlib.sha1(data, usedforsecurity=False).digest()


def sign(key: rsa.RSAPrivateKey, body: bytes, hashed_extra: bytes) -> bytes:
    """Sign ``'6A' || body || SHA-1(body || hashed_extra) || 'BC'`` with the private key."""
    length = len(modulus_bytes(key))
    if len(body) + FRAME_LENGTH != length:
        raise CryptoError(
            f"the signed block must be {length} bytes (the modulus), not {len(body) + FRAME_LENGTH}"
        )
    block = bytes([HEADER]) + body + sha1(body + hashed_extra) + bytes([TRAILER])
    return rsa_private(block, key)


def recover(
    signature: bytes, modulus: bytes, exponent: int, failure: OdaFailure, what: str
) -> bytes:
    """Apply the public key and check length, trailer and header (steps 1 to 3).

    Returns the whole recovered block; its hash is checked by :func:`check_hash`. Every
    failure raises ``OdaError(failure)``.
    """
    if len(signature) != len(modulus):
        raise OdaError(
            failure, f"{what} is {len(signature)} bytes, the key's modulus {len(modulus)}"
        )
    try:
        block = rsa_public(signature, modulus, exponent)
    except CryptoError:
        raise OdaError(failure, f"{what} is not below the key's modulus") from None
    if block[-1] != TRAILER:
        raise OdaError(failure, f"{what}: recovered trailer is {block[-1]:02X}, not BC")
    if block[0] != HEADER:
        raise OdaError(failure, f"{what}: recovered header is {block[0]:02X}, not 6A")
    return block


def body_of(block: bytes) -> bytes:
    """The signed data of a recovered block: after the header, before the hash."""
    return block[1 : -1 - HASH_LENGTH]


def check_hash(block: bytes, hashed_extra: bytes, failure: OdaFailure, what: str) -> None:
    """Compare the block's hash with SHA-1(body || hashed_extra) (the "hash" steps)."""
    if sha1(body_of(block) + hashed_extra) != block[-1 - HASH_LENGTH : -1]:
        raise OdaError(failure, f"{what}: hash result does not match")


def mmyy(data: bytes) -> str:
    """The 2-byte n4 date MMYY as four digits, or ``""`` when it is not valid BCD."""
    text = data.hex()
    if len(text) != 4 or not text.isdigit() or not 1 <= int(text[:2]) <= 12:
        return ""
    return text


def check_mmyy(expiry: str) -> bytes:
    """Encode a caller's MMYY (certificate issuance); raise CryptoError if it is not one."""
    if len(expiry) != 4 or not expiry.isdigit() or not 1 <= int(expiry[:2]) <= 12:
        raise CryptoError(f"a certificate expiry date is MMYY, not {expiry!r}")
    return bytes.fromhex(expiry)


def expired(expiry: str, today: date) -> bool:
    """Whether the last day of the month MMYY is before ``today`` (Book 2 5.3 step 9).

    Years 50-99 are 1950-1999 and 00-49 are 2000-2049, as Book 4 reads YY.

    >>> expired("1225", date(2025, 12, 31)), expired("1125", date(2025, 12, 1))
    (False, True)
    """
    month, yy = int(expiry[:2]), int(expiry[2:])
    year = 1900 + yy if yy >= 50 else 2000 + yy
    return (year, month) < (today.year, today.month)


def padded_digits(data: bytes) -> str | None:
    """Digits of a cn field padded on the right with ``F``, or None if it is not one."""
    text = data.hex().upper().rstrip("F")
    return text if text.isdigit() else None


def split_key(
    leftmost: bytes, remainder: bytes, length: int, failure: OdaFailure, what: str
) -> bytes:
    """The modulus from its leftmost digits and remainder (Book 2 5.3 step 12, 6.4 step 11)."""
    if length <= len(leftmost):
        if remainder:
            raise OdaError(failure, f"{what}: a remainder is present but the key fits")
        return leftmost[:length]
    modulus = leftmost + remainder
    if len(modulus) != length:
        raise OdaError(
            failure,
            f"{what}: key is {length} bytes but the certificate and remainder hold {len(modulus)}",
        )
    return modulus


def build_key_field(modulus: bytes, room: int) -> tuple[bytes, bytes]:
    """Leftmost digits padded with ``BB`` to ``room`` bytes, and the remainder."""
    if len(modulus) <= room:
        return modulus + bytes([PAD]) * (room - len(modulus)), b""
    return modulus[:room], modulus[room:]

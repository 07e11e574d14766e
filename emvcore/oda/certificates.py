"""Issuer and ICC public key certificates (EMV Book 2 5.3, 6.3, 6.4) and static data.

The card proves its RSA key through a two-step chain, each step a signature with message
recovery (Book 2 Annex A2.1, see :mod:`emvcore.oda.rsa`):

1. the payment system's CA signs the **issuer public key certificate** (tag 90, with the
   Issuer Public Key Remainder 92 and Exponent 9F32). Recovered with the CA public key it
   reads (Book 2 5.3, Table 6; 6.3 retrieves it the same way)::

       6A | 02 | issuer id (4, cn) | expiry MMYY (2) | serial (3) | hash alg 01 | pk alg 01
          | N_I (1) | exponent length (1) | issuer key, leftmost N_CA - 36 bytes | hash (20) | BC

2. the issuer signs the **ICC public key certificate** (9F46, remainder 9F48, exponent
   9F47), which also covers the static data to be authenticated (Book 2 6.4, Table 14)::

       6A | 04 | PAN (10, cn) | expiry MMYY (2) | serial (3) | hash alg 01 | pk alg 01
          | N_IC (1) | exponent length (1) | ICC key, leftmost N_I - 42 bytes | hash (20) | BC

A key shorter than its room is padded with ``BB``; a longer one continues in the
remainder. The hash is SHA-1 over everything between header and hash, then the remainder,
the exponent and (ICC only) the static data. Recovery runs the checks of Book 2 in their
order (length, trailer, header, format, hash, identifier, expiry, algorithm) and raises
:class:`~emvcore.errors.OdaError` with the :class:`~emvcore.oda.failures.OdaFailure` of
the first that fails; it never raises anything else. Certificate revocation lists (5.3
step 10) are not kept: a revoked CA key index is handled by the key store.

Issuing (:func:`issuer_certificate`, :func:`icc_certificate`) is for the test CA and the
emulated cards; bad parameters there raise :class:`~emvcore.errors.CryptoError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.errors import CryptoError, OdaError, TlvError
from emvcore.oda import _recovery as rec
from emvcore.oda.capk import CaPublicKey
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import EMV_EXPONENTS, exponent_bytes, modulus_bytes
from emvcore.tlv import decode_one

__all__ = [
    "RecoveredKey",
    "icc_certificate",
    "issuer_certificate",
    "recover_icc_key",
    "recover_issuer_key",
    "static_data_to_authenticate",
]

ISSUER_CERT_FORMAT = 0x02
ICC_CERT_FORMAT = 0x04
_ISSUER_ID_LENGTH = 4
_PAN_LENGTH = 10
#: Format, expiry, serial, two algorithm indicators, key and exponent lengths.
_FIXED_FIELDS = 10
_READ_RECORD_TEMPLATE = 0x70


@dataclass(frozen=True, slots=True)
class RecoveredKey:
    """A public key recovered from a certificate whose checks all passed.

    ``identifier`` is the issuer identifier (3 to 8 BIN digits) for an issuer key and the
    full PAN for an ICC key, so it stays out of ``repr``; ``expiry`` is MMYY.
    """

    modulus: bytes = field(repr=False)
    exponent: int
    expiry: str
    serial: bytes
    identifier: str = field(repr=False)

    @property
    def bits(self) -> int:
        """The modulus length in bits."""
        return 8 * len(self.modulus)


def _certify(
    signer: rsa.RSAPrivateKey,
    cert_format: int,
    identifier: bytes,
    subject_modulus: bytes,
    subject_exponent: int,
    expiry: str,
    serial: bytes,
    hashed_tail: bytes,
) -> tuple[bytes, bytes]:
    length = len(modulus_bytes(signer))
    room = length - rec.FRAME_LENGTH - (_FIXED_FIELDS + len(identifier))
    if len(serial) != 3:
        raise CryptoError(f"a certificate serial number is 3 bytes, not {len(serial)}")
    if subject_exponent not in EMV_EXPONENTS:
        raise CryptoError(f"EMV allows the public exponents 3 and 65537, not {subject_exponent}")
    if not 0 < len(subject_modulus) <= min(length, 255) or room < 1:
        raise CryptoError(
            f"a {len(subject_modulus)}-byte key cannot be certified by a {length}-byte key"
        )
    exponent = exponent_bytes(subject_exponent)
    leftmost, remainder = rec.build_key_field(subject_modulus, room)
    header = bytes([cert_format]) + identifier + rec.check_mmyy(expiry) + serial
    header += bytes([rec.SHA1, rec.RSA, len(subject_modulus), len(exponent)])
    body = header + leftmost
    return rec.sign(signer, body, remainder + exponent + hashed_tail), remainder


def issuer_certificate(
    ca_key: rsa.RSAPrivateKey,
    *,
    issuer_modulus: bytes,
    issuer_exponent: int,
    issuer_identifier: str,
    expiry: str,
    serial: bytes,
) -> tuple[bytes, bytes]:
    """Issue an issuer public key certificate (Book 2 5.3 Table 6): ``(tag 90, tag 92)``.

    The remainder is ``b""`` when the issuer key fits in the certificate, that is when
    ``N_I <= N_CA - 36``; ``issuer_identifier`` is the 3 to 8 leftmost PAN digits.
    """
    if not 3 <= len(issuer_identifier) <= 8 or not issuer_identifier.isdigit():
        raise CryptoError("an issuer identifier is 3 to 8 digits")
    identifier = bytes.fromhex(issuer_identifier.ljust(2 * _ISSUER_ID_LENGTH, "F"))
    return _certify(
        ca_key, ISSUER_CERT_FORMAT, identifier, issuer_modulus, issuer_exponent, expiry, serial, b""
    )


def icc_certificate(
    issuer_key: rsa.RSAPrivateKey,
    *,
    icc_modulus: bytes,
    icc_exponent: int,
    pan: str,
    expiry: str,
    serial: bytes,
    static_data: bytes,
) -> tuple[bytes, bytes]:
    """Issue an ICC public key certificate (Book 2 6.4 Table 14): ``(9F46, 9F48)``.

    ``static_data`` is :func:`static_data_to_authenticate` of the card's records; the
    remainder is ``b""`` when ``N_IC <= N_I - 42``.
    """
    if not 1 <= len(pan) <= 19 or not pan.isdigit():
        raise CryptoError("a PAN is 1 to 19 digits")
    identifier = bytes.fromhex(pan.ljust(2 * _PAN_LENGTH, "F"))
    return _certify(
        issuer_key,
        ICC_CERT_FORMAT,
        identifier,
        icc_modulus,
        icc_exponent,
        expiry,
        serial,
        static_data,
    )


@dataclass(frozen=True, slots=True)
class _Kind:
    """What differs between the two certificates: format, identifier size, failures."""

    what: str
    cert_format: int
    id_length: int
    missing: OdaFailure
    bad_format: OdaFailure
    bad_hash: OdaFailure
    expired: OdaFailure


_ISSUER = _Kind(
    "issuer public key certificate (90)",
    ISSUER_CERT_FORMAT,
    _ISSUER_ID_LENGTH,
    OdaFailure.ISSUER_CERT_MISSING,
    OdaFailure.ISSUER_CERT_FORMAT,
    OdaFailure.ISSUER_CERT_HASH,
    OdaFailure.ISSUER_CERT_EXPIRED,
)
_ICC = _Kind(
    "ICC public key certificate (9F46)",
    ICC_CERT_FORMAT,
    _PAN_LENGTH,
    OdaFailure.ICC_CERT_MISSING,
    OdaFailure.ICC_CERT_FORMAT,
    OdaFailure.ICC_CERT_HASH,
    OdaFailure.ICC_CERT_EXPIRED,
)


def _recover(
    kind: _Kind,
    modulus: bytes,
    exponent: int,
    certificate: bytes | None,
    remainder: bytes,
    subject_exponent: bytes | None,
    hashed_tail: bytes,
) -> tuple[bytes, bytes, bytes]:
    """Steps 1 to 7 of Book 2 5.3 / 6.4: the block, its identifier field, the exponent."""
    if certificate is None or not certificate:
        raise OdaError(kind.missing, f"{kind.what} is missing")
    if subject_exponent is None or not subject_exponent:
        raise OdaError(kind.missing, f"the public key exponent for the {kind.what} is missing")
    if len(modulus) < rec.FRAME_LENGTH + _FIXED_FIELDS + kind.id_length + 1:
        raise OdaError(kind.bad_format, f"the {len(modulus)}-byte key is too short to certify")
    block = rec.recover(certificate, modulus, exponent, kind.bad_format, kind.what)
    if block[1] != kind.cert_format:
        raise OdaError(
            kind.bad_format, f"{kind.what}: format is {block[1]:02X}, not {kind.cert_format:02X}"
        )
    hash_algorithm = block[7 + kind.id_length]
    if hash_algorithm != rec.SHA1:
        raise OdaError(
            kind.bad_format, f"{kind.what}: unknown hash algorithm indicator {hash_algorithm:02X}"
        )
    rec.check_hash(block, remainder + subject_exponent + hashed_tail, kind.bad_hash, kind.what)
    return block, block[2 : 2 + kind.id_length], subject_exponent


def _finish(
    kind: _Kind,
    block: bytes,
    remainder: bytes,
    subject_exponent: bytes,
    today: date,
    identifier: str,
) -> RecoveredKey:
    """Expiry, algorithm indicator and key assembly (5.3 steps 9-12, 6.4 steps 9-11)."""
    at = 2 + kind.id_length
    expiry = rec.mmyy(block[at : at + 2])
    if not expiry:
        raise OdaError(kind.bad_format, f"{kind.what}: the expiry date is not a valid MMYY")
    if rec.expired(expiry, today):
        raise OdaError(kind.expired, f"{kind.what} expired at the end of {expiry[:2]}/{expiry[2:]}")
    serial = block[at + 2 : at + 5]
    algorithm, key_length, exponent_length = block[at + 6], block[at + 7], block[at + 8]
    if algorithm != rec.RSA:
        raise OdaError(
            kind.bad_format, f"{kind.what}: unknown public key algorithm indicator {algorithm:02X}"
        )
    if exponent_length != len(subject_exponent):
        raise OdaError(
            kind.bad_format,
            f"{kind.what}: exponent length {exponent_length}, but the exponent is {len(subject_exponent)} bytes",
        )
    exponent = int.from_bytes(subject_exponent, "big")
    if exponent not in EMV_EXPONENTS:
        raise OdaError(kind.bad_format, f"{kind.what}: exponent {exponent} is not 3 or 65537")
    leftmost = rec.body_of(block)[at + 8 :]
    modulus = rec.split_key(leftmost, remainder, key_length, kind.bad_format, kind.what)
    if not modulus or modulus[0] == 0:
        raise OdaError(kind.bad_format, f"{kind.what}: the recovered modulus is empty or starts 00")
    return RecoveredKey(modulus, exponent, expiry, serial, identifier)


def recover_issuer_key(
    capk: CaPublicKey,
    certificate: bytes | None,
    remainder: bytes,
    exponent: bytes | None,
    *,
    pan: str,
    today: date,
) -> RecoveredKey:
    """Recover and check the issuer public key (Book 2 5.3 steps 1-12; 6.3).

    ``certificate`` is tag 90, ``remainder`` tag 92 (``b""`` when absent) and ``exponent``
    tag 9F32; ``pan`` the Application PAN (5A) digits. A missing 90 or 9F32 is
    ``ISSUER_CERT_MISSING``; a missing remainder that the key needs fails the hash.
    """
    block, identifier_field, exponent_field = _recover(
        _ISSUER, capk.modulus, capk.exponent, certificate, remainder, exponent, b""
    )
    identifier = rec.padded_digits(identifier_field)
    if identifier is None or not 3 <= len(identifier) <= 8 or not pan.startswith(identifier):
        raise OdaError(
            OdaFailure.ISSUER_ID_MISMATCH,
            "the issuer identifier is not the leftmost 3-8 digits of the PAN",
        )
    return _finish(_ISSUER, block, remainder, exponent_field, today, identifier)


def recover_icc_key(
    issuer: RecoveredKey,
    certificate: bytes | None,
    remainder: bytes,
    exponent: bytes | None,
    *,
    pan: str,
    static_data: bytes,
    today: date,
) -> RecoveredKey:
    """Recover and check the ICC public key (Book 2 6.4 steps 1-11).

    ``certificate`` is 9F46, ``remainder`` 9F48 (``b""`` when absent), ``exponent`` 9F47,
    ``static_data`` the output of :func:`static_data_to_authenticate`; ``pan`` is the
    Application PAN (5A), which must equal the PAN in the certificate.
    """
    block, pan_field, exponent_field = _recover(
        _ICC, issuer.modulus, issuer.exponent, certificate, remainder, exponent, static_data
    )
    if rec.padded_digits(pan_field) != pan:
        raise OdaError(
            OdaFailure.PAN_MISMATCH, "the PAN in the ICC certificate is not the Application PAN"
        )
    return _finish(_ICC, block, remainder, exponent_field, today, pan)


def static_data_to_authenticate(
    records: Sequence[tuple[int, bytes]], *, aip: bytes | None
) -> bytes:
    """The static data to be authenticated (Book 2 5.4 step 5, 6.4 step 5; Book 3 10.3).

    ``records`` are ``(SFI, record)`` for the records the AFL marks for offline data
    authentication, in AFL order, each the full READ RECORD response data. For SFI 1 to
    10 the value of the ``70`` template is used; for SFI 11 to 30 the whole record, which
    must also be a ``70`` template. ``aip`` (2 bytes) is appended when the SDA Tag List
    (9F4A) is present and lists ``82``; pass None otherwise. A record that is not one
    ``70`` template raises ``OdaError(STATIC_DATA_INVALID)`` (Book 3 10.3: for SFI 1-10
    the kernel should already have ended the transaction on such a record).

    >>> records = [(1, bytes.fromhex("70035A0112")), (11, bytes.fromhex("70025F24"))]
    >>> static_data_to_authenticate(records, aip=bytes.fromhex("1980")).hex().upper()
    '5A011270025F241980'
    """
    parts: list[bytes] = []
    for number, (sfi, record) in enumerate(records):
        where = f"ODA record {number + 1} (SFI {sfi})"
        if not 1 <= sfi <= 30:
            raise OdaError(OdaFailure.STATIC_DATA_INVALID, f"{where}: SFI is not 1 to 30")
        try:
            template = decode_one(record)
        except TlvError as exc:
            raise OdaError(OdaFailure.STATIC_DATA_INVALID, f"{where}: {exc}") from None
        if template.tag != _READ_RECORD_TEMPLATE:
            raise OdaError(
                OdaFailure.STATIC_DATA_INVALID,
                f"{where} is tag {template.tag:X}, not a 70 template",
            )
        parts.append(template.value if sfi <= 10 else bytes(record))
    if aip is not None:
        if len(aip) != 2:
            raise OdaError(OdaFailure.STATIC_DATA_INVALID, f"the AIP is 2 bytes, not {len(aip)}")
        parts.append(bytes(aip))
    return b"".join(parts)

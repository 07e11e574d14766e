"""A test CA, issuer and card, made once per run: one chain with remainders, one without.

- ``chain_remainders``: CA 1408 bits, issuer 1152, ICC 1024. The issuer key (144 bytes)
  exceeds the 1408-bit certificate's room (176 - 36 = 140), and the ICC key (128 bytes)
  the 1152-bit one's (144 - 42 = 102), so tags 92 and 9F48 are both needed.
- ``chain_fits``: CA 1984 bits, issuer 1536 with exponent 65537, ICC 1024: both keys fit
  in their certificates (padded with BB) and the remainders are empty.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.oda import _recovery as rec
from emvcore.oda.capk import CaKeyStore, CaPublicKey, public_key_of
from emvcore.oda.certificates import (
    RecoveredKey,
    icc_certificate,
    issuer_certificate,
    recover_icc_key,
    recover_issuer_key,
    static_data_to_authenticate,
)
from emvcore.oda.rsa import exponent_bytes, generate_rsa_key, modulus_bytes, rsa_private

TODAY = date(2026, 11, 22)
RID = bytes.fromhex("A000000003")
INDEX = 0xE1
PAN = "4761739001010010"
RECORDS = (
    (1, bytes.fromhex("70155A0847617390010100105F24032912319F0702FF00")),
    (2, bytes.fromhex("70088C069F02069F3704")),
    (11, bytes.fromhex("70055F28020840")),
)


@dataclass(frozen=True)
class Chain:
    """Keys, certificates and the card data of one personalized test card."""

    ca: rsa.RSAPrivateKey
    issuer: rsa.RSAPrivateKey
    icc: rsa.RSAPrivateKey
    capk: CaPublicKey
    store: CaKeyStore
    cert90: bytes
    rem92: bytes
    exp9f32: bytes
    cert9f46: bytes
    rem9f48: bytes
    exp9f47: bytes
    static_data: bytes

    def issuer_key(self) -> RecoveredKey:
        return recover_issuer_key(
            self.capk, self.cert90, self.rem92, self.exp9f32, pan=PAN, today=TODAY
        )

    def icc_key(self) -> RecoveredKey:
        return recover_icc_key(
            self.issuer_key(),
            self.cert9f46,
            self.rem9f48,
            self.exp9f47,
            pan=PAN,
            static_data=self.static_data,
            today=TODAY,
        )


def make_chain(ca_bits: int, issuer_bits: int, icc_bits: int, issuer_e: int = 3) -> Chain:
    ca, issuer = generate_rsa_key(ca_bits), generate_rsa_key(issuer_bits, issuer_e)
    icc = generate_rsa_key(icc_bits)
    capk = public_key_of(RID, INDEX, ca, expiry=date(2035, 12, 31), test=True)
    cert90, rem92 = issuer_certificate(
        ca,
        issuer_modulus=modulus_bytes(issuer),
        issuer_exponent=issuer_e,
        issuer_identifier="476173",
        expiry="1228",
        serial=bytes.fromhex("000001"),
    )
    static = static_data_to_authenticate(RECORDS, aip=bytes.fromhex("3980"))
    cert9f46, rem9f48 = icc_certificate(
        issuer,
        icc_modulus=modulus_bytes(icc),
        icc_exponent=3,
        pan=PAN,
        expiry="1227",
        serial=bytes.fromhex("000042"),
        static_data=static,
    )
    return Chain(
        ca,
        issuer,
        icc,
        capk,
        CaKeyStore([capk]),
        cert90,
        rem92,
        exponent_bytes(issuer_e),
        cert9f46,
        rem9f48,
        b"\x03",
        static,
    )


def issuer_body(
    chain: Chain,
    *,
    fmt: int = 0x02,
    identifier: bytes = bytes.fromhex("476173FF"),
    expiry: bytes = bytes.fromhex("1228"),
    hash_alg: int = 0x01,
    pk_alg: int = 0x01,
    key_length: int | None = None,
    exponent_length: int | None = None,
) -> bytes:
    """The signed part of an issuer certificate, field by field (Book 2 Table 6)."""
    modulus = modulus_bytes(chain.issuer)
    room = len(chain.capk.modulus) - 36
    leftmost = modulus[:room].ljust(room, b"\xbb")
    return (
        bytes([fmt])
        + identifier
        + expiry
        + bytes.fromhex("000001")
        + bytes([hash_alg, pk_alg])
        + bytes([len(modulus) if key_length is None else key_length])
        + bytes([len(chain.exp9f32) if exponent_length is None else exponent_length])
        + leftmost
    )


def forge(signer: rsa.RSAPrivateKey, body: bytes, hashed_extra: bytes) -> bytes:
    """Sign any body with a correct hash, so that the checks after the hash are reached."""
    return rec.sign(signer, body, hashed_extra)


def raw_block(signer: rsa.RSAPrivateKey, block: bytes) -> bytes:
    """Sign a whole recovered block as given (to break the header or the trailer)."""
    return rsa_private(block, signer)

"""Offline data authentication on the card side: keys and certificates at personalization.

A personalization bureau holds the issuer's RSA key, certified by a payment scheme CA; it
gives each card its own ICC key pair and an ICC public key certificate over the card's
static data (EMV Book 2 5.3, 6.4). Here the CA is the shipped *test* CA
(``card_emulation/data/test-ca.json``, marked as test keys); the issuer key (1152 bits) is
made once per RID and process, as a bureau holds one per issuer, and the ICC key (1024
bits) once per card. These sizes need both certificate remainders (92, 9F48), so the
terminal's handling of them is exercised on every tap.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.oda.capk import load_test_ca_private_keys
from emvcore.oda.certificates import icc_certificate, issuer_certificate
from emvcore.oda.rsa import exponent_bytes, generate_rsa_key, modulus_bytes

TEST_CA_FILE = Path(__file__).resolve().parent / "data" / "test-ca.json"
ISSUER_KEY_BITS = 1152
ICC_KEY_BITS = 1024
#: Index of the test CA public key under each RID (terminal/data/capk-test.json).
TEST_CA_INDEX = 0xE1


_issuer_lock = threading.Lock()
_issuer_keys: dict[bytes, rsa.RSAPrivateKey] = {}


@dataclass(frozen=True, slots=True)
class OdaKeys:
    """What a card carries for ODA: certificates, exponents and its private key."""

    ca_index: int
    issuer_certificate: bytes
    issuer_remainder: bytes
    issuer_exponent: bytes
    icc_certificate: bytes
    icc_remainder: bytes
    icc_exponent: bytes
    icc_private_key: bytes = field(repr=False)  # PKCS #8 PEM

    def private_key(self) -> rsa.RSAPrivateKey:
        """The ICC private key."""
        key = serialization.load_pem_private_key(self.icc_private_key, password=None)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise TypeError("ICC key is not RSA")
        return key


def certify(
    *,
    rid: bytes,
    pan: str,
    static_data: bytes,
    expiry: str,
    ca_file: str | os.PathLike[str] = TEST_CA_FILE,
    ca_index: int = TEST_CA_INDEX,
    issuer_expiry: str | None = None,
) -> OdaKeys:
    """Make an issuer key certified by the CA and an ICC key certified by the issuer.

    ``expiry`` is the ICC certificate's MMYY; ``issuer_expiry`` the issuer's (default the
    same). The issuer identifier is the PAN's first 6 digits.
    """
    ca_key = load_test_ca_private_keys(ca_file)[(rid, ca_index)]
    with _issuer_lock:
        issuer_key = _issuer_keys.get(rid)
        if issuer_key is None:
            issuer_key = _issuer_keys[rid] = generate_rsa_key(ISSUER_KEY_BITS)
    icc_key = generate_rsa_key(ICC_KEY_BITS)
    issuer_cert, issuer_rest = issuer_certificate(
        ca_key,
        issuer_modulus=modulus_bytes(issuer_key),
        issuer_exponent=issuer_key.public_key().public_numbers().e,
        issuer_identifier=pan[:6],
        expiry=issuer_expiry or expiry,
        serial=os.urandom(3),
    )
    icc_cert, icc_rest = icc_certificate(
        issuer_key,
        icc_modulus=modulus_bytes(icc_key),
        icc_exponent=icc_key.public_key().public_numbers().e,
        pan=pan,
        expiry=expiry,
        serial=os.urandom(3),
        static_data=static_data,
    )
    pem = icc_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return OdaKeys(
        ca_index=ca_index,
        issuer_certificate=issuer_cert,
        issuer_remainder=issuer_rest,
        issuer_exponent=exponent_bytes(issuer_key.public_key().public_numbers().e),
        icc_certificate=icc_cert,
        icc_remainder=icc_rest,
        icc_exponent=exponent_bytes(icc_key.public_key().public_numbers().e),
        icc_private_key=pem,
    )

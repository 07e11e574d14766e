"""Offline data authentication: EMV Book 2 sections 5 and 6, Contactless Book C-3 fDDA.

The terminal proves a card genuine without going online: from a CA public key it holds
(:mod:`~emvcore.oda.capk`), it recovers the issuer's key, then the card's key
(:mod:`~emvcore.oda.certificates`), then checks the card's signature over this
transaction's data (:mod:`~emvcore.oda.dynamic`). Every check that fails raises
:class:`~emvcore.errors.OdaError` whose ``failure`` (:class:`OdaFailure`) says which,
so the kernel can set the TVR bits its rules require. The card side (test CA, emulated
card personalization and signing) uses the same modules.

- :mod:`~emvcore.oda.failures`      the :class:`OdaFailure` values
- :mod:`~emvcore.oda.rsa`           raw RSA (Annex A2.1 recovery) on ``cryptography`` keys
- :mod:`~emvcore.oda.capk`          CA public key store and its ``tap-capk/1`` file (11.2)
- :mod:`~emvcore.oda.certificates`  issuer (5.3) and ICC (6.4) certificates, static data
- :mod:`~emvcore.oda.dynamic`       DDA/fDDA signatures (6.5, C-3) and CDA (6.6)

A whole chain, terminal side::

    >>> from datetime import date
    >>> ca = generate_rsa_key(1408)
    >>> issuer, icc = generate_rsa_key(1152), generate_rsa_key(1024)
    >>> rid, pan = bytes.fromhex("A000000003"), "4761739001010010"
    >>> store = CaKeyStore([public_key_of(rid, 0xE1, ca, expiry=None, test=True)])
    >>> cert90, rem92 = issuer_certificate(ca, issuer_modulus=modulus_bytes(issuer),
    ...     issuer_exponent=3, issuer_identifier="476173", expiry="1230", serial=b"\\x00\\x00\\x01")
    >>> static = static_data_to_authenticate([(2, bytes.fromhex("70035A0147"))], aip=None)
    >>> cert9f46, rem9f48 = icc_certificate(issuer, icc_modulus=modulus_bytes(icc),
    ...     icc_exponent=3, pan=pan, expiry="1230", serial=b"\\x00\\x00\\x02", static_data=static)
    >>> today = date(2026, 11, 22)
    >>> issuer_key = recover_issuer_key(store.lookup(rid, 0xE1, today=today), cert90, rem92,
    ...     b"\\x03", pan=pan, today=today)
    >>> icc_key = recover_icc_key(issuer_key, cert9f46, rem9f48, b"\\x03", pan=pan,
    ...     static_data=static, today=today)
    >>> sdad = sign_dynamic_data(icc, fdda_icc_dynamic_data(b"\\x12\\x34"), b"UN42")
    >>> recover_dynamic_data(icc_key, sdad, b"UN42").hex()
    '021234'
"""

from emvcore.errors import OdaError
from emvcore.oda.capk import (
    CaKeyStore,
    CaPublicKey,
    load_ca_keys,
    load_test_ca_private_keys,
    public_key_of,
    save_ca_keys,
)
from emvcore.oda.certificates import (
    RecoveredKey,
    icc_certificate,
    issuer_certificate,
    recover_icc_key,
    recover_issuer_key,
    static_data_to_authenticate,
)
from emvcore.oda.dynamic import (
    CdaResult,
    cda_icc_dynamic_data,
    cda_response_data,
    cda_transaction_data_hash,
    fdda_icc_dynamic_data,
    fdda_terminal_data,
    icc_dynamic_number,
    recover_dynamic_data,
    sign_dynamic_data,
    verify_cda,
)
from emvcore.oda.failures import OdaFailure
from emvcore.oda.rsa import generate_rsa_key, modulus_bytes, rsa_private, rsa_public

__all__ = [
    "CaKeyStore",
    "CaPublicKey",
    "CdaResult",
    "OdaError",
    "OdaFailure",
    "RecoveredKey",
    "cda_icc_dynamic_data",
    "cda_response_data",
    "cda_transaction_data_hash",
    "fdda_icc_dynamic_data",
    "fdda_terminal_data",
    "generate_rsa_key",
    "icc_certificate",
    "icc_dynamic_number",
    "issuer_certificate",
    "load_ca_keys",
    "load_test_ca_private_keys",
    "modulus_bytes",
    "public_key_of",
    "recover_dynamic_data",
    "recover_icc_key",
    "recover_issuer_key",
    "rsa_private",
    "rsa_public",
    "save_ca_keys",
    "sign_dynamic_data",
    "static_data_to_authenticate",
    "verify_cda",
]

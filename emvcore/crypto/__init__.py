"""Issuer cryptography for EMV: key derivation, session keys, ARQC/ARPC, cryptogram versions.

Pure ``bytes -> bytes`` functions over Triple DES (EMV Book 2 Annexes A1.2 to A1.4 and
sections 8.1, 8.2). Every bad key, block or data length raises
:class:`~emvcore.errors.CryptoError`, whose message never contains key material or a PAN.

Modules, from the bottom up:

- :mod:`~emvcore.crypto.tdes`        DES/TDES primitives, parity, key check values
- :mod:`~emvcore.crypto.mac`         ISO/IEC 9797-1 padding 1/2 and MAC algorithm 3
- :mod:`~emvcore.crypto.kd`          ICC master key derivation, options A and B (A1.4)
- :mod:`~emvcore.crypto.session`     AC session keys: EMV common (A1.3) and Mastercard
- :mod:`~emvcore.crypto.cryptogram`  ARQC/TC/AAC generation and verification (8.1)
- :mod:`~emvcore.crypto.arpc`        ARPC methods 1 and 2 (8.2)
- :mod:`~emvcore.crypto.sm`          secure messaging MACs of issuer script commands (9.2)
- :mod:`~emvcore.crypto.cvn`         one :class:`CryptogramVersion` per CVN tying them together
- :mod:`~emvcore.crypto.aes`         AES ECB/CBC/CMAC, for DUKPT and AES key check values
- :mod:`~emvcore.crypto.dukpt`       DUKPT: AES (ANSI X9.24-3-2017) and TDES (X9.24-1-2009)

The usual entry point is a cryptogram version::

    >>> from emvcore.crypto import cryptogram_version
    >>> cryptogram_version("visa-cvn10").padding
    <Padding.METHOD_1: 1>
"""

from emvcore.crypto.arpc import arpc_method_1, arpc_method_2
from emvcore.crypto.cryptogram import generate_ac, verify_ac
from emvcore.crypto.cvn import (
    CRYPTOGRAM_VERSIONS,
    ArpcKey,
    CryptogramVersion,
    SessionKeyMethod,
    cryptogram_version,
)
from emvcore.crypto.kd import derive_icc_mk, derive_icc_mk_a, derive_icc_mk_b
from emvcore.crypto.mac import Padding, mac_iso9797_alg3, pad
from emvcore.crypto.session import derive_common_sk, derive_mastercard_sk
from emvcore.crypto.sm import derive_smi_session_key, secure_command, verify_command_mac
from emvcore.crypto.tdes import kcv

__all__ = [
    "CRYPTOGRAM_VERSIONS",
    "ArpcKey",
    "CryptogramVersion",
    "Padding",
    "SessionKeyMethod",
    "arpc_method_1",
    "arpc_method_2",
    "cryptogram_version",
    "derive_common_sk",
    "derive_icc_mk",
    "derive_icc_mk_a",
    "derive_icc_mk_b",
    "derive_mastercard_sk",
    "derive_smi_session_key",
    "generate_ac",
    "kcv",
    "mac_iso9797_alg3",
    "pad",
    "secure_command",
    "verify_ac",
    "verify_command_mac",
]

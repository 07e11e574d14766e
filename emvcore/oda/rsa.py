"""Raw RSA for EMV offline data authentication (EMV Book 2 Annex A2.1, B2.1).

EMV signs with "digital signature scheme giving message recovery" (Book 2 Annex A2.1,
after ISO/IEC 9796-2): the signer builds a block exactly as long as its modulus,
``'6A' || data || SHA-1 hash || 'BC'``, and applies the private key to it as a number; the
verifier applies the public key and reads the block back. There is no PKCS #1 padding, so
the padded operations of ``cryptography`` do not apply, and it exposes no raw RSA. This
module therefore does the arithmetic itself, with GMP's modular exponentiation through
gmpy2 (about nine times faster than Python's :func:`pow` for the 512-bit halves of a
1024-bit ICC key, which matters because an emulated card signs on every tap) and Python's
:func:`pow` where gmpy2 is not installed:

- the public operation (terminal side) is ``m = s^e mod n``; EMV exponents are 3 and
  2^16 + 1 (Book 2 Annex B2.1), so it costs microseconds;
- the private operation (card personalisation and emulated cards) uses the Chinese
  Remainder Theorem with the key's ``p``, ``q``, ``d mod (p-1)``, ``d mod (q-1)`` and
  ``q^-1 mod p``, about four times faster than ``s^d mod n``. It is not hardened against
  timing side channels: it is for test and emulated cards, never for an issuer HSM.

``cryptography`` still makes the keys (:func:`generate_rsa_key`) and holds their numbers.
Data and results are big-endian byte strings exactly as long as the modulus; a wrong length
or a value not below the modulus raises :class:`~emvcore.errors.CryptoError`.

    >>> key = generate_rsa_key(1024)
    >>> block = bytes([0x6A]) + bytes(126) + bytes([0xBC])
    >>> rsa_public(rsa_private(block, key), modulus_bytes(key), 3) == block
    True
"""

from __future__ import annotations

from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric import rsa

from emvcore.errors import CryptoError

_powmod: Callable[[int, int, int], int]
try:
    from gmpy2 import powmod as _gmp_powmod
except ImportError:  # pragma: no cover - gmpy2 has wheels for the platforms we run on
    _powmod = pow
else:

    def _powmod(base: int, exponent: int, modulus: int) -> int:
        return int(_gmp_powmod(base, exponent, modulus))


__all__ = [
    "EMV_EXPONENTS",
    "MAX_MODULUS_BYTES",
    "exponent_bytes",
    "generate_rsa_key",
    "modulus_bytes",
    "rsa_private",
    "rsa_public",
]

#: Public exponents EMV allows (Book 2 Annex B2.1: 3 or 2^16 + 1).
EMV_EXPONENTS = frozenset({3, 65537})

#: Longest modulus EMV uses, 1984 bits (Book 2 Annex B2.1, the 248-byte limit).
MAX_MODULUS_BYTES = 248


def _check_block(data: bytes, modulus: int, length: int) -> int:
    if len(data) != length:
        raise CryptoError(f"RSA input must be {length} bytes long (the modulus), not {len(data)}")
    value = int.from_bytes(data, "big")
    if value >= modulus:
        raise CryptoError("RSA input is not below the modulus")
    return value


def rsa_public(data: bytes, modulus: bytes, exponent: int) -> bytes:
    """The raw public operation ``data^exponent mod modulus``, as many bytes as the modulus.

    >>> rsa_public(bytes([2]), bytes([33]), 3).hex()  # 2^3 mod 33
    '08'
    >>> rsa_public(bytes([40]), bytes([33]), 3)
    Traceback (most recent call last):
    ...
    emvcore.errors.CryptoError: RSA input is not below the modulus
    """
    n = int.from_bytes(modulus, "big")
    if n < 3 or exponent < 3:
        raise CryptoError("RSA modulus and exponent must be at least 3")
    value = _check_block(data, n, len(modulus))
    return pow(value, exponent, n).to_bytes(len(modulus), "big")


def rsa_private(data: bytes, key: rsa.RSAPrivateKey) -> bytes:
    """The raw private operation ``data^d mod n`` through the CRT, as many bytes as ``n``.

    >>> key = generate_rsa_key(1024, 65537)
    >>> message = bytes(127) + b"\\x2a"
    >>> rsa_public(rsa_private(message, key), modulus_bytes(key), 65537) == message
    True
    """
    numbers = key.private_numbers()
    public = numbers.public_numbers
    length = (public.n.bit_length() + 7) // 8
    value = _check_block(data, public.n, length)
    m_p = _powmod(value, numbers.dmp1, numbers.p)
    m_q = _powmod(value, numbers.dmq1, numbers.q)
    h = (numbers.iqmp * (m_p - m_q)) % numbers.p
    return (m_q + h * numbers.q).to_bytes(length, "big")


def generate_rsa_key(bits: int, exponent: int = 3) -> rsa.RSAPrivateKey:
    """A fresh RSA key with a modulus of exactly ``bits`` bits (a multiple of 8).

    EMV moduli are whole bytes, 1024 to 1984 bits for new keys here (``cryptography``
    refuses shorter ones); the exponent is 3 or 65537 (Book 2 Annex B2.1).

    >>> generate_rsa_key(1152).key_size
    1152
    >>> generate_rsa_key(1000)
    Traceback (most recent call last):
    ...
    emvcore.errors.CryptoError: an EMV RSA modulus is 1024 to 1984 bits, a multiple of 8, not 1000
    """
    if bits % 8 or not 1024 <= bits <= 8 * MAX_MODULUS_BYTES:
        raise CryptoError(f"an EMV RSA modulus is 1024 to 1984 bits, a multiple of 8, not {bits}")
    if exponent not in EMV_EXPONENTS:
        raise CryptoError(f"EMV allows the public exponents 3 and 65537, not {exponent}")
    return rsa.generate_private_key(public_exponent=exponent, key_size=bits)


def modulus_bytes(key: rsa.RSAPrivateKey | rsa.RSAPublicKey) -> bytes:
    """The key's modulus as big-endian bytes, ``key_size / 8`` long."""
    public = key.public_key() if isinstance(key, rsa.RSAPrivateKey) else key
    n = public.public_numbers().n
    return n.to_bytes((n.bit_length() + 7) // 8, "big")


def exponent_bytes(exponent: int) -> bytes:
    """A public exponent as EMV writes it (9F32, 9F47, CA key lists): ``03`` or ``010001``.

    >>> exponent_bytes(3).hex(), exponent_bytes(65537).hex()
    ('03', '010001')
    """
    if exponent < 1:
        raise CryptoError(f"an RSA exponent is positive, not {exponent}")
    return exponent.to_bytes((exponent.bit_length() + 7) // 8, "big")

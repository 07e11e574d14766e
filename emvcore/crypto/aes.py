"""AES primitives for key management: ECB, CBC and CMAC over the ``cryptography`` package.

AES DUKPT (ANSI X9.24-3-2017) derives every key with AES in ECB mode, encrypts transaction
data in CBC mode and computes key check values with CMAC (NIST SP 800-38B, ISO/IEC 9797-1
MAC algorithm 5). The cipher itself is ``cryptography``'s; this module only checks lengths
and raises :class:`~emvcore.errors.CryptoError` (naming the length, never the key) instead
of ``ValueError``.

    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> aes_cmac(key, b"").hex().upper()  # SP 800-38B D.1 example 1
    'BB1D6929E95937287FA37D129B756746'
"""

from __future__ import annotations

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.cmac import CMAC

from emvcore.errors import CryptoError

__all__ = [
    "AES_BLOCK_SIZE",
    "AES_KEY_LENGTHS",
    "aes_cbc_decrypt",
    "aes_cbc_encrypt",
    "aes_cmac",
    "aes_ecb_decrypt",
    "aes_ecb_encrypt",
]

AES_BLOCK_SIZE = 16
"""The AES block size in bytes."""

AES_KEY_LENGTHS = frozenset({16, 24, 32})
"""AES-128, AES-192 and AES-256 key lengths in bytes."""


def _aes(key: bytes) -> algorithms.AES:
    if len(key) not in AES_KEY_LENGTHS:
        raise CryptoError(f"an AES key must be 16, 24 or 32 bytes long, not {len(key)}")
    return algorithms.AES(bytes(key))


def _check_blocks(data: bytes) -> None:
    if len(data) % AES_BLOCK_SIZE:
        raise CryptoError(
            f"data must be a multiple of {AES_BLOCK_SIZE} bytes long, not {len(data)}"
        )


def _check_iv(iv: bytes) -> None:
    if len(iv) != AES_BLOCK_SIZE:
        raise CryptoError(f"the IV must be {AES_BLOCK_SIZE} bytes long, not {len(iv)}")


def aes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """AES encryption in ECB mode (FIPS 197, ISO/IEC 10116), no padding.

    >>> key = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    >>> aes_ecb_encrypt(key, bytes.fromhex("00112233445566778899AABBCCDDEEFF")).hex().upper()
    '69C4E0D86A7B0430D8CDB78070B4C55A'
    """
    _check_blocks(data)
    # ECB is what X9.24-3 specifies for key derivation (section 6.3.1, "Derive Key").
    encryptor = Cipher(_aes(key), modes.ECB()).encryptor()  # noqa: S305
    return encryptor.update(data) + encryptor.finalize()


def aes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """AES decryption in ECB mode, the inverse of :func:`aes_ecb_encrypt`.

    >>> key = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    >>> aes_ecb_decrypt(key, bytes.fromhex("69C4E0D86A7B0430D8CDB78070B4C55A")).hex().upper()
    '00112233445566778899AABBCCDDEEFF'
    """
    _check_blocks(data)
    decryptor = Cipher(_aes(key), modes.ECB()).decryptor()  # noqa: S305
    return decryptor.update(data) + decryptor.finalize()


def aes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES encryption in CBC mode (ISO/IEC 10116), no padding; ``iv`` is 16 bytes.

    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> iv = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    >>> aes_cbc_encrypt(key, iv, bytes.fromhex("6BC1BEE22E409F96E93D7E117393172A")).hex().upper()
    '7649ABAC8119B246CEE98E9B12E9197D'
    """
    _check_iv(iv)
    _check_blocks(data)
    encryptor = Cipher(_aes(key), modes.CBC(bytes(iv))).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def aes_cbc_decrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """AES decryption in CBC mode, the inverse of :func:`aes_cbc_encrypt`.

    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> iv = bytes.fromhex("000102030405060708090A0B0C0D0E0F")
    >>> aes_cbc_decrypt(key, iv, bytes.fromhex("7649ABAC8119B246CEE98E9B12E9197D")).hex().upper()
    '6BC1BEE22E409F96E93D7E117393172A'
    """
    _check_iv(iv)
    _check_blocks(data)
    decryptor = Cipher(_aes(key), modes.CBC(bytes(iv))).decryptor()
    return decryptor.update(data) + decryptor.finalize()


def aes_cmac(key: bytes, data: bytes) -> bytes:
    """AES-CMAC of ``data`` (NIST SP 800-38B), the full 16 bytes; truncate as the use says.

    >>> key = bytes.fromhex("2B7E151628AED2A6ABF7158809CF4F3C")
    >>> aes_cmac(key, bytes.fromhex("6BC1BEE22E409F96E93D7E117393172A")).hex().upper()
    '070A16B46B4D4144F79BDD9DD04A287C'
    """
    mac = CMAC(_aes(key))
    mac.update(bytes(data))
    return mac.finalize()

"""DES and Triple DES primitives: the block cipher under every EMV issuer key.

EMV issuer keys (issuer master keys, ICC master keys, session keys) are double-length
Triple DES keys ``K1 || K2`` used as the three-key sequence ``K1, K2, K1`` (EMV Book 2
Annex A1.1, ANSI X9.52 / ISO/IEC 18033-3 "TDEA keying option 2"). This module turns
every key length EMV uses into the 24-byte form the ``cryptography`` package expects,
so that single DES (``K1 K1 K1``) and double-length TDES go through one algorithm
object and no deprecation warning is ever raised.

Every function takes and returns ``bytes``; wrong key or block lengths raise
:class:`~emvcore.errors.CryptoError` whose message names the length, never the key.

    >>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> tdes_ecb_encrypt(key, bytes(8)).hex().upper()
    '08D7B4FB629D0885'
    >>> kcv(key).hex().upper()
    '08D7B4'
"""

from __future__ import annotations

from functools import lru_cache

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from emvcore.errors import CryptoError

__all__ = [
    "BLOCK_SIZE",
    "adjust_parity",
    "des_ecb_decrypt",
    "des_ecb_encrypt",
    "kcv",
    "tdes_cbc_encrypt",
    "tdes_ecb_decrypt",
    "tdes_ecb_encrypt",
    "tdes_key",
    "xor",
]

BLOCK_SIZE = 8
"""The DES block size in bytes."""

_ZERO_BLOCK = bytes(BLOCK_SIZE)


def _odd_parity_byte(value: int) -> int:
    """Return ``value`` with its least significant bit set so it has odd parity."""
    high_bits = value & 0xFE
    return high_bits | ((bin(high_bits).count("1") + 1) & 1)


# bytes.translate() with this table fixes the parity of a whole key in one C call.
_ODD_PARITY_TABLE = bytes(_odd_parity_byte(value) for value in range(256))


def tdes_key(key: bytes) -> bytes:
    """Expand a DES or Triple DES key to the 24-byte ``K1 K2 K3`` form.

    A double-length key ``K1 K2`` becomes ``K1 K2 K1`` (EMV Book 2 Annex A1.1), a
    single-length key ``K1`` becomes ``K1 K1 K1`` (which computes single DES), and a
    triple-length key is returned unchanged.

    >>> tdes_key(bytes.fromhex("0011223344556677 8899AABBCCDDEEFF")).hex().upper()
    '00112233445566778899AABBCCDDEEFF0011223344556677'
    >>> tdes_key(bytes.fromhex("0123456789ABCDEF")).hex().upper()
    '0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF'
    """
    length = len(key)
    if length == 16:
        return key + key[:8]
    if length == 24:
        return key
    if length == 8:
        return key * 3
    raise CryptoError(f"a DES key must be 8, 16 or 24 bytes long, not {length}")


def _check_blocks(data: bytes) -> None:
    if len(data) % BLOCK_SIZE:
        raise CryptoError(f"data must be a multiple of {BLOCK_SIZE} bytes long, not {len(data)}")


@lru_cache(maxsize=4096)
def _ecb_cipher(key24: bytes) -> Cipher[modes.ECB]:
    """The ECB cipher object of one 24-byte key, built once and reused.

    Building ``Cipher(TripleDES(key), ECB())`` costs about as much as the encryption itself;
    an acquirer derives every card's keys from one issuer master key, and a card's ICC
    master key recurs on each of its taps, so those keys are looked up here instead of
    rebuilt. The cache is bounded (4096 keys, least recently used evicted; one-off session
    keys simply pass through). It holds keys in process memory only, as the callers'
    own variables and the loaded key set already do: nothing is written anywhere. Cipher
    objects are immutable, so one can serve several threads; each call makes its own
    encryptor or decryptor context.
    """
    # ECB is what EMV specifies for key derivation and single-block ARPCs (Book 2 A1).
    return Cipher(TripleDES(key24), modes.ECB())  # noqa: S305


def _ecb(key24: bytes, data: bytes, *, encrypt: bool) -> bytes:
    _check_blocks(data)
    cipher = _ecb_cipher(bytes(key24))  # bytes: a bytearray key is not hashable
    context = cipher.encryptor() if encrypt else cipher.decryptor()
    return context.update(data) + context.finalize()


def tdes_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """Triple DES encryption in ECB mode (ISO/IEC 18033-3, ISO/IEC 10116 ECB).

    ``key`` is 8, 16 or 24 bytes (see :func:`tdes_key`); ``data`` is a multiple of 8 bytes,
    all blocks encrypted in one call.

    >>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> tdes_ecb_encrypt(key, bytes.fromhex("1234567890ABCDEF")).hex().upper()
    '479EF7C1ECFE64AC'
    """
    return _ecb(tdes_key(key), data, encrypt=True)


def tdes_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """Triple DES decryption in ECB mode, the inverse of :func:`tdes_ecb_encrypt`.

    >>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> tdes_ecb_decrypt(key, bytes.fromhex("479EF7C1ECFE64AC")).hex().upper()
    '1234567890ABCDEF'
    """
    return _ecb(tdes_key(key), data, encrypt=False)


def tdes_cbc_encrypt(key: bytes, iv: bytes, data: bytes) -> bytes:
    """Triple DES encryption in CBC mode (ISO/IEC 10116), without padding.

    ``iv`` is 8 bytes; ``data`` is a multiple of 8 bytes.

    >>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> tdes_cbc_encrypt(key, bytes(8), bytes(16)).hex().upper()
    '08D7B4FB629D08850A121DC33DFB5947'
    """
    if len(iv) != BLOCK_SIZE:
        raise CryptoError(f"the IV must be {BLOCK_SIZE} bytes long, not {len(iv)}")
    _check_blocks(data)
    encryptor = Cipher(TripleDES(tdes_key(key)), modes.CBC(iv)).encryptor()
    return encryptor.update(data) + encryptor.finalize()


def _single_des_key(key: bytes) -> bytes:
    if len(key) != 8:
        raise CryptoError(f"a single DES key must be 8 bytes long, not {len(key)}")
    return key * 3


def des_ecb_encrypt(key: bytes, data: bytes) -> bytes:
    """Single DES encryption in ECB mode with an 8-byte key (computed as TDES K1 K1 K1).

    >>> des_ecb_encrypt(bytes.fromhex("0123456789ABCDEF"), bytes(8)).hex().upper()
    'D5D44FF720683D0D'
    """
    return _ecb(_single_des_key(key), data, encrypt=True)


def des_ecb_decrypt(key: bytes, data: bytes) -> bytes:
    """Single DES decryption in ECB mode, the inverse of :func:`des_ecb_encrypt`.

    >>> des_ecb_decrypt(bytes.fromhex("0123456789ABCDEF"),
    ...                 bytes.fromhex("D5D44FF720683D0D")).hex()
    '0000000000000000'
    """
    return _ecb(_single_des_key(key), data, encrypt=False)


def adjust_parity(key: bytes) -> bytes:
    """Set the low bit of every byte so each byte has odd parity (FIPS 46-3, 3.1).

    DES ignores the parity bits, so the adjusted key encrypts exactly as before; EMV
    derived keys (Book 2 Annex A1.3, A1.4) are conventionally stored with odd parity.

    >>> adjust_parity(bytes.fromhex("0000FFFE0102")).hex().upper()
    '0101FEFE0102'
    """
    return key.translate(_ODD_PARITY_TABLE)


def kcv(key: bytes, length: int = 3) -> bytes:
    """Key check value: the leftmost ``length`` bytes of TDES(key)[00 .. 00].

    ``length`` is 1 to 8; 3 bytes is the common convention (ANSI X9.24-1), 2 bytes the
    one pyemv's ``key_check_digits`` uses by default.

    >>> kcv(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"), 2).hex().upper()
    '08D7'
    """
    if not 1 <= length <= BLOCK_SIZE:
        raise CryptoError(f"a key check value is 1 to 8 bytes long, not {length}")
    return tdes_ecb_encrypt(key, _ZERO_BLOCK)[:length]


def xor(a: bytes, b: bytes) -> bytes:
    """Exclusive-or of two byte strings of equal length.

    >>> xor(bytes.fromhex("F0F0"), bytes.fromhex("0FF0")).hex().upper()
    'FF00'
    """
    if len(a) != len(b):
        raise CryptoError(f"cannot XOR {len(a)} bytes with {len(b)} bytes")
    return (int.from_bytes(a, "big") ^ int.from_bytes(b, "big")).to_bytes(len(a), "big")

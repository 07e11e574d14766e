"""Key check values: how an operator confirms a key without seeing it.

- TDES: the leftmost bytes of ``TDES(K)[00..00]`` (ANSI X9.24-1, "encrypt a block of
  zeros"), 3 bytes by convention; :func:`emvcore.crypto.tdes.kcv` computes it.
- AES: the leftmost bytes of ``AES-CMAC(K, 00..00)`` over one 16-byte zero block (ANSI
  X9.24-1-2017 and the TR-31 / ANSI X9.143 key block examples, which show 5 bytes and
  3 bytes of the same value). 3 bytes is the default, as most HSM and key ceremony
  forms print; pass ``length=5`` for the X9.143 form.

    >>> key = bytes.fromhex("3F419E1CB7079442AA37474C2EFBF8B8")
    >>> aes_kcv(key, 5).hex().upper()      # ANSI X9.143-2021 8.1: KCV 08793E25AB
    '08793E25AB'
    >>> key_check_value(key, KeyAlgorithm.TDES).hex().upper()  # TR-31 A.7.2.2: 57C409
    '57C409'
"""

from __future__ import annotations

from enum import Enum

from emvcore.crypto.aes import AES_BLOCK_SIZE, AES_KEY_LENGTHS, aes_cmac
from emvcore.crypto.tdes import kcv as tdes_kcv
from emvcore.errors import CryptoError

__all__ = ["TDES_KEY_LENGTHS", "KeyAlgorithm", "aes_kcv", "key_check_value"]

TDES_KEY_LENGTHS = frozenset({16, 24})
"""Double- and triple-length TDES keys in bytes (single DES is not accepted for import)."""


class KeyAlgorithm(Enum):
    """The algorithm of a key being imported; decides its KCV, lengths and parity rule."""

    TDES = "T"
    AES = "A"

    @property
    def key_lengths(self) -> frozenset[int]:
        """The key lengths in bytes this algorithm accepts."""
        return TDES_KEY_LENGTHS if self is KeyAlgorithm.TDES else AES_KEY_LENGTHS


def aes_kcv(key: bytes, length: int = 3) -> bytes:
    """AES key check value: the leftmost ``length`` bytes of CMAC(K, 16 zero bytes).

    >>> aes_kcv(bytes.fromhex("3F419E1CB7079442AA37474C2EFBF8B8")).hex().upper()
    '08793E'
    """
    if not 1 <= length <= AES_BLOCK_SIZE:
        raise CryptoError(f"an AES key check value is 1 to 16 bytes long, not {length}")
    return aes_cmac(key, bytes(AES_BLOCK_SIZE))[:length]


def key_check_value(key: bytes, algorithm: KeyAlgorithm, length: int = 3) -> bytes:
    """The KCV of ``key`` by its algorithm: TDES zero-block encryption or AES CMAC.

    >>> key_check_value(bytes.fromhex("0123456789ABCDEFFEDCBA9876543210"),
    ...                 KeyAlgorithm.TDES).hex().upper()
    '08D7B4'
    """
    if len(key) not in algorithm.key_lengths:
        lengths = ", ".join(str(n) for n in sorted(algorithm.key_lengths))
        raise CryptoError(f"a {algorithm.name} key is {lengths} bytes long, not {len(key)}")
    if algorithm is KeyAlgorithm.TDES:
        return tdes_kcv(key, length)
    return aes_kcv(key, length)

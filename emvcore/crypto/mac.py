"""ISO/IEC 9797-1 padding methods 1 and 2 and MAC algorithm 3, the EMV "retail MAC".

EMV computes application cryptograms, ARPC method 2 and secure messaging MACs with
ISO/IEC 9797-1 MAC algorithm 3 over a double-length key ``K1 || K2`` (EMV Book 2
Annex A1.2.1):

1. pad the data (method 1 or method 2) and split it into 8-byte blocks D1 .. Dq;
2. chain single DES under K1 in CBC mode: H1 = DES(K1)[D1], Hi = DES(K1)[Hi-1 XOR Di];
3. output transformation 3: MAC = DES(K1)[DES-1(K2)[Hq]], truncated to ``length`` bytes.

Steps 2 and 3 together are "single DES CBC over all blocks but the last, then Triple DES
(K1, K2, K1) of the last block XOR the chaining value", which is how
:func:`mac_iso9797_alg3` computes them: one DES-CBC call and one TDES call.

    >>> key = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> mac_iso9797_alg3(key, bytes.fromhex("1234567890ABCDEF")).hex().upper()
    '912476C111DB4238'
"""

from __future__ import annotations

from enum import Enum

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.primitives.ciphers import Cipher, modes

from emvcore.crypto.tdes import BLOCK_SIZE, tdes_ecb_encrypt, xor
from emvcore.errors import CryptoError

__all__ = ["Padding", "mac_iso9797_alg3", "pad"]

_ZERO_IV = bytes(BLOCK_SIZE)


class Padding(Enum):
    """ISO/IEC 9797-1 padding methods (section 6.1.2 and 6.1.3).

    ``METHOD_1`` appends zero bytes (Visa CVN 10 style cryptograms); ``METHOD_2``
    appends ``80`` then zero bytes (EMV Book 2 A1.2.1, the EMV default).
    """

    METHOD_1 = 1
    METHOD_2 = 2


def pad(data: bytes, method: Padding, block_size: int = BLOCK_SIZE) -> bytes:
    """Pad ``data`` to a multiple of ``block_size`` bytes (ISO/IEC 9797-1, 6.1).

    Method 1 adds the fewest zero bytes that reach a block multiple: data that is
    already a multiple is left alone, except empty data, which becomes one zero block.
    Method 2 always adds ``80`` and then the fewest zero bytes.

    >>> pad(bytes.fromhex("1234"), Padding.METHOD_1).hex().upper()
    '1234000000000000'
    >>> pad(bytes.fromhex("1234"), Padding.METHOD_2).hex().upper()
    '1234800000000000'
    >>> pad(bytes(8), Padding.METHOD_2).hex().upper()
    '00000000000000008000000000000000'
    >>> pad(b"", Padding.METHOD_1).hex()
    '0000000000000000'
    """
    if block_size < 1:
        raise CryptoError(f"the block size must be positive, not {block_size}")
    if method is Padding.METHOD_2:
        data += b"\x80"
    elif method is not Padding.METHOD_1:
        raise CryptoError(f"unknown padding method {method!r}")
    if not data:
        return bytes(block_size)
    return data + bytes(-len(data) % block_size)


def mac_iso9797_alg3(
    key: bytes,
    data: bytes,
    padding: Padding = Padding.METHOD_2,
    length: int = 8,
) -> bytes:
    """ISO/IEC 9797-1 MAC algorithm 3 with DES, key ``K1 || K2`` (EMV Book 2 A1.2.1).

    ``key`` is 16 bytes, ``padding`` the ISO/IEC 9797-1 padding method applied to
    ``data``, and ``length`` the MAC length in bytes, 4 to 8 (EMV Book 2 A1.2: "s bytes,
    4 <= s <= 8"); the leftmost ``length`` bytes are returned.

    >>> key = bytes.fromhex("AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBB")
    >>> data = bytes.fromhex("0123456789ABCDEF0123456789ABCDEF")
    >>> mac_iso9797_alg3(key, data).hex().upper()
    'EF8025C38B28804D'
    >>> mac_iso9797_alg3(key, data, Padding.METHOD_1, length=4).hex().upper()
    'F33283B4'
    """
    if len(key) != 16:
        raise CryptoError(f"MAC algorithm 3 needs a 16-byte key, not {len(key)} bytes")
    if not 4 <= length <= BLOCK_SIZE:
        raise CryptoError(f"the MAC length must be 4 to 8 bytes, not {length}")
    padded = pad(data, padding)
    head, last = padded[:-BLOCK_SIZE], padded[-BLOCK_SIZE:]
    if head:
        # Single DES CBC under K1 over D1 .. Dq-1: the last output block is Hq-1.
        encryptor = Cipher(TripleDES(key[:8] * 3), modes.CBC(_ZERO_IV)).encryptor()
        last = xor(encryptor.update(head)[-BLOCK_SIZE:], last)
    # DES(K1)[DES-1(K2)[DES(K1)[Hq-1 XOR Dq]]] is TDES(K1, K2, K1) of Hq-1 XOR Dq.
    return tdes_ecb_encrypt(key, last)[:length]

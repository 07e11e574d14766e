"""TDES DUKPT, ANSI X9.24-1-2009 Annex A, for older devices.

The 10-byte KSN is a 59-bit initial key serial number and a 21-bit transaction counter;
a counter has at most 10 one-bits. The initial PIN encryption key (IPEK, A.6) is derived
from the BDK and the KSN with its counter cleared; from it, the non-reversible key
generation process (A.2) gives one future key per one-bit of the counter, most significant
first. The transaction key is then turned into a working key by XOR with a variant
constant (A.6, and the MAC and data variants used with it in X9.24-1-2009 and the ANSI
X9.24-1 A.4 test data); the data keys are additionally encrypted with themselves.

Triple DES comes from :mod:`emvcore.crypto.tdes`; keys are double-length ``K1 || K2``.

    >>> bdk = bytes.fromhex("0123456789ABCDEFFEDCBA9876543210")
    >>> ksn = bytes.fromhex("FFFF9876543210E00000")
    >>> derive_ipek(bdk, ksn).hex().upper()
    '6AC292FAA1315B4D858AB3A3D7D5933A'
    >>> host_derive_key(bdk, bytes.fromhex("FFFF9876543210E00001")).hex().upper()
    '042666B49184CFA368DE9628D0397BC9'
"""

from __future__ import annotations

from enum import Enum

from emvcore.crypto.dukpt.counter import (
    TDES_COUNTER,
    DeriveChild,
    FutureKeyRegisters,
    derive_along_counter,
)
from emvcore.crypto.tdes import des_ecb_encrypt, tdes_ecb_encrypt, xor
from emvcore.errors import DukptError

__all__ = [
    "KSN_LENGTH",
    "TdesDukptDevice",
    "Variant",
    "counter_of",
    "derive_ipek",
    "derive_transaction_key",
    "host_derive_key",
    "initial_ksn",
    "working_key",
]

KSN_LENGTH = 10
"""TDES DUKPT KSN length in bytes (80 bits: 59-bit initial KSN, 21-bit counter)."""

_COUNTER_MASK = (1 << TDES_COUNTER.bits) - 1
_KEY_MASK = bytes.fromhex("C0C0C0C000000000C0C0C0C000000000")


class Variant(Enum):
    """The variant constant XORed into each half of the transaction key (X9.24-1-2009)."""

    PIN = bytes.fromhex("00000000000000FF")
    MAC_REQUEST = bytes.fromhex("000000000000FF00")
    MAC_RESPONSE = bytes.fromhex("00000000FF000000")
    DATA_REQUEST = bytes.fromhex("0000000000FF0000")
    DATA_RESPONSE = bytes.fromhex("000000FF00000000")

    @property
    def is_data(self) -> bool:
        """True for the data encryption variants (the key is encrypted with itself)."""
        return self is Variant.DATA_REQUEST or self is Variant.DATA_RESPONSE


def _check_ksn(ksn: bytes) -> None:
    if len(ksn) != KSN_LENGTH:
        raise DukptError(f"a TDES DUKPT KSN is {KSN_LENGTH} bytes long, not {len(ksn)}")


def _check_key(key: bytes, name: str) -> None:
    if len(key) != 16:
        raise DukptError(f"the {name} must be a 16-byte double-length key, not {len(key)} bytes")


def counter_of(ksn: bytes) -> int:
    """The 21-bit transaction counter of a KSN.

    >>> counter_of(bytes.fromhex("FFFF9876543210EFF801"))
    1046529
    """
    _check_ksn(ksn)
    return int.from_bytes(ksn, "big") & _COUNTER_MASK


def initial_ksn(ksn: bytes) -> bytes:
    """The KSN with its counter cleared: the initial key serial number (A.6).

    >>> initial_ksn(bytes.fromhex("FFFF9876543210E00008")).hex().upper()
    'FFFF9876543210E00000'
    """
    _check_ksn(ksn)
    value = int.from_bytes(ksn, "big") & ~_COUNTER_MASK
    return value.to_bytes(KSN_LENGTH, "big")


def derive_ipek(bdk: bytes, ksn: bytes) -> bytes:
    """The initial PIN encryption key from the BDK and a KSN (X9.24-1-2009 A.6).

    The leftmost 8 bytes of the initial KSN are encrypted under the BDK for the left
    half, and under ``BDK XOR C0C0C0C000000000C0C0C0C000000000`` for the right half.
    """
    _check_key(bdk, "BDK")
    serial = initial_ksn(ksn)[:8]
    return tdes_ecb_encrypt(bdk, serial) + tdes_ecb_encrypt(xor(bdk, _KEY_MASK), serial)


def _one_way(key: bytes, data: bytes) -> bytes:
    """``DES(key_left)[data XOR key_right] XOR key_right``: A.2's half-key encryption."""
    left, right = key[:8], key[8:]
    return xor(des_ecb_encrypt(left, xor(data, right)), right)


def _child(ksn: bytes) -> DeriveChild:
    """The non-reversible key generation process (A.2) for one device's KSN.

    The crypto register is the rightmost 8 bytes of the KSN with the counter replaced by
    the counter being derived; the new key is ``f(KR XOR C0C0..., CR) || f(KR, CR)``.
    """
    base = int.from_bytes(ksn[2:], "big") & ~_COUNTER_MASK

    def derive(parent: bytes, counter: int) -> bytes:
        register = (base | counter).to_bytes(8, "big")
        return _one_way(xor(parent, _KEY_MASK), register) + _one_way(parent, register)

    return derive


def derive_transaction_key(ipek: bytes, ksn: bytes) -> bytes:
    """The transaction key (the future key) of a KSN's counter, from the IPEK (A.6).

    The counter must be one a device may use: 1 to 10 one-bits.

    >>> ipek = bytes.fromhex("6AC292FAA1315B4D858AB3A3D7D5933A")
    >>> derive_transaction_key(ipek, bytes.fromhex("FFFF9876543210E00002")).hex().upper()
    'C46551CEF9FD24B0AA9AD834130D3BC7'
    """
    _check_key(ipek, "IPEK")
    counter = counter_of(ksn)
    TDES_COUNTER.check(counter)
    return derive_along_counter(ipek, counter, TDES_COUNTER.bits, _child(ksn))


def working_key(transaction_key: bytes, variant: Variant) -> bytes:
    """The PIN, MAC or data key of a transaction key, by its variant.

    Each half is XORed with the variant constant; for the data variants the result is then
    encrypted with itself, half by half, so the data key is not a plain variant.

    >>> key = bytes.fromhex("042666B49184CFA368DE9628D0397BC9")
    >>> working_key(key, Variant.PIN).hex().upper()
    '042666B49184CF5C68DE9628D0397B36'
    """
    _check_key(transaction_key, "transaction key")
    key = xor(transaction_key, variant.value * 2)
    if variant.is_data:
        key = tdes_ecb_encrypt(key, key)
    return key


def host_derive_key(bdk: bytes, ksn: bytes, variant: Variant | None = None) -> bytes:
    """The receiving side: the transaction key (or its ``variant``) from the BDK and KSN."""
    key = derive_transaction_key(derive_ipek(bdk, ksn), ksn)
    return key if variant is None else working_key(key, variant)


class TdesDukptDevice:
    """The originating side of TDES DUKPT: 21 future-key registers (X9.24-1-2009 A.2).

    >>> device = TdesDukptDevice(bytes.fromhex("6AC292FAA1315B4D858AB3A3D7D5933A"),
    ...                          bytes.fromhex("FFFF9876543210E00000"))
    >>> ksn, key = device.next_key(Variant.PIN)
    >>> ksn.hex().upper(), key.hex().upper()
    ('FFFF9876543210E00001', '042666B49184CF5C68DE9628D0397B36')
    """

    __slots__ = ("_initial_ksn", "_registers")

    def __init__(self, ipek: bytes, ksn: bytes) -> None:
        _check_key(ipek, "IPEK")
        self._initial_ksn = initial_ksn(ksn)
        self._registers = FutureKeyRegisters(ipek, TDES_COUNTER, _child(self._initial_ksn))

    def __repr__(self) -> str:
        return f"TdesDukptDevice(ksn={self.ksn.hex().upper()})"

    def _ksn_of(self, counter: int) -> bytes:
        value = int.from_bytes(self._initial_ksn, "big") | counter
        return value.to_bytes(KSN_LENGTH, "big")

    @property
    def ksn(self) -> bytes:
        """The KSN the next transaction will carry (before invalid counters are skipped)."""
        return self._ksn_of(self._registers.counter)

    @property
    def future_keys(self) -> tuple[bytes | None, ...]:
        """The 21 future-key registers, index = counter bit (``None``: erased)."""
        return self._registers.registers

    def next_key(self, variant: Variant | None = None) -> tuple[bytes, bytes]:
        """The next transaction's KSN and key (its ``variant``, or the transaction key).

        Raises :class:`~emvcore.errors.DukptExhaustedError` once the last counter is used.
        """
        counter, key = self._registers.use()
        return self._ksn_of(counter), key if variant is None else working_key(key, variant)

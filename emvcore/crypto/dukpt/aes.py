"""AES DUKPT, ANSI X9.24-3-2017: initial key, intermediate derivation keys, working keys.

A base derivation key (BDK, AES-128/192/256) and an 8-byte initial key ID (BDK ID 4 bytes
|| derivation ID 4 bytes) give a device its initial key. Each transaction has a 32-bit
counter; the key serial number (KSN) is ``initial key ID || counter`` (12 bytes). From the
initial key, one AES derivation per one-bit of the counter (most significant first) gives
the counter's intermediate derivation key, and one more derivation, with the key usage
and key type of the derivation data, gives the working key (section 6.1 to 6.3).

Every derivation is "Derive Key" (6.3.1): the derivation data (16 bytes, table 1) is
AES-ECB encrypted under the parent key, once per 128 bits of the key derived, with the
key block counter byte 1, 2, ... and the result cut to the key's length::

    version 01 | block counter 01 | key usage (2) | algorithm (2) | length in bits (2) |
    initial key ID (8)                                  for the initial key (usage 8001)
    derivation ID = initial key ID[4:8] (4) | counter (4)   for every other key

The derivation key (initial and intermediate) has the BDK's type; a working key may be
any type no stronger than it (AES key lengths up to the BDK's, 2TDEA and 3TDEA always).

    >>> bdk = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
    >>> ik = derive_initial_key(bdk, bytes.fromhex("1234567890123456"))
    >>> ik.hex().upper()
    '1273671EA26AC29AFA4D1084127652A1'
    >>> ksn = Ksn.from_bytes(bytes.fromhex("123456789012345600000001"))
    >>> derive_working_key(ik, ksn, KeyUsage.PIN_ENCRYPTION, KeyType.AES128).hex().upper()
    'AF8CB133A78F8DC2D1359F18527593FB'
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum

from emvcore.crypto.aes import AES_BLOCK_SIZE, aes_ecb_encrypt
from emvcore.crypto.dukpt.counter import (
    AES_COUNTER,
    DeriveChild,
    FutureKeyRegisters,
    derive_along_counter,
)
from emvcore.errors import DukptError, DukptExhaustedError

__all__ = [
    "INITIAL_KEY_ID_LENGTH",
    "KSN_LENGTH",
    "UPDATE_KEY_COUNTER",
    "AesDukptDevice",
    "KeyType",
    "KeyUsage",
    "Ksn",
    "derivation_data",
    "derive_initial_key",
    "derive_intermediate_key",
    "derive_key",
    "derive_update_key",
    "derive_working_key",
    "host_derive_working_key",
]

INITIAL_KEY_ID_LENGTH = 8
"""Initial key ID: BDK ID (4 bytes) || derivation ID (4 bytes)."""

KSN_LENGTH = 12
"""AES DUKPT KSN: initial key ID (8 bytes) || transaction counter (4 bytes)."""

UPDATE_KEY_COUNTER = 0xFFFFFFFF
"""The counter of the DUKPT update key (6.3.4), outside the transaction counters."""

_VERSION = 0x01


class KeyUsage(IntEnum):
    """Key usage indicator of the derivation data (X9.24-3-2017 table 2)."""

    KEY_ENCRYPTION = 0x0002
    PIN_ENCRYPTION = 0x1000
    MAC_GENERATION = 0x2000
    MAC_VERIFICATION = 0x2001
    MAC_BOTH_WAYS = 0x2002
    DATA_ENCRYPT = 0x3000
    DATA_DECRYPT = 0x3001
    DATA_BOTH_WAYS = 0x3002
    KEY_DERIVATION = 0x8000
    KEY_DERIVATION_INITIAL_KEY = 0x8001


class KeyType(Enum):
    """Algorithm indicator and length of the derived key (X9.24-3-2017 table 3)."""

    TDES2 = (0x0000, 128)
    TDES3 = (0x0001, 192)
    AES128 = (0x0002, 128)
    AES192 = (0x0003, 192)
    AES256 = (0x0004, 256)
    HMAC128 = (0x0005, 128)
    HMAC192 = (0x0005, 192)
    HMAC256 = (0x0005, 256)

    @property
    def algorithm(self) -> int:
        """The 2-byte algorithm indicator."""
        return self.value[0]

    @property
    def bits(self) -> int:
        """The length of the key in bits, as the derivation data carries it."""
        return self.value[1]

    @property
    def length(self) -> int:
        """The length of the key in bytes."""
        return self.value[1] // 8

    @property
    def is_tdes(self) -> bool:
        """True for the Triple DES key types."""
        return self is KeyType.TDES2 or self is KeyType.TDES3

    @classmethod
    def for_aes_key(cls, key: bytes) -> KeyType:
        """The AES key type of a BDK or derivation key, by its length.

        >>> KeyType.for_aes_key(bytes(32))
        <KeyType.AES256: (4, 256)>
        """
        types = {16: cls.AES128, 24: cls.AES192, 32: cls.AES256}
        try:
            return types[len(key)]
        except KeyError:
            raise DukptError(
                f"an AES DUKPT derivation key is 16, 24 or 32 bytes long, not {len(key)}"
            ) from None


@dataclass(frozen=True, slots=True)
class Ksn:
    """An AES DUKPT key serial number: initial key ID and transaction counter (6.1).

    >>> ksn = Ksn.from_bytes(bytes.fromhex("123456789012345600000003"))
    >>> ksn.bdk_id.hex(), ksn.derivation_id.hex(), ksn.counter
    ('12345678', '90123456', 3)
    >>> ksn.to_bytes().hex().upper()
    '123456789012345600000003'
    """

    initial_key_id: bytes
    counter: int

    def __post_init__(self) -> None:
        if len(self.initial_key_id) != INITIAL_KEY_ID_LENGTH:
            raise DukptError(
                f"an initial key ID is {INITIAL_KEY_ID_LENGTH} bytes long, "
                f"not {len(self.initial_key_id)}"
            )
        if not 0 <= self.counter <= 0xFFFFFFFF:
            raise DukptError("an AES DUKPT transaction counter is 4 bytes")

    @classmethod
    def from_bytes(cls, ksn: bytes) -> Ksn:
        """Split a 12-byte KSN into initial key ID and counter."""
        if len(ksn) != KSN_LENGTH:
            raise DukptError(f"an AES DUKPT KSN is {KSN_LENGTH} bytes long, not {len(ksn)}")
        return cls(bytes(ksn[:INITIAL_KEY_ID_LENGTH]), int.from_bytes(ksn[8:], "big"))

    def to_bytes(self) -> bytes:
        """The 12-byte KSN as it travels with the transaction."""
        return self.initial_key_id + self.counter.to_bytes(4, "big")

    @property
    def bdk_id(self) -> bytes:
        """The BDK ID: which base derivation key the host must use."""
        return self.initial_key_id[:4]

    @property
    def derivation_id(self) -> bytes:
        """The derivation ID: the device's half of the initial key ID."""
        return self.initial_key_id[4:]


def derivation_data(
    usage: KeyUsage, key_type: KeyType, initial_key_id: bytes, counter: int = 0
) -> bytes:
    """The 16-byte derivation data of X9.24-3-2017 table 1, key block counter 1.

    For the initial key (usage ``8001``) the last 8 bytes are the initial key ID; for every
    other key they are the derivation ID (``initial_key_id[4:]``) and the counter.

    >>> ikid = bytes.fromhex("1234567890123456")
    >>> derivation_data(KeyUsage.KEY_DERIVATION_INITIAL_KEY, KeyType.AES128, ikid).hex()
    '01018001000200801234567890123456'
    >>> derivation_data(KeyUsage.PIN_ENCRYPTION, KeyType.AES256, ikid, 1).hex()
    '01011000000401009012345600000001'
    """
    if len(initial_key_id) != INITIAL_KEY_ID_LENGTH:
        raise DukptError(
            f"an initial key ID is {INITIAL_KEY_ID_LENGTH} bytes long, not {len(initial_key_id)}"
        )
    if usage is KeyUsage.KEY_DERIVATION_INITIAL_KEY:
        tail = bytes(initial_key_id)
    else:
        tail = bytes(initial_key_id[4:]) + counter.to_bytes(4, "big")
    head = bytes((_VERSION, 1)) + usage.to_bytes(2, "big")
    return head + key_type.algorithm.to_bytes(2, "big") + key_type.bits.to_bytes(2, "big") + tail


def _check_strength(parent_type: KeyType, key_type: KeyType) -> None:
    if not key_type.is_tdes and key_type.bits > parent_type.bits:
        raise DukptError(
            f"a {key_type.name} key cannot be derived from a {parent_type.name} key: "
            "a working key may not be stronger than its derivation key"
        )


def _check_usage(usage: KeyUsage) -> None:
    if usage in (KeyUsage.KEY_DERIVATION, KeyUsage.KEY_DERIVATION_INITIAL_KEY):
        raise DukptError(f"{usage.name} is not a working key usage")


def derive_key(derivation_key: bytes, key_type: KeyType, data: bytes) -> bytes:
    """X9.24-3-2017 6.3.1 "Derive Key": AES-ECB of the derivation data, block by block.

    ``data`` is the derivation data of :func:`derivation_data`; its key block counter (byte
    1) is set to 1, 2, ... for each 16 bytes of the key, and the result is cut to the key
    type's length. A working key stronger than its derivation key is refused (6.2).

    >>> ik = bytes.fromhex("1273671EA26AC29AFA4D1084127652A1")
    >>> data = derivation_data(KeyUsage.KEY_DERIVATION, KeyType.AES128,
    ...                        bytes.fromhex("1234567890123456"), 1)
    >>> derive_key(ik, KeyType.AES128, data).hex().upper()
    '4F21B565BAD9835E112B6465635EAE44'
    """
    _check_strength(KeyType.for_aes_key(derivation_key), key_type)
    if len(data) != AES_BLOCK_SIZE:
        raise DukptError(f"derivation data is {AES_BLOCK_SIZE} bytes long, not {len(data)}")
    blocks = -(-key_type.length // AES_BLOCK_SIZE)
    buffer = b"".join(data[:1] + bytes((index,)) + data[2:] for index in range(1, blocks + 1))
    return aes_ecb_encrypt(derivation_key, buffer)[: key_type.length]


def derive_initial_key(bdk: bytes, initial_key_id: bytes) -> bytes:
    """The device's initial key from the BDK and the initial key ID (6.3.3).

    The initial key has the BDK's type (AES-128, -192 or -256, by the BDK's length).

    >>> bdk = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1" * 2)
    >>> derive_initial_key(bdk, bytes.fromhex("1234567890123456")).hex().upper()[:32]
    'CE9CE0C101D1138F97FB6CAD4DF045A7'
    """
    bdk_type = KeyType.for_aes_key(bdk)
    data = derivation_data(KeyUsage.KEY_DERIVATION_INITIAL_KEY, bdk_type, initial_key_id)
    return derive_key(bdk, bdk_type, data)


def _child(initial_key_id: bytes, key_type: KeyType) -> DeriveChild:
    def derive(parent: bytes, counter: int) -> bytes:
        data = derivation_data(KeyUsage.KEY_DERIVATION, key_type, initial_key_id, counter)
        return derive_key(parent, key_type, data)

    return derive


def derive_intermediate_key(initial_key: bytes, ksn: Ksn) -> bytes:
    """The intermediate derivation key of the KSN's counter, from the initial key (6.6).

    One derivation (usage ``8000``, the initial key's type) per one-bit of the counter,
    most significant first. The counter must be one a device may use (1 to 16 one-bits).

    >>> ik = bytes.fromhex("1273671EA26AC29AFA4D1084127652A1")
    >>> ksn = Ksn(bytes.fromhex("1234567890123456"), 3)
    >>> derive_intermediate_key(ik, ksn).hex().upper()
    '031504E530365CF81264238540518318'
    """
    AES_COUNTER.check(ksn.counter)
    return _intermediate(initial_key, ksn)


def _intermediate(initial_key: bytes, ksn: Ksn) -> bytes:
    derive = _child(ksn.initial_key_id, KeyType.for_aes_key(initial_key))
    return derive_along_counter(initial_key, ksn.counter, AES_COUNTER.bits, derive)


def derive_working_key(initial_key: bytes, ksn: Ksn, usage: KeyUsage, key_type: KeyType) -> bytes:
    """The working key of one transaction, from the initial key and the KSN (6.3.2, 6.6).

    >>> ik = bytes.fromhex("1273671EA26AC29AFA4D1084127652A1")
    >>> ksn = Ksn(bytes.fromhex("1234567890123456"), 1)
    >>> derive_working_key(ik, ksn, KeyUsage.DATA_ENCRYPT, KeyType.AES128).hex().upper()
    'A35C412EFD41FDB98B69797C02DCD08F'
    """
    intermediate = derive_intermediate_key(initial_key, ksn)
    return _working(intermediate, ksn, usage, key_type)


def _working(intermediate: bytes, ksn: Ksn, usage: KeyUsage, key_type: KeyType) -> bytes:
    _check_usage(usage)
    data = derivation_data(usage, key_type, ksn.initial_key_id, ksn.counter)
    return derive_key(intermediate, key_type, data)


def host_derive_working_key(
    bdk: bytes, ksn: Ksn | bytes, usage: KeyUsage, key_type: KeyType
) -> bytes:
    """The receiving side: a transaction's working key from the BDK and the KSN alone.

    >>> bdk = bytes.fromhex("FEDCBA9876543210F1F1F1F1F1F1F1F1")
    >>> ksn = bytes.fromhex("123456789012345600000008")
    >>> host_derive_working_key(bdk, ksn, KeyUsage.MAC_GENERATION, KeyType.AES128).hex().upper()
    '6FD572E5D59E618875F193484F9178FB'
    """
    parsed = ksn if isinstance(ksn, Ksn) else Ksn.from_bytes(ksn)
    initial_key = derive_initial_key(bdk, parsed.initial_key_id)
    return derive_working_key(initial_key, parsed, usage, key_type)


def derive_update_key(initial_key: bytes, initial_key_id: bytes, key_type: KeyType) -> bytes:
    """The DUKPT update key (6.3.4): a key-encryption key for loading a new initial key.

    It is derived as a working key of usage ``0002`` at counter ``FFFFFFFF``, which no
    transaction uses (it has 32 one-bits), so it never equals a transaction's key.

    >>> ik = bytes.fromhex("1273671EA26AC29AFA4D1084127652A1")
    >>> derive_update_key(ik, bytes.fromhex("1234567890123456"), KeyType.AES128).hex().upper()
    '9A9770AEE1ACD1B13473D0463A1883B9'
    """
    ksn = Ksn(initial_key_id, UPDATE_KEY_COUNTER)
    return _working(_intermediate(initial_key, ksn), ksn, KeyUsage.KEY_ENCRYPTION, key_type)


class AesDukptDevice:
    """The transaction-originating side of AES DUKPT (X9.24-3-2017 section 6.5).

    Holds the 32 intermediate derivation key registers (the future keys) and the counter;
    :meth:`next_working_key` gives the KSN and working key of the next transaction and
    moves the state on, erasing the key it used. The initial key itself is not kept.

    >>> device = AesDukptDevice(bytes.fromhex("1273671EA26AC29AFA4D1084127652A1"),
    ...                         bytes.fromhex("1234567890123456"))
    >>> ksn, key = device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
    >>> ksn.to_bytes().hex().upper(), key.hex().upper()
    ('123456789012345600000001', 'AF8CB133A78F8DC2D1359F18527593FB')
    >>> device.ksn.counter
    2
    """

    __slots__ = ("_initial_key_id", "_key_type", "_registers")

    def __init__(self, initial_key: bytes, initial_key_id: bytes) -> None:
        Ksn(initial_key_id, 0)  # checks the initial key ID's length
        self._initial_key_id = bytes(initial_key_id)
        self._key_type = KeyType.for_aes_key(initial_key)
        derive = _child(self._initial_key_id, self._key_type)
        self._registers = FutureKeyRegisters(initial_key, AES_COUNTER, derive)

    def __repr__(self) -> str:
        return f"AesDukptDevice(ksn={self.ksn.to_bytes().hex().upper()})"

    @property
    def ksn(self) -> Ksn:
        """The KSN the next transaction will carry (before invalid counters are skipped)."""
        return Ksn(self._initial_key_id, self._registers.counter)

    @property
    def intermediate_keys(self) -> tuple[bytes | None, ...]:
        """The 32 intermediate derivation key registers, index = counter bit (test vectors)."""
        return self._registers.registers

    @property
    def counter(self) -> int:
        """The counter of the next transaction as a state file keeps it (``2**32``: exhausted)."""
        return self._registers.counter

    @property
    def initial_key_id(self) -> bytes:
        """The initial key ID (BDK ID || derivation ID) every KSN of this device starts with."""
        return self._initial_key_id

    @property
    def key_type(self) -> KeyType:
        """The AES type of the initial key, so of every derivation key of the device."""
        return self._key_type

    @classmethod
    def restore(
        cls, initial_key_id: bytes, registers: tuple[bytes | None, ...], counter: int
    ) -> AesDukptDevice:
        """A device from its saved state: :attr:`intermediate_keys` and ``ksn.counter``.

        >>> device = AesDukptDevice(bytes.fromhex("1273671EA26AC29AFA4D1084127652A1"),
        ...                         bytes.fromhex("1234567890123456"))
        >>> _ = device.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)
        >>> again = AesDukptDevice.restore(device.initial_key_id, device.intermediate_keys,
        ...                                device.counter)
        >>> again.next_working_key(KeyUsage.PIN_ENCRYPTION, KeyType.AES128)[1].hex().upper()
        'D30BDC73EC9714B000BEC66BDB7B6D09'
        """
        Ksn(initial_key_id, 0)
        filled = [register for register in registers if register is not None]
        if not filled:
            raise DukptExhaustedError("the saved DUKPT state holds no key: the device is exhausted")
        device = cls.__new__(cls)
        device._initial_key_id = bytes(initial_key_id)
        device._key_type = KeyType.for_aes_key(filled[0])
        derive = _child(device._initial_key_id, device._key_type)
        device._registers = FutureKeyRegisters.restore(registers, counter, AES_COUNTER, derive)
        return device

    def next_transaction_keys(
        self, *keys: tuple[KeyUsage, KeyType]
    ) -> tuple[Ksn, tuple[bytes, ...]]:
        """The next transaction's KSN and one working key per ``(usage, type)``: one counter.

        A transaction needing a data-encryption and a MAC key derives both from the same
        intermediate key (X9.24-3-2017 6.3.2), so they share the KSN the host receives.
        """
        for usage, key_type in keys:
            _check_usage(usage)
            _check_strength(self._key_type, key_type)
        counter, intermediate = self._registers.use()
        ksn = Ksn(self._initial_key_id, counter)
        return ksn, tuple(_working(intermediate, ksn, u, t) for u, t in keys)

    def next_working_key(self, usage: KeyUsage, key_type: KeyType) -> tuple[Ksn, bytes]:
        """The next transaction's KSN and working key; the state moves on first.

        Raises :class:`~emvcore.errors.DukptExhaustedError` once the last counter is used.
        """
        _check_usage(usage)
        _check_strength(self._key_type, key_type)  # refused before a counter is spent
        counter, intermediate = self._registers.use()
        ksn = Ksn(self._initial_key_id, counter)
        return ksn, _working(intermediate, ksn, usage, key_type)

"""Terminal Verification Results (95) and Transaction Status Information (9B), bit by bit.

The bit assignments are EMV Book 3 Annex C5 (TVR) and C6 (TSI). Each bit is named once
here; the kernel sets them by name and tests assert them by name.
"""

from __future__ import annotations

from enum import Enum


class TvrBit(Enum):
    """TVR bits as (byte index, mask) — Book 3 Annex C5."""

    ODA_NOT_PERFORMED = (0, 0x80)
    SDA_FAILED = (0, 0x40)
    ICC_DATA_MISSING = (0, 0x20)
    CARD_ON_EXCEPTION_FILE = (0, 0x10)
    DDA_FAILED = (0, 0x08)
    CDA_FAILED = (0, 0x04)
    APPLICATION_VERSIONS_DIFFER = (1, 0x80)
    EXPIRED_APPLICATION = (1, 0x40)
    APPLICATION_NOT_YET_EFFECTIVE = (1, 0x20)
    SERVICE_NOT_ALLOWED = (1, 0x10)
    NEW_CARD = (1, 0x08)
    CARDHOLDER_VERIFICATION_FAILED = (2, 0x80)
    UNRECOGNISED_CVM = (2, 0x40)
    PIN_TRY_LIMIT_EXCEEDED = (2, 0x20)
    PIN_PAD_NOT_PRESENT = (2, 0x10)
    PIN_NOT_ENTERED = (2, 0x08)
    ONLINE_PIN_ENTERED = (2, 0x04)
    FLOOR_LIMIT_EXCEEDED = (3, 0x80)
    LOWER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED = (3, 0x40)
    UPPER_CONSECUTIVE_OFFLINE_LIMIT_EXCEEDED = (3, 0x20)
    RANDOMLY_SELECTED_ONLINE = (3, 0x10)
    MERCHANT_FORCED_ONLINE = (3, 0x08)
    DEFAULT_TDOL_USED = (4, 0x80)
    ISSUER_AUTHENTICATION_FAILED = (4, 0x40)
    SCRIPT_FAILED_BEFORE_FINAL_AC = (4, 0x20)
    SCRIPT_FAILED_AFTER_FINAL_AC = (4, 0x10)


class TsiBit(Enum):
    """TSI bits as (byte index, mask) — Book 3 Annex C6."""

    ODA_PERFORMED = (0, 0x80)
    CARDHOLDER_VERIFICATION_PERFORMED = (0, 0x40)
    CARD_RISK_MANAGEMENT_PERFORMED = (0, 0x20)
    ISSUER_AUTHENTICATION_PERFORMED = (0, 0x10)
    TERMINAL_RISK_MANAGEMENT_PERFORMED = (0, 0x08)
    SCRIPT_PROCESSING_PERFORMED = (0, 0x04)


class _Bits:
    size = 0

    def __init__(self, value: bytes | None = None) -> None:
        self._value = bytearray(value if value is not None else bytes(self.size))

    def set(self, *bits: TvrBit | TsiBit) -> None:
        """Set bits."""
        for bit in bits:
            index, mask = bit.value
            self._value[index] |= mask

    def clear(self, *bits: TvrBit | TsiBit) -> None:
        """Clear bits."""
        for bit in bits:
            index, mask = bit.value
            self._value[index] &= ~mask & 0xFF

    def __contains__(self, bit: TvrBit | TsiBit) -> bool:
        index, mask = bit.value
        return bool(self._value[index] & mask)

    def __bytes__(self) -> bytes:
        return bytes(self._value)


class Tvr(_Bits):
    """A mutable TVR.

    >>> tvr = Tvr()
    >>> tvr.set(TvrBit.ODA_NOT_PERFORMED, TvrBit.FLOOR_LIMIT_EXCEEDED)
    >>> bytes(tvr).hex(), TvrBit.CDA_FAILED in tvr
    ('8000008000', False)
    """

    size = 5

    def names(self) -> list[str]:
        """Names of the bits set, for logs and test messages."""
        return [bit.name for bit in TvrBit if bit in self]


class Tsi(_Bits):
    """A mutable TSI."""

    size = 2


def tvr_names(tvr: bytes) -> list[str]:
    """Names of the TVR bits set in a 5-byte TVR value."""
    return Tvr(tvr).names()

"""The capability container of an NFC Forum Type 4 Tag (T4T specification 2.0, 5.1).

The CC file (file id E103) tells a reader how to talk to the tag and where its NDEF file
is. For mapping version 2.0 it is 15 bytes::

    CCLEN(2) = 000F   mapping version(1) = 20   MLe(2)   MLc(2)
    NDEF File Control TLV: T = 04, L = 06,
        file id(2) = E104, max NDEF file size(2), read access(1), write access(1)

MLe is the most data a READ BINARY response may carry (at least 000Fh), MLc the most data
an UPDATE BINARY may carry (at least 0001h); the maximum NDEF file size counts the 2-byte
NLEN and is 0005h..FFFEh; read access 00 is "granted without any security", write access
FF "no write access granted at all" (a read-only tag). The tag writes it
(:class:`~card_emulation.tag.type4.Type4Tag`) and the wallet's reader parses it
(:mod:`card_emulation.wallet.tag_reader`).

>>> cc = CapabilityContainer(mle=0x0100, mlc=0x00FF, ndef_file_size=1024)
>>> cc.encode().hex().upper()
'000F20010000FF0406E104040000FF'
>>> CapabilityContainer.decode(cc.encode()) == cc
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from card_emulation.errors import CapabilityError

#: The NDEF Tag Application name (T4T 2.0 section 5.4.2): mapping version 2.0.
NDEF_AID: Final = bytes.fromhex("D2760000850101")
CC_FILE: Final = bytes.fromhex("E103")
NDEF_FILE: Final = bytes.fromhex("E104")
MAPPING_VERSION_2_0: Final = 0x20
CC_LENGTH: Final = 15
NDEF_FILE_CONTROL_TLV: Final = 0x04
ACCESS_GRANTED: Final = 0x00
NO_ACCESS: Final = 0xFF
#: The NLEN field in front of the NDEF message, for a mapping 2.0 NDEF file.
NLEN_SIZE: Final = 2


@dataclass(frozen=True, slots=True)
class CapabilityContainer:
    """The fields of a mapping 2.0 CC with one NDEF File Control TLV."""

    mle: int
    mlc: int
    ndef_file_size: int
    ndef_file_id: bytes = NDEF_FILE
    read_access: int = ACCESS_GRANTED
    write_access: int = NO_ACCESS
    version: int = MAPPING_VERSION_2_0

    def __post_init__(self) -> None:
        if not 0x000F <= self.mle <= 0xFFFF or not 0x0001 <= self.mlc <= 0xFFFF:
            raise CapabilityError("MLe is 000F..FFFF and MLc 0001..FFFF (T4T 2.0 5.1)")
        if not 0x0005 <= self.ndef_file_size <= 0xFFFE:
            raise CapabilityError("the maximum NDEF file size is 0005..FFFE (T4T 2.0 5.1.2.1)")
        if len(self.ndef_file_id) != 2:
            raise CapabilityError("a file identifier is 2 bytes")

    @property
    def read_only(self) -> bool:
        """Whether the NDEF file may be read but never written."""
        return self.read_access == ACCESS_GRANTED and self.write_access == NO_ACCESS

    def encode(self) -> bytes:
        """The 15 bytes of the CC file."""
        tlv = (
            bytes([NDEF_FILE_CONTROL_TLV, 6])
            + self.ndef_file_id
            + self.ndef_file_size.to_bytes(2, "big")
            + bytes([self.read_access, self.write_access])
        )
        return (
            CC_LENGTH.to_bytes(2, "big")
            + bytes([self.version])
            + self.mle.to_bytes(2, "big")
            + self.mlc.to_bytes(2, "big")
            + tlv
        )

    @classmethod
    def decode(cls, data: bytes) -> CapabilityContainer:
        """Parse a CC; only the major mapping version 2 and a 2-byte-NLEN NDEF file.

        >>> CapabilityContainer.decode(bytes.fromhex("000F30003B00340406E10400FF00FF"))
        Traceback (most recent call last):
        ...
        card_emulation.errors.CapabilityError: mapping version 3.0 is not 2.x
        """
        if len(data) < CC_LENGTH:
            raise CapabilityError(f"a CC is at least {CC_LENGTH} bytes, not {len(data)}")
        cclen = int.from_bytes(data[0:2], "big")
        if cclen < CC_LENGTH:
            raise CapabilityError(f"CCLEN {cclen} is shorter than {CC_LENGTH}")
        version = data[2]
        if version >> 4 != 2:
            raise CapabilityError(f"mapping version {version >> 4}.{version & 15} is not 2.x")
        if data[7] != NDEF_FILE_CONTROL_TLV or data[8] != 6:
            raise CapabilityError("the CC holds no NDEF File Control TLV (04, length 6)")
        return cls(
            mle=int.from_bytes(data[3:5], "big"),
            mlc=int.from_bytes(data[5:7], "big"),
            ndef_file_id=bytes(data[9:11]),
            ndef_file_size=int.from_bytes(data[11:13], "big"),
            read_access=data[13],
            write_access=data[14],
            version=version,
        )

"""The reader side of a Type 4 Tag: the NDEF detection and read procedures (T4T 2.0 5.4).

What a phone does when it finds a tag: SELECT the NDEF Tag Application (5.4.2, P2 00 and
Le 00, as Android sends it), SELECT the CC file (5.4.3), READ BINARY the CC (5.4.4: CCLEN
first, then the rest), check the mapping version and the NDEF File Control TLV, SELECT the
NDEF file (5.4.5), READ BINARY NLEN, then the message in pieces of at most MLe (5.4.6).
Every step's status word is checked; a tag that answers otherwise raises
:class:`~card_emulation.errors.TagReadError` with that status word.
"""

from __future__ import annotations

from card_emulation.errors import CapabilityError, TagReadError
from card_emulation.tag.capability import (
    CC_FILE,
    CC_LENGTH,
    NDEF_AID,
    NLEN_SIZE,
    CapabilityContainer,
)
from card_emulation.wallet.readers import Transceive
from emvcore.apdu import CommandApdu, ResponseApdu
from emvcore.errors import ApduError


def _command(transceive: Transceive, command: CommandApdu, what: str) -> bytes:
    try:
        response = ResponseApdu.decode(transceive(command.encode()))
    except ApduError as exc:
        raise TagReadError(f"{what}: {exc}") from None
    if not response.ok:
        raise TagReadError(f"{what} refused", sw=response.sw)
    return response.data


def _select_file(transceive: Transceive, file_id: bytes, what: str) -> None:
    _command(transceive, CommandApdu(0x00, 0xA4, 0x00, 0x0C, file_id), f"SELECT {what}")


def _read(transceive: Transceive, offset: int, length: int, what: str) -> bytes:
    data = _command(
        transceive, CommandApdu(0x00, 0xB0, offset >> 8, offset & 0xFF, le=length), what
    )
    if not data or len(data) > length:
        raise TagReadError(f"{what}: {len(data)} bytes for a read of {length}")
    return data


def read_capability(transceive: Transceive) -> CapabilityContainer:
    """Select the NDEF Tag Application and the CC file, read and parse the CC."""
    select = CommandApdu(0x00, 0xA4, 0x04, 0x00, NDEF_AID, le=256)
    _command(transceive, select, "SELECT of the NDEF Tag Application")
    _select_file(transceive, CC_FILE, "the capability container")
    cclen = int.from_bytes(_read(transceive, 0, 2, "READ BINARY of CCLEN"), "big")
    if cclen < CC_LENGTH:
        raise TagReadError(f"CCLEN {cclen} is shorter than {CC_LENGTH}")
    rest = _read(transceive, 2, CC_LENGTH - 2, "READ BINARY of the CC")
    try:
        return CapabilityContainer.decode(cclen.to_bytes(2, "big") + rest)
    except CapabilityError as exc:
        raise TagReadError(f"unusable capability container: {exc}") from None


def read_ndef(transceive: Transceive) -> bytes:
    """The NDEF message in the tag (empty when NLEN is 0)."""
    cc = read_capability(transceive)
    if cc.read_access != 0x00:
        raise TagReadError("the NDEF file is not readable without security")
    _select_file(transceive, cc.ndef_file_id, "the NDEF file")
    nlen = int.from_bytes(_read(transceive, 0, NLEN_SIZE, "READ BINARY of NLEN"), "big")
    if nlen > cc.ndef_file_size - NLEN_SIZE:
        raise TagReadError(f"NLEN {nlen} exceeds the NDEF file size {cc.ndef_file_size}")
    message = bytearray()
    while len(message) < nlen:
        offset = NLEN_SIZE + len(message)
        chunk = min(cc.mle, nlen - len(message), 256)  # short APDUs: Le at most 256
        message += _read(transceive, offset, chunk, "READ BINARY of the NDEF message")
    return bytes(message)

"""A dynamic, read-only NFC Forum Type 4 Tag as an APDU state machine (T4T 2.0).

One object, one method, the card-side contract of every emulated card:
:meth:`Type4Tag.process_apdu` takes a command APDU and returns the response APDU, so the
existing transports serve it unchanged: inside pcscd (:mod:`.transports.vpcd`) and as a
Type 4A target of nfcpy (:mod:`.transports.nfc_target`). Its NDEF message is replaced
per transaction from another thread with :meth:`Type4Tag.present` / :meth:`Type4Tag.clear`.

Command set (T4T 2.0 section 4.2 and 5.4; ISO/IEC 7816-4 status words):

=====================================  ========================================  ======
command                                when                                      answer
=====================================  ========================================  ======
any, CLA other than 00                                                           6E00
INS other than A4, B0, D6                                                        6D00
inconsistent Lc / Le coding                                                      6700
SELECT 00 A4 04 00|0C 07 D2760000850101 [Le]                                     9000
SELECT by name, another name                                                     6A82
SELECT 00 A4 00 0C 02 E103 | E104      NDEF application selected                 9000
SELECT by file id, other id or before the application is selected                6A82
SELECT, Lc not 2 (file id) / 5..16 (name)                                        6700
SELECT, other P1-P2                                                              6A86
READ BINARY 00 B0 P1P2 Le              a file selected, offset < file size       data 9000
READ BINARY, no file selected                                                    6986
READ BINARY, offset (15 bits) >= the file size, or P1 b8 set (SFI)               6B00
READ BINARY, no Le, Le > MLe, or a data field                                    6700
UPDATE BINARY 00 D6, a file selected   read-only tag (write access FF)           6982
UPDATE BINARY, no file selected                                                  6986
=====================================  ========================================  ======

A READ BINARY past the end of the file returns the bytes up to the end with 9000 (a Type 4
reader reads NLEN first and never asks past NLEN + 2). The NDEF file is ``NLEN || message``
padded with zeros to its maximum size, which the CC announces. SELECT does not return an
FCI (T4T 2.0 5.4.2: no response data).

Atomic content (the "never a mix" rule): the NDEF file is an immutable ``bytes`` snapshot,
taken once per SELECT of the NDEF Tag Application; a reader that is reading keeps its
snapshot until it selects the application again, so it sees the old message or the new one,
never NLEN of one and bytes of the other. ``present`` also takes a zero-argument callable
that is called at each SELECT of the application, for a fresh link (new nonce) per tap.

>>> tag = Type4Tag()
>>> tag.process_apdu(bytes.fromhex("00A4040007D276000085010100")).hex().upper()
'9000'
>>> tag.process_apdu(bytes.fromhex("00A4000C02E103")).hex().upper()
'9000'
>>> tag.process_apdu(bytes.fromhex("00B000000F")).hex().upper()
'000F20010000FF0406E104040000FF9000'
>>> tag.process_apdu(bytes.fromhex("00A4000C02E104")).hex().upper()
'9000'
>>> tag.process_apdu(bytes.fromhex("00B0000005")).hex().upper()  # idle: NLEN 3, D0 00 00
'0003D000009000'
>>> tag.process_apdu(bytes.fromhex("00D6000001FF")).hex().upper()
'6982'
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

from card_emulation.errors import TagError
from card_emulation.tag.capability import (
    CC_FILE,
    NDEF_AID,
    NDEF_FILE,
    NLEN_SIZE,
    CapabilityContainer,
)
from emvcore.apdu import SW, CommandApdu
from emvcore.errors import ApduError
from emvcore.tapmode.ndef import IDLE_MESSAGE

#: MLe: 256 bytes a READ BINARY (a short Le of 00), as NXP's NTAG 424 DNA announces.
DEFAULT_MLE: Final = 0x0100
#: MLc: 255 bytes, a short Lc (the tag is read-only; a reader only needs it to be valid).
DEFAULT_MLC: Final = 0x00FF
#: The NDEF file holds NLEN and a message of up to 1022 bytes: plenty for a link and an AAR.
DEFAULT_NDEF_FILE_SIZE: Final = 1024

INS_SELECT: Final = 0xA4
INS_READ_BINARY: Final = 0xB0
INS_UPDATE_BINARY: Final = 0xD6

Content = bytes | Callable[[], bytes]


def _sw(sw: int, data: bytes = b"") -> bytes:
    return data + sw.to_bytes(2, "big")


class Type4Tag:
    """A read-only NFC Forum Type 4 Tag (mapping 2.0) whose NDEF message changes per tap."""

    def __init__(
        self,
        *,
        mle: int = DEFAULT_MLE,
        mlc: int = DEFAULT_MLC,
        ndef_file_size: int = DEFAULT_NDEF_FILE_SIZE,
    ) -> None:
        self.capability = CapabilityContainer(mle=mle, mlc=mlc, ndef_file_size=ndef_file_size)
        self._cc_file = self.capability.encode()
        self._lock = threading.Lock()
        self._content: Content = IDLE_MESSAGE
        #: How many times a reader selected the NDEF Tag Application (taps, roughly).
        self.selections = 0
        self._application = False
        self._ndef_file = b""
        self._current: bytes | None = None

    # -- content, from the terminal's thread ----------------------------------------------

    def present(self, message: Content) -> None:
        """Present ``message`` (NDEF message bytes, or a callable making them per SELECT)."""
        if not callable(message):
            self._file_for(message)  # refuse what does not fit now, not at the next tap
        with self._lock:
            self._content = message

    def clear(self) -> None:
        """Present the idle message: no payable session."""
        self.present(IDLE_MESSAGE)

    def _file_for(self, message: bytes) -> bytes:
        room = self.capability.ndef_file_size - NLEN_SIZE
        if len(message) > room:
            raise TagError(f"an NDEF message of {len(message)} bytes exceeds the {room} the file holds")
        padding = bytes(room - len(message))
        return len(message).to_bytes(NLEN_SIZE, "big") + bytes(message) + padding

    def _snapshot(self) -> bytes:
        with self._lock:
            content = self._content
        return self._file_for(content() if callable(content) else content)

    # -- the card side ---------------------------------------------------------------------

    def reset(self) -> None:
        """A field reset or a new activation: nothing selected."""
        self._application = False
        self._current = None

    def process_apdu(self, apdu: bytes) -> bytes:
        """Answer one command APDU (table in the module docstring); never raises."""
        try:
            command = CommandApdu.decode(bytes(apdu))
        except ApduError:
            return _sw(SW.WRONG_LENGTH)
        if command.cla != 0x00:
            return _sw(SW.CLA_NOT_SUPPORTED)
        if command.ins == INS_SELECT:
            return self._select(command)
        if command.ins == INS_READ_BINARY:
            return self._read_binary(command)
        if command.ins == INS_UPDATE_BINARY:
            if self._current is None:
                return _sw(SW.COMMAND_NOT_ALLOWED)
            return _sw(SW.SECURITY_STATUS_NOT_SATISFIED)
        return _sw(SW.INS_NOT_SUPPORTED)

    def _select(self, command: CommandApdu) -> bytes:
        """NDEF Tag Application Select (5.4.2), CC Select (5.4.3), NDEF Select (5.4.5)."""
        if command.p1 == 0x04 and command.p2 in (0x00, 0x0C):
            if not 5 <= len(command.data) <= 16:
                return _sw(SW.WRONG_LENGTH)
            if command.data != NDEF_AID:
                self.reset()
                return _sw(SW.FILE_NOT_FOUND)
            try:
                snapshot = self._snapshot()
            except TagError:  # a per-tap callable made a message too large: present nothing
                self.reset()
                return _sw(SW.FILE_NOT_FOUND)
            self._application, self._current, self._ndef_file = True, None, snapshot
            self.selections += 1
            return _sw(SW.OK)
        if command.p1 == 0x00 and command.p2 == 0x0C:
            if len(command.data) != 2:
                return _sw(SW.WRONG_LENGTH)
            if not self._application or command.data not in (CC_FILE, NDEF_FILE):
                return _sw(SW.FILE_NOT_FOUND)
            self._current = self._cc_file if command.data == CC_FILE else self._ndef_file
            return _sw(SW.OK)
        return _sw(SW.INCORRECT_P1P2)

    def _read_binary(self, command: CommandApdu) -> bytes:
        """READ BINARY (ISO/IEC 7816-4 11.2.3; T4T 2.0 5.4.4 and 5.4.6)."""
        if command.data or command.le is None or command.le > self.capability.mle:
            return _sw(SW.WRONG_LENGTH)
        if self._current is None:
            return _sw(SW.COMMAND_NOT_ALLOWED)
        if command.p1 & 0x80:  # P1 b8 = 1 is a short EF identifier, not an offset
            return _sw(SW.WRONG_P1P2)
        offset = command.p1 << 8 | command.p2
        if offset >= len(self._current):
            return _sw(SW.WRONG_P1P2)
        return _sw(SW.OK, self._current[offset : offset + command.le])

"""The card (PICC) side of ISO/IEC 14443-4, the half-duplex block protocol of ISO-DEP.

Pure bytes in, bytes out: :class:`IsoDepCard` turns the reader's frames into command APDUs
for the card object and the card's response APDUs into frames, and the transport
(:mod:`.nfc_target`) moves the frames. nfcpy has a reader side (``nfc.tag.tt4``) but no
card side; this is it. References are to the clauses of ISO/IEC 14443-4 by title.

Activation, Type A ("Protocol activation of PICC Type A": RATS, "Answer to select"): RATS
``E0 [FSDI|CID]`` is answered with the ATS ``TL T0 TA TB TC historical-bytes``. The ATS
always carries TA, TB and TC: nfcpy's reader reads TB and TC at fixed offsets and waits
only 30 ms for the ATS. Type B (ISO/IEC 14443-3 "ATQB", "ATTRIB command", "Answer to
ATTRIB"): the frame size and FWI travel in the ATQB (SENSB_RES, see
:func:`atqb`) and ``ATTRIB 1D PUPI param1..4`` is answered with ``MBLI|CID``.

Blocks ("Block format", the PCB coding), ``b`` the block number, ``c`` chaining, ``i`` CID following::

    I-block   000c i01b     information, chained when c = 1
    R-block   1010 i01b     R(ACK)        1011 i01b   R(NAK)
    S-block   1100 i010     S(DESELECT)   1111 i010   S(WTX), INF = WTXM (1..59)

Block-numbering and error rules ("Protocol operation", the rules for the PICC): the card's block number starts at 1
and toggles on an I-block or R(ACK) whose number differs from it; an R-block with the
card's number asks for the last block again; an R(NAK) with the other number is answered
R(ACK). Long responses are chained in blocks of at most FSD - 3 bytes (PCB and the two
EDC bytes, which the radio adds); a chained command is acknowledged with R(ACK) per
block. While the card computes, it asks for more time with S(WTX) ("Frame waiting time
extension"), which the reader echoes; S(DESELECT) is echoed and ends the session ("Protocol
deactivation").

>>> card = IsoDepCard(_Echo())
>>> card.activate(bytes.fromhex("E080")).hex().upper()
'0578008000'
>>> card.receive(bytes.fromhex("0200A4040000"))
Command(apdu=b'\\x00\\xa4\\x04\\x00\\x00')
>>> card.respond(b"\\x90\\x00").hex().upper()
'029000'
>>> card.receive(bytes.fromhex("C2")).hex().upper()
'C2'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from card_emulation.transports import ApduCard, reset_card

#: FSDI/FSCI -> frame size (Table 8 of ISO/IEC 14443-4:2018).
FRAME_SIZES: Final = (16, 24, 32, 40, 48, 64, 96, 128, 256, 512, 1024, 2048, 4096)

RATS: Final = 0xE0
ATTRIB: Final = 0x1D
S_DESELECT: Final = 0xC2
S_WTX: Final = 0xF2


def frame_size(index: int) -> int:
    """The frame size for an FSDI/FSCI (FSDI 9-C: 512-4096 bytes since the 2016 amendment);
    RFU values count as 256.

    >>> frame_size(8), frame_size(2), frame_size(15)
    (256, 32, 256)
    """
    return FRAME_SIZES[index] if index < len(FRAME_SIZES) else 256


def ats(*, fsci: int = 8, fwi: int = 8, sfgi: int = 0, historical: bytes = b"") -> bytes:
    """An ATS with TA, TB and TC present ("Answer to select").

    TA = 00: 106 kbit/s both ways only. TB = FWI|SFGI: the frame waiting time is
    ``256 * 16 * 2**FWI / fc`` (about 77 ms for FWI 8). TC = 00: no NAD, no CID.

    >>> ats().hex().upper()
    '0578008000'
    >>> ats(fwi=4, historical=b"Tap").hex().upper()
    '0878004000546170'
    """
    if not (0 <= fsci <= 8 and 0 <= fwi <= 14 and 0 <= sfgi <= 14):
        raise ValueError("FSCI must be 0..8, FWI and SFGI 0..14")
    body = bytes([0x70 | fsci, 0x00, fwi << 4 | sfgi, 0x00]) + historical
    return bytes([len(body) + 1]) + body


def atqb(pupi: bytes, *, fsci: int = 8, fwi: int = 8, application_data: bytes = bytes(4)) -> bytes:
    """The ATQB (SENSB_RES) of a Type B card (ISO/IEC 14443-3 "ATQB response").

    ``50 PUPI(4) application-data(4) protocol-info(3)``; protocol info: bit rates 00 (106
    kbit/s only), ``FSCI|1`` (ISO/IEC 14443-4 compliant), ``FWI|ADC 0|FO 0`` (no NAD, no
    CID). nfcpy reads FSCI from byte 10 and FWI from byte 11.

    >>> atqb(bytes.fromhex("0A0B0C0D")).hex().upper()
    '500A0B0C0D00000000008180'
    """
    if len(pupi) != 4 or len(application_data) != 4:
        raise ValueError("PUPI and application data are 4 bytes each")
    if not (0 <= fsci <= 8 and 0 <= fwi <= 14):
        raise ValueError("FSCI must be 0..8, FWI 0..14")
    return b"\x50" + pupi + application_data + bytes([0x00, fsci << 4 | 0x01, fwi << 4])


@dataclass(frozen=True, slots=True)
class Command:
    """A complete command APDU, reassembled from one or more I-blocks, for the card."""

    apdu: bytes


class IsoDepCard:
    """The ISO-DEP layer of one card in the field, from activation to DESELECT."""

    def __init__(
        self,
        card: ApduCard,
        *,
        fsci: int = 8,
        fwi: int = 8,
        historical: bytes = b"",
    ) -> None:
        self.card = card
        self.ats = ats(fsci=fsci, fwi=fwi, historical=historical)
        self.fwt = 256 * 16 * 2**fwi / 13.56e6
        self.fsd = 256
        self.active = False
        self._block = 1
        self._cid: int | None = None
        self._last = b""
        self._command = bytearray()
        self._pending = b""

    # -- activation ------------------------------------------------------------------------

    def activate(self, rats: bytes | None = None) -> bytes:
        """Answer RATS with the ATS; ``None`` when the reader's chip answered RATS itself."""
        reset_card(self.card)
        self.active, self._block, self._last = True, 1, b""
        self._command.clear()
        self._pending = b""
        if rats is None:
            return b""
        if len(rats) != 2 or rats[0] != RATS:
            raise ValueError(f"not a RATS: {rats.hex().upper()}")
        self.fsd = frame_size(rats[1] >> 4)
        return self._send(self.ats)

    def activate_b(self, attrib: bytes) -> bytes:
        """Answer ATTRIB (ISO/IEC 14443-3 "Answer to ATTRIB"): ``MBLI|CID``, FSD from Param 2."""
        if len(attrib) < 9 or attrib[0] != ATTRIB:
            raise ValueError(f"not an ATTRIB: {attrib.hex().upper()}")
        self.activate(None)
        self.fsd = frame_size(attrib[6] & 0x0F)
        return self._send(b"\x00")

    # -- the block protocol ----------------------------------------------------------------

    def receive(self, frame: bytes) -> bytes | Command:
        """One frame from the reader: the frame to answer, or a command for the card."""
        if not frame:
            return self._last
        pcb = frame[0]
        self._cid = frame[1] if pcb & 0x08 and len(frame) > 1 else None
        inf = frame[1 + (self._cid is not None) + bool(pcb & 0x04 and pcb & 0xE2 == 0x02) :]
        if pcb & 0xE2 == 0x02:  # I-block
            return self._i_block(pcb, inf)
        if pcb & 0xE6 == 0xA2:  # R-block
            return self._r_block(pcb)
        if pcb & 0xF7 == S_DESELECT:
            self.active = False
            return self._send(bytes([pcb]) + frame[1 : 1 + (self._cid is not None)])
        # An S(WTX) response outside a wait, or a malformed block: stay silent (error rules).
        return b""

    def respond(self, response: bytes) -> bytes:
        """The first frame of the card's response APDU, chained when it exceeds FSD."""
        self._pending = response
        return self._next_chunk()

    def wtx_request(self, wtxm: int) -> bytes:
        """S(WTX): ask for ``wtxm`` (1..59) frame waiting times more."""
        if not 1 <= wtxm <= 59:
            raise ValueError("WTXM must be 1..59")
        return self._prologue(S_WTX) + bytes([wtxm])

    @staticmethod
    def is_wtx_response(frame: bytes) -> bool:
        """Whether the reader granted the extra time (it echoes the S(WTX) block)."""
        return bool(frame) and frame[0] & 0xF7 == S_WTX

    # -- internals -------------------------------------------------------------------------

    def _i_block(self, pcb: int, inf: bytes) -> bytes | Command:
        if pcb & 0x01 != self._block:
            self._block ^= 1
        self._command += inf
        if pcb & 0x10:  # the reader chains: acknowledge, wait for the rest
            return self._send(self._prologue(0xA2 | self._block))
        apdu, self._command = bytes(self._command), bytearray()
        return Command(apdu)

    def _r_block(self, pcb: int) -> bytes:
        if pcb & 0x01 == self._block:
            return self._last  # rule 11: the reader missed our last block
        if pcb & 0x10:  # R(NAK), other number: rule 12
            return self._send(self._prologue(0xA2 | self._block))
        self._block ^= 1  # R(ACK), other number: rule 13, go on chaining
        return self._next_chunk() if self._pending else self._last

    def _next_chunk(self) -> bytes:
        room = self.fsd - 3 - (self._cid is not None)
        chunk, self._pending = self._pending[:room], self._pending[room:]
        chaining = 0x10 if self._pending else 0x00
        return self._send(self._prologue(0x02 | chaining | self._block) + chunk)

    def _prologue(self, pcb: int) -> bytes:
        if self._cid is None:
            return bytes([pcb])
        return bytes([pcb | 0x08, self._cid])

    def _send(self, frame: bytes) -> bytes:
        self._last = frame
        return frame


class _Echo:
    """A card that answers 9000 to everything (for the module's examples)."""

    def process_apdu(self, apdu: bytes) -> bytes:
        return b"\x90\x00"

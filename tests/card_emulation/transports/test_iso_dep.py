"""The ISO/IEC 14443-4 card side, frame by frame (the rules of 7.5.3, chaining, S-blocks),
and against nfcpy's own ISO-DEP initiator through a scripted in-memory radio."""

from __future__ import annotations

import pytest
from nfc.tag.tt4 import IsoDepInitiator

from card_emulation.transports.iso_dep import Command, IsoDepCard, atqb, ats, frame_size
from tests.readers.stacks import Recorder


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_ats_carries_ta_tb_tc_at_fixed_positions() -> None:
    # nfcpy reads FSCI from T0 (byte 1) and FWI from TB (byte 3): they must be there.
    value = ats(fsci=5, fwi=7, sfgi=2)
    assert value == h("05 75 00 72 00")
    assert value[1] & 0x70 == 0x70
    assert frame_size(value[1] & 0x0F) == 64


def test_rats_sets_fsd_and_resets_the_card() -> None:
    card = Recorder()
    iso = IsoDepCard(card)
    assert iso.activate(h("E050")) == iso.ats  # FSDI 5: 64 bytes
    assert iso.fsd == 64 and card.resets == 1
    with pytest.raises(ValueError, match="not a RATS"):
        iso.activate(h("0200"))


def test_type_b_attrib_takes_fsd_from_param_2() -> None:
    iso = IsoDepCard(Recorder(), fwi=6)
    # ATTRIB: PUPI, param1 00, param2 05 (FSDI 5: 64 bytes), param3 01 (ISO 14443-4), param4 00.
    assert iso.activate_b(h("1D 0A0B0C0D 00 05 01 00")) == h("00")
    assert iso.fsd == 64 and iso.active
    assert iso.receive(h("02 00A4040000")) == Command(h("00A4040000"))
    assert atqb(h("0A0B0C0D"), fsci=5, fwi=6)[10:] == h("51 60")
    with pytest.raises(ValueError, match="not an ATTRIB"):
        iso.activate_b(h("E080"))


def test_i_block_numbering_follows_the_reader() -> None:
    iso = IsoDepCard(Recorder())
    iso.activate(h("E080"))
    assert iso.receive(h("02 00B0000000")) == Command(h("00B0000000"))
    assert iso.respond(h("9000")) == h("02 9000")  # card block number toggled to 0
    assert iso.receive(h("03 00B0000000")) == Command(h("00B0000000"))
    assert iso.respond(h("9000")) == h("03 9000")


def test_r_nak_with_our_number_repeats_the_last_block() -> None:
    iso = IsoDepCard(Recorder())
    iso.activate(h("E080"))
    iso.receive(h("02 00A4040000"))
    last = iso.respond(h("6A82"))
    assert iso.receive(h("B2")) == last  # rule 11: the reader lost our answer
    assert iso.receive(h("A2")) == last


def test_r_nak_with_the_other_number_is_acknowledged() -> None:
    iso = IsoDepCard(Recorder())
    iso.activate(h("E080"))
    # Rule 12: nfcpy's presence check before any I-block, R(NAK) 0; the card's number is 1.
    assert iso.receive(h("B2")) == h("A3")


def test_command_chaining_is_acknowledged_and_reassembled() -> None:
    iso = IsoDepCard(Recorder())
    iso.activate(h("E080"))
    assert iso.receive(h("12 80A8000004")) == h("A2")
    assert iso.receive(h("03 83020000")) == Command(h("80A8000004 83020000"))


def test_long_responses_are_chained_in_fsd_sized_blocks() -> None:
    response = bytes(range(200)) + h("9000")
    iso = IsoDepCard(Recorder())
    iso.activate(h("E050"))  # FSD 64: 61 INF bytes a block
    iso.receive(h("02 00B2010C00"))
    blocks = [iso.respond(response)]
    block_number = 0
    while blocks[-1][0] & 0x10:
        block_number ^= 1
        blocks.append(iso.receive(bytes([0xA2 | block_number])))
    assert [len(b) for b in blocks] == [62, 62, 62, 20]
    assert [b[0] for b in blocks] == [0x12, 0x13, 0x12, 0x03]
    assert b"".join(b[1:] for b in blocks) == response


def test_deselect_is_echoed_and_ends_the_session() -> None:
    iso = IsoDepCard(Recorder())
    iso.activate(h("E080"))
    assert iso.receive(h("C2")) == h("C2")
    assert not iso.active


def test_cid_is_echoed_when_the_reader_sends_one() -> None:
    iso = IsoDepCard(Recorder())
    iso.activate(h("E081"))
    assert iso.receive(h("0A01 00A4040000")) == Command(h("00A4040000"))
    assert iso.respond(h("9000")) == h("0A01 9000")
    assert iso.wtx_request(3) == h("FA01 03")


def test_wtx_request_and_response() -> None:
    iso = IsoDepCard(Recorder())
    assert iso.wtx_request(59) == h("F2 3B")
    assert IsoDepCard.is_wtx_response(h("F2 3B"))
    assert not IsoDepCard.is_wtx_response(h("02 9000"))
    with pytest.raises(ValueError):
        iso.wtx_request(60)


class Radio:
    """An nfcpy ContactlessFrontend stand-in: every frame goes straight to our card side."""

    def __init__(self, iso: IsoDepCard) -> None:
        self.iso = iso
        self.frames: list[tuple[bytes, bytes]] = []

    def exchange(self, data: bytearray, timeout: float) -> bytearray:
        result = self.iso.receive(bytes(data))
        reply = (
            self.iso.respond(result.apdu[::-1] + b"\x90\x00")
            if isinstance(result, Command)
            else result
        )
        self.frames.append((bytes(data), reply))
        return bytearray(reply)


@pytest.mark.parametrize("size", [0, 1, 60, 250, 253, 254, 600])
def test_against_nfcpys_initiator(size: int) -> None:
    """nfcpy chains our long commands and un-chains our long responses (FSC = FSD = 64)."""
    iso = IsoDepCard(Recorder(), fsci=5)
    iso.activate(h("E050"))
    radio = Radio(iso)
    initiator = IsoDepInitiator(radio, fsc=64, fwt=0.01)
    command = bytes(i % 251 for i in range(size)) + b"\x00\x01"
    assert bytes(initiator.exchange(bytearray(command))) == command[::-1] + b"\x90\x00"
    assert all(len(sent) <= 64 and len(got) <= 64 - 2 for sent, got in radio.frames)

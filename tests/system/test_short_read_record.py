"""Every record of every card, read as an outside EMV client reads it: short APDUs over PC/SC.

pyscard's own ``SCardTransmit`` talks to the private pcscd of ``make test``; the emulated
cards sit behind vsmartcard-vpcd (:class:`~card_emulation.transports.vpcd.VpcdCard`). A
short READ RECORD with Le '00' asks for at most 256 bytes (ISO/IEC 7816-4 5.1, EMV Book 1
9.4), so every record the AFL names must fit in 256 bytes: a longer one is lost to the
client (pcscd answers SCARD_E_INSUFFICIENT_BUFFER, or the client gets a truncated record).
The kernel's own reader is not used here: the point is a client nobody here wrote.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from smartcard import scard

from card_emulation import PROFILES, EmvApplet, Fault
from emvcore import tlv
from emvcore.dol import dol_data_length, parse_dol
from emvcore.keyfile import IssuerKeySet, generate_test_issuer_keys
from tests.card_emulation.support import gpo_command, make_card
from tests.readers.stacks import PcscRig

SELECT_PPSE = bytes.fromhex("00A404000E325041592E5359532E444446303100")
#: The largest response data a short command can ask for (Le '00').
SHORT_NE = 256

CARDS = [(name, fault) for name in sorted(PROFILES) for fault in (None, *sorted(Fault))]


class Swappable:
    """One card in the field whose applet a test swaps, so pcscd sees one insertion only."""

    def __init__(self) -> None:
        self.applet: EmvApplet | None = None

    def process_apdu(self, apdu: bytes) -> bytes:
        assert self.applet is not None
        return self.applet.process_apdu(apdu)

    def reset(self) -> None:
        if self.applet is not None:
            self.applet.reset()


class PcscClient:
    """The bare PC/SC API through pyscard: connect, then one SCardTransmit per APDU."""

    def __init__(self, reader: str) -> None:
        self.reader = reader
        hresult, self.context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        assert hresult == scard.SCARD_S_SUCCESS
        self.card: Any = None
        self.protocol = scard.SCARD_PROTOCOL_T1

    def connect(self, timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        state = scard.SCARD_STATE_UNAWARE
        while True:
            wait = max(0, int((deadline - time.monotonic()) * 1000))
            hresult, states = scard.SCardGetStatusChange(self.context, wait, [(self.reader, state)])
            assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)
            event = states[0][1]
            if event & scard.SCARD_STATE_PRESENT and not event & scard.SCARD_STATE_MUTE:
                break
            state = event & ~scard.SCARD_STATE_CHANGED
        hresult, self.card, self.protocol = scard.SCardConnect(
            self.context, self.reader, scard.SCARD_SHARE_SHARED,
            scard.SCARD_PROTOCOL_T1 | scard.SCARD_PROTOCOL_T0,
        )  # fmt: skip
        assert hresult == scard.SCARD_S_SUCCESS, scard.SCardGetErrorMessage(hresult)

    def transmit(self, apdu: bytes) -> tuple[int, bytes]:
        pci = scard.SCARD_PCI_T1 if self.protocol == scard.SCARD_PROTOCOL_T1 else scard.SCARD_PCI_T0
        hresult, response = scard.SCardTransmit(self.card, pci, list(apdu))
        return hresult, bytes(response or b"")

    def close(self) -> None:
        if self.card is not None:
            scard.SCardDisconnect(self.card, scard.SCARD_LEAVE_CARD)
        scard.SCardReleaseContext(self.context)


@pytest.fixture(scope="module")
def keys() -> IssuerKeySet:
    return generate_test_issuer_keys()


@pytest.fixture(scope="module")
def field() -> Iterator[tuple[Swappable, PcscClient]]:
    rig = PcscRig()
    card = Swappable()
    rig.insert(card)
    client = PcscClient(rig.reader_name)
    try:
        client.connect()
        yield card, client
    finally:
        client.close()
        rig.close()


def _ok(client: PcscClient, apdu: bytes) -> bytes:
    hresult, response = client.transmit(apdu)
    assert hresult == scard.SCARD_S_SUCCESS, (apdu.hex(), scard.SCardGetErrorMessage(hresult))
    assert response[-2:] == b"\x90\x00", (apdu.hex(), response.hex())
    return response[:-2]


@pytest.mark.parametrize(
    ("profile_name", "fault"), CARDS, ids=[f"{p}-{f or 'genuine'}" for p, f in CARDS]
)
def test_every_record_answers_a_short_read_record_in_full(
    field: tuple[Swappable, PcscClient], keys: IssuerKeySet, profile_name: str, fault: Fault | None
) -> None:
    card, client = field
    faults = frozenset({fault}) if fault else frozenset()
    card.applet = EmvApplet(make_card(keys, profile_name, faults=faults))
    profile = PROFILES[profile_name]
    _ok(client, SELECT_PPSE)
    _ok(client, bytes([0x00, 0xA4, 0x04, 0x00, len(profile.aid)]) + profile.aid + b"\x00")
    pdol_data = bytes(dol_data_length(parse_dol(profile.pdol)))
    gpo = tlv.flatten(tlv.decode_one(_ok(client, gpo_command(pdol_data))).value)
    afl = gpo[0x94]
    read = 0
    for i in range(0, len(afl), 4):
        sfi, first, last = afl[i] >> 3, afl[i + 1], afl[i + 2]
        for number in range(first, last + 1):
            data = _ok(client, bytes([0x00, 0xB2, number, (sfi << 3) | 0x04, 0x00]))
            assert len(data) <= SHORT_NE
            record = tlv.decode_one(data)  # complete: nothing cut off the end
            assert record.tag == 0x70 and len(tlv.encode(0x70, record.value)) == len(data)
            read += 1
    assert read >= 2

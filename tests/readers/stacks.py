"""The reader stacks the conformance suite runs over, each as a "rig": a reader and a field.

A rig owns one :class:`~terminal.readers.base.Reader` and lets a test put a card object into
that reader's field and take it out again, through the stack's real card-side transport:

* ``loopback``: the in-process wire (:class:`~terminal.readers.emulated.LoopbackReader`);
* ``pcsc``: pyscard -> the private pcscd of ``make test`` -> vsmartcard-vpcd -> the card
  connected with :class:`~card_emulation.transports.vpcd.VpcdCard`;
* ``nfc``: nfcpy's ``udp`` reader -> nfcpy's ``udp`` target running our ISO-DEP card side
  (:class:`~card_emulation.transports.nfc_target.NfcTarget`), as a Type 4A card;
* ``nfc-b``: the same as a Type 4B card (ATQB and ATTRIB instead of anticollision and RATS).
"""

from __future__ import annotations

import socket
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable

from emvcore.card import ApduCard
from terminal.readers.base import Reader
from terminal.readers.emulated import LoopbackReader
from tests.services import service_env


class Rig(ABC):
    """A reader and the means to put a card in its field."""

    name = "rig"
    reader: Reader

    @abstractmethod
    def insert(self, card: ApduCard) -> None:
        """Put ``card`` in the reader's field."""

    @abstractmethod
    def remove(self) -> None:
        """Take the card out of the field."""

    def close(self) -> None:
        self.reader.close()


class LoopbackRig(Rig):
    name = "loopback"

    def __init__(self, card_timeout: float = 1.0) -> None:
        self.loopback = LoopbackReader(card_timeout=card_timeout)
        self.reader = self.loopback

    def insert(self, card: ApduCard) -> None:
        self.loopback.insert(card)

    def remove(self) -> None:
        self.loopback.remove()


def vpcd_slot(index: int = 0) -> tuple[int, str]:
    """The port and PC/SC name of vpcd reader ``index`` of the private pcscd."""
    ports = service_env("TAP_VPCD_PORTS").split()
    names = service_env("TAP_VPCD_READERS").split("|")
    return int(ports[index]), names[index]


class PcscRig(Rig):
    name = "pcsc"

    def __init__(self, card_timeout: float = 1.0, slot: int = 0) -> None:
        from terminal.readers.pcsc import PcscReader

        self.port, self.reader_name = vpcd_slot(slot)
        self.pcsc = PcscReader(self.reader_name, card_timeout=card_timeout)
        self.reader = self.pcsc
        self.vpcd: object | None = None

    def insert(self, card: ApduCard) -> None:
        from card_emulation.transports.vpcd import VpcdCard

        self.remove()
        vpcd = VpcdCard(card, port=self.port)
        vpcd.start()
        self.vpcd = vpcd

    def remove(self) -> None:
        from card_emulation.transports.vpcd import VpcdCard

        vpcd, self.vpcd = self.vpcd, None
        if isinstance(vpcd, VpcdCard):
            vpcd.remove()

    def close(self) -> None:
        self.remove()
        wait_empty(self.reader_name)
        super().close()


def wait_empty(reader_name: str, timeout: float = 3.0) -> None:
    """Block until pcscd reports no card in ``reader_name`` (its slot polling takes ~400 ms)."""
    from smartcard import scard

    hresult, context = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    assert hresult == scard.SCARD_S_SUCCESS
    try:
        state = scard.SCARD_STATE_UNAWARE
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            wait = int((deadline - time.monotonic()) * 1000)
            hresult, states = scard.SCardGetStatusChange(context, wait, [(reader_name, state)])
            if hresult != scard.SCARD_S_SUCCESS:
                return
            event = states[0][1]
            if event & scard.SCARD_STATE_EMPTY:
                return
            state = event & ~scard.SCARD_STATE_CHANGED
    finally:
        scard.SCardReleaseContext(context)


def free_port(kind: socket.SocketKind = socket.SOCK_DGRAM) -> int:
    """A port nobody on loopback uses right now (UDP by default, for nfcpy's udp radio)."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class NfcRig(Rig):
    name = "nfc"

    def __init__(self, card_timeout: float = 1.0, technology: str = "A") -> None:
        from terminal.readers.nfc import NfcReader

        self.technology = technology
        self.path = f"udp:127.0.0.1:{free_port()}"
        self.nfc = NfcReader(self.path, card_timeout=card_timeout, technologies=(technology,))
        self.reader = self.nfc
        self.target: object | None = None

    def insert(self, card: ApduCard) -> None:
        from card_emulation.transports.nfc_target import NfcTarget

        self._close_target()
        target = NfcTarget(card, self.path, technology=self.technology)
        target.start()
        self.target = target

    def remove(self) -> None:
        from card_emulation.transports.nfc_target import NfcTarget

        if isinstance(self.target, NfcTarget):
            self.target.remove()

    def _close_target(self) -> None:
        from card_emulation.transports.nfc_target import NfcTarget

        target, self.target = self.target, None
        if isinstance(target, NfcTarget):
            target.close()

    def close(self) -> None:
        self._close_target()
        super().close()


def _nfc_b(card_timeout: float = 1.0) -> Rig:
    return NfcRig(card_timeout, technology="B")


RIGS: dict[str, Callable[..., Rig]] = {
    "loopback": LoopbackRig,
    "pcsc": PcscRig,
    "nfc": NfcRig,
    "nfc-b": _nfc_b,
}


class SlowCard:
    """Answers the instructions in ``slow`` only after ``delay`` seconds (a busy chip)."""

    def __init__(self, card: ApduCard, delay: float, slow: frozenset[int]) -> None:
        self.card, self.delay, self.slow = card, delay, slow

    def process_apdu(self, apdu: bytes) -> bytes:
        if len(apdu) > 1 and apdu[1] in self.slow:
            time.sleep(self.delay)
        return self.card.process_apdu(apdu)

    def reset(self) -> None:
        getattr(self.card, "reset", lambda: None)()


class Tripwire:
    """Calls ``action`` (once) when the reader sends instruction ``ins``, then answers."""

    def __init__(self, card: ApduCard, ins: int, action: Callable[[], None]) -> None:
        self.card, self.ins, self.action = card, ins, action
        self.fired = threading.Event()

    def process_apdu(self, apdu: bytes) -> bytes:
        if len(apdu) > 1 and apdu[1] == self.ins and not self.fired.is_set():
            self.fired.set()
            self.action()
        return self.card.process_apdu(apdu)

    def reset(self) -> None:
        getattr(self.card, "reset", lambda: None)()


class Recorder:
    """A card that records commands and answers with a fixed response."""

    def __init__(self, response: bytes = b"\x90\x00") -> None:
        self.response = response
        self.commands: list[bytes] = []
        self.resets = 0

    def process_apdu(self, apdu: bytes) -> bytes:
        self.commands.append(apdu)
        return self.response

    def reset(self) -> None:
        self.resets += 1

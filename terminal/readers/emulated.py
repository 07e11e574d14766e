"""The in-process wire: a reader whose field holds an emulated card object.

:class:`LoopbackReader` carries APDUs to anything with ``process_apdu(bytes) -> bytes``, as
python-can's virtual bus carries frames; tests insert and remove cards at will.
:class:`EmulatedReader` is the registered ``emulated`` backend: ``emulated:NAME`` loads the
personalized card ``NAME`` from the tester's card store and persists its ATC after every
cryptogram. This is the one place the terminal reaches into ``card_emulation``, imported
lazily like any backend's library.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Protocol

from terminal.errors import CardRemovedError, NoCardError, ReaderUnavailableError
from terminal.readers.base import CardInfo, Reader

#: ATR of an ISO 14443-4 (T=CL) card as a PC/SC reader reports it (PC/SC Part 3, 3.1.3.2.3).
EMULATED_ATR = bytes.fromhex("3B8001800101")


class ApduCard(Protocol):
    """Anything that answers APDUs: an emulated card or phone wallet."""

    def process_apdu(self, apdu: bytes) -> bytes: ...


class LoopbackReader(Reader):
    """A reader whose field is a Python object slot."""

    name = "loopback"

    def __init__(self, card: ApduCard | None = None, *, card_timeout: float = 1.0) -> None:
        super().__init__(card_timeout=card_timeout)
        self._card = card
        self._present = threading.Condition()

    def insert(self, card: ApduCard) -> None:
        """Put a card in the field."""
        with self._present:
            self._card = card
            self._present.notify_all()

    def remove(self) -> None:
        """Take the card out of the field."""
        with self._present:
            self._card = None

    def wait_for_card(self, timeout: float | None = None) -> CardInfo:
        with self._present:
            if not self._present.wait_for(lambda: self._card is not None, timeout=timeout):
                raise NoCardError("no card presented")
        return CardInfo(atr=EMULATED_ATR)

    def _transmit(self, apdu: bytes) -> bytes:
        card = self._card
        if card is None:
            raise CardRemovedError("card removed from the field")
        return card.process_apdu(apdu)


class EmulatedReader(LoopbackReader):
    """The ``emulated`` backend: a personalized card from the card store, in the field."""

    name = "emulated"

    @classmethod
    def from_spec(
        cls, argument: str, *, card_home: Path | None = None, **options: Any
    ) -> EmulatedReader:
        """``emulated:NAME``: the stored card ``NAME``, its ATC persisted after each use."""
        if not argument:
            raise ReaderUnavailableError("say which card: emulated:NAME (see `tap-card list`)")
        try:
            from card_emulation import CardEmulationError, CardStore, EmvApplet
        except ImportError as exc:  # pragma: no cover - same distribution
            raise ReaderUnavailableError(f"emulated cards need card_emulation: {exc}") from None
        store = CardStore(card_home)
        try:
            image = store.load(argument)
            applet = EmvApplet(image, on_atc=store.save)
        except CardEmulationError as exc:
            raise ReaderUnavailableError(str(exc)) from None
        reader = cls(applet, **options)
        reader.name = f"emulated:{argument}"
        return reader

"""The in-process wire: a reader whose field holds emulated card objects.

:class:`LoopbackReader` carries APDUs to anything with ``process_apdu(bytes) -> bytes``
(:class:`emvcore.card.ApduCard`), as python-can's virtual bus carries frames; tests insert,
add and remove cards at will. It enforces the card timeout like a real reader: each exchange
runs on a worker thread, and a card that does not answer within ``card_timeout`` is a
:class:`CardTimeoutError` (the card is then treated as gone). Two cards in the field are a
collision. A Field Off Request (:meth:`Reader.field_off`) resets the cards in the field, as
a real field drop powers a card down. :meth:`Reader.cancel` wakes a wait for a card or for its removal at once (one
condition carries the field's changes and the cancel).

:class:`EmulatedReader` is the registered ``emulated`` backend: ``emulated:NAME`` puts the
card ``NAME`` in the field. The terminal does not know where cards come from: a card
provider registers itself in the entry point group ``tap.cards`` (as python-can's backends
extend its table), naming a :class:`CardProvider`; ``card_emulation`` provides the tester's
card store this way, persisting the ATC after every cryptogram. With no provider installed,
``emulated:NAME`` is a :class:`ReaderUnavailableError` with an install hint.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from typing import Any, Protocol

from emvcore.card import ApduCard
from terminal.errors import (
    CardCollisionError,
    CardRemovedError,
    NoCardError,
    ReaderUnavailableError,
)
from terminal.readers.base import CardInfo, Reader

#: ATR of an ISO 14443-4 (T=CL) card as a PC/SC reader reports it (PC/SC Part 3, 3.1.3.2.3).
EMULATED_ATR = bytes.fromhex("3B8001800101")
#: The entry point group card providers register in (``[project.entry-points."tap.cards"]``).
CARD_PROVIDERS = "tap.cards"
#: What to install when no provider is registered (card_emulation ships in the same distribution).
INSTALL_HINT = "install the emulated cards with: pip install tap-stack"


class CardProvider(Protocol):
    """What a ``tap.cards`` entry point names: the card called ``name``, ready for the field.

    ``home`` is where the provider keeps its cards (``None``: its default). The card it
    returns persists its own state (the ATC) as it is used. A provider raises
    :class:`LookupError`, with a message for the user, when it has no usable card of that
    name; the reader reports that message as a :class:`ReaderUnavailableError`.
    """

    def __call__(self, name: str, *, home: Path | None) -> ApduCard: ...


def card_providers() -> list[EntryPoint]:
    """The installed card providers, in the order of their entry point names."""
    return sorted(entry_points(group=CARD_PROVIDERS), key=lambda entry: entry.name)


def load_card(name: str, *, home: Path | None = None) -> ApduCard:
    """The card ``name`` from the first provider that has it.

    Raises :class:`ReaderUnavailableError` when no provider is installed, when one cannot
    be loaded, or when none has a usable card of that name (with each provider's reason).
    """
    providers = card_providers()
    if not providers:
        raise ReaderUnavailableError(
            f"emulated cards need a card provider (entry point group {CARD_PROVIDERS!r}), "
            f"and none is installed; {INSTALL_HINT}"
        )
    reasons = []
    for entry in providers:
        try:
            provider: CardProvider = entry.load()
        except ImportError as exc:
            raise ReaderUnavailableError(
                f"card provider {entry.name!r} ({entry.value}) needs {exc.name}; {INSTALL_HINT}"
            ) from None
        try:
            return provider(name, home=home)
        except LookupError as exc:
            reasons.append(str(exc.args[0]) if exc.args else repr(exc))
    raise ReaderUnavailableError("; ".join(reasons))


class LoopbackReader(Reader):
    """A reader whose field is a list of Python card objects."""

    name = "loopback"

    def __init__(self, card: ApduCard | None = None, *, card_timeout: float = 1.0) -> None:
        super().__init__(card_timeout=card_timeout)
        self._cards: list[ApduCard] = [card] if card is not None else []
        #: How many times the field was emptied: a wait for removal that began before the
        #: latest one has seen the field empty, even if a card is back by the time it looks.
        self._removals = 0

    def insert(self, card: ApduCard) -> None:
        """Put a card in the field (replacing whatever was there)."""
        with self._wake:
            self._cards = [card]
            self._wake.notify_all()

    def add(self, card: ApduCard) -> None:
        """Put one more card in the field (two cards collide)."""
        with self._wake:
            self._cards.append(card)
            self._wake.notify_all()

    def remove(self) -> None:
        """Take every card out of the field (the reader sees the field empty)."""
        with self._wake:
            self._cards = []
            self._removals += 1
            self._seen_empty()
            self._wake.notify_all()

    def _wait_for_card(self, timeout: float | None) -> CardInfo:
        if not self._wait_until(lambda: bool(self._cards), timeout):
            raise NoCardError("no card presented")
        if len(self._cards) > 1:
            raise CardCollisionError("more than one card in the field")
        return CardInfo(atr=EMULATED_ATR)

    def _wait_for_removal(self, timeout: float | None) -> bool:
        removals = self._removals
        return self._wait_until(lambda: not self._cards or self._removals != removals, timeout)

    def _field_off(self, hold: float) -> bool:
        """The field drops: every card in it resets (power-on state, the ATC kept), and is
        activated again by the next poll. A card object without ``reset`` keeps its state."""
        for card in list(self._cards):
            reset = getattr(card, "reset", None)
            if callable(reset):
                reset()
        self._hold(hold)
        return True

    def _transmit(self, apdu: bytes) -> bytes:
        cards = self._cards
        if not cards:
            raise CardRemovedError("card removed from the field")
        if len(cards) > 1:
            raise CardCollisionError("more than one card in the field")
        card = cards[0]

        def exchange() -> bytes:
            try:
                return card.process_apdu(apdu)
            except Exception as exc:
                raise CardRemovedError(f"card failed: {exc.__class__.__name__}") from exc

        # A mute card is gone as far as the reader is concerned: it leaves the field, its
        # worker stays blocked on it, the next card gets a worker of its own.
        return self._abandonable(exchange, abandon=self.remove)


class EmulatedReader(LoopbackReader):
    """The ``emulated`` backend: a card from an installed card provider, in the field."""

    name = "emulated"

    @classmethod
    def from_spec(
        cls, argument: str, *, card_home: Path | None = None, **options: Any
    ) -> EmulatedReader:
        """``emulated:NAME``: the provided card ``NAME``, its ATC persisted after each use."""
        if not argument:
            raise ReaderUnavailableError("say which card: emulated:NAME (see `tap-card list`)")
        reader = cls(load_card(argument, home=card_home), **options)
        reader.name = f"emulated:{argument}"
        return reader

"""The ``emulated`` backend finds its cards through the ``tap.cards`` entry point group."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from pathlib import Path

import pytest

from emvcore.card import ApduCard
from terminal.errors import ReaderUnavailableError
from terminal.readers import emulated, open_reader
from terminal.readers.emulated import CARD_PROVIDERS, EmulatedReader, card_providers

OK = bytes.fromhex("9000")


class EchoCard:
    """A card that answers every command with 9000 and remembers where it came from."""

    def __init__(self, name: str, home: Path | None) -> None:
        self.name, self.home = name, home

    def process_apdu(self, apdu: bytes) -> bytes:
        return OK


def echo_provider(name: str, *, home: Path | None) -> ApduCard:
    if name == "ghost":
        raise LookupError(f"echo has no card named {name!r}")
    return EchoCard(name, home)


def empty_provider(name: str, *, home: Path | None) -> ApduCard:
    raise LookupError(f"empty has no card named {name!r}")


def installed(monkeypatch: pytest.MonkeyPatch, **providers: str) -> None:
    """Pretend exactly these ``name="module:function"`` providers are installed."""
    entries = [EntryPoint(name, value, CARD_PROVIDERS) for name, value in providers.items()]

    def entry_points(*, group: str) -> list[EntryPoint]:
        assert group == CARD_PROVIDERS
        return entries

    monkeypatch.setattr(emulated, "entry_points", entry_points)


def test_card_emulation_registers_the_card_store() -> None:
    # The real metadata of this editable install, as `pip install -e .` wrote it.
    providers = {entry.name: entry.value for entry in card_providers()}
    assert providers["store"] == "card_emulation.provider:stored_card"


def test_no_provider_installed_is_an_unavailable_reader_with_a_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed(monkeypatch)
    with pytest.raises(ReaderUnavailableError) as exc:
        open_reader("emulated:alice")
    assert str(exc.value) == (
        "emulated cards need a card provider (entry point group 'tap.cards'), and none is "
        "installed; install the emulated cards with: pip install tap-stack"
    )


def test_a_provider_that_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    installed(monkeypatch, broken="tap_no_such_provider_xyz:cards")
    with pytest.raises(ReaderUnavailableError) as exc:
        EmulatedReader.from_spec("alice")
    assert str(exc.value) == (
        "card provider 'broken' (tap_no_such_provider_xyz:cards) needs tap_no_such_provider_xyz; "
        "install the emulated cards with: pip install tap-stack"
    )


def test_the_first_provider_holding_the_card_serves_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    here = "tests.readers.test_emulated"
    installed(monkeypatch, b_echo=f"{here}:echo_provider", a_empty=f"{here}:empty_provider")
    reader = open_reader("emulated:bob", card_home=tmp_path, card_timeout=0.5)
    assert reader.name == "emulated:bob"
    assert reader.card_timeout == 0.5
    with reader:
        reader.wait_for_card(0.1)
        assert reader.transceive(bytes.fromhex("00A4040000")) == OK
    card = reader._cards[0]
    assert isinstance(card, EchoCard)
    assert (card.name, card.home) == ("bob", tmp_path)


def test_no_provider_holding_the_card_gives_every_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    here = "tests.readers.test_emulated"
    installed(monkeypatch, b_echo=f"{here}:echo_provider", a_empty=f"{here}:empty_provider")
    with pytest.raises(ReaderUnavailableError) as exc:
        open_reader("emulated:ghost")
    assert str(exc.value) == "empty has no card named 'ghost'; echo has no card named 'ghost'"

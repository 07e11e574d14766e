"""CardStore: one JSON file per card, owner-only, the ATC persisted between sessions."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from card_emulation import (
    CardImage,
    CardStore,
    CardStoreError,
    EmvApplet,
    Fault,
)
from card_emulation.provider import stored_card
from card_emulation.store import FORMAT, default_home
from emvcore.keyfile import IssuerKeySet
from terminal.errors import ReaderUnavailableError
from terminal.kernel import Kernel, Outcome, Transaction
from terminal.readers import open_reader
from terminal.readers.emulated import EmulatedReader
from tests.card_emulation.support import make_card


def test_save_load_round_trip(tmp_path: Path, keys: IssuerKeySet) -> None:
    store = CardStore(tmp_path)
    card = make_card(keys, "mastercard", name="bob", atc=41, tamper=True)
    store.save(card)
    loaded = store.load("bob")
    assert loaded == card
    assert loaded.icc_mk == card.icc_mk
    assert loaded.faults == frozenset({Fault.TAMPER_CRYPTOGRAM})
    document = json.loads(store.path("bob").read_text())
    assert document["format"] == FORMAT == "tap-card/1"
    assert document["atc"] == 41
    assert document["icc_mk"] == card.icc_mk.hex().upper()
    assert document["faults"] == ["tamper-cryptogram"]


def test_file_is_owner_only(tmp_path: Path, visa_card: CardImage) -> None:
    store = CardStore(tmp_path / "cards")
    store.save(visa_card)
    path = store.path(visa_card.name)
    assert path == tmp_path / "cards" / "test-visa.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    store.save(visa_card.with_atc(1))  # re-written, still 0600
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in path.parent.iterdir()] == ["test-visa.json"]  # no temporary left


def test_names(tmp_path: Path, keys: IssuerKeySet) -> None:
    store = CardStore(tmp_path)
    assert store.names() == []
    assert CardStore(tmp_path / "missing").names() == []
    for name in ("carol", "alice", "bob"):
        store.save(make_card(keys, "visa", name=name))
    (tmp_path / ".alice.json.tmp123.json").write_text("{}")
    (tmp_path / "notes.txt").write_text("x")
    assert store.names() == ["alice", "bob", "carol"]
    assert store.exists("bob") and not store.exists("dave")


def test_missing_card(tmp_path: Path) -> None:
    with pytest.raises(CardStoreError) as exc:
        CardStore(tmp_path).load("nobody")
    assert str(exc.value) == (
        f"no card named 'nobody' in {tmp_path} (see `tap-card list`, make one with `tap-card personalize`)"
    )


def test_bad_name_is_refused_before_touching_files(tmp_path: Path) -> None:
    with pytest.raises(CardStoreError, match="card name"):
        CardStore(tmp_path).load("../keys")
    assert list(tmp_path.iterdir()) == []


def _document(card: CardImage) -> dict[str, object]:
    return {
        "format": "tap-card/1",
        "name": card.name,
        "profile": card.profile,
        "token": card.token,
        "expiry": card.expiry,
        "psn": card.psn,
        "par": card.par,
        "dki": card.dki,
        "icc_mk": card.icc_mk.hex(),
        "atc": card.atc,
        "faults": [],
        "test": True,
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"atc": 65536}, "atc must be an integer 0..65535"),
        ({"atc": -1}, "atc must be an integer 0..65535"),
        ({"atc": "1"}, "atc must be an integer 0..65535"),
        ({"icc_mk": "00" * 8}, "icc_mk must be 16 bytes"),
        ({"icc_mk": "zz" * 16}, "is malformed: ValueError"),
        ({"icc_mk": 5}, "is malformed: TypeError"),
        ({"faults": ["melt"]}, "is malformed: ValueError"),
        ({"dki": "one"}, "is malformed: ValueError"),
        ({"format": "tap-card/0"}, "is not in format tap-card/1"),
        ({"token": None}, None),
        ({"expiry": "zz12"}, "expiry must be YYMM"),
        ({"expiry": "2913"}, "expiry must be YYMM"),
        ({"psn": "x"}, "psn must be two digits"),
        ({"token": "4895370012345670"}, "token must be 12-19 digits with a valid Luhn check digit"),
        ({"par": "é" * 29}, "par must be 29 upper-case letters or digits"),
    ],
)
def test_malformed_files(
    tmp_path: Path, visa_card: CardImage, change: dict[str, object], message: str | None
) -> None:
    document = _document(visa_card) | change
    if change == {"token": None}:
        del document["token"]
        message = "is malformed: KeyError 'token'"
    path = tmp_path / "test-visa.json"
    path.write_text(json.dumps(document))
    with pytest.raises(CardStoreError) as exc:
        CardStore(tmp_path).load("test-visa")
    assert str(path) in str(exc.value)
    assert message in str(exc.value)
    assert visa_card.icc_mk.hex() not in str(exc.value)
    assert visa_card.token not in str(exc.value)
    # The terminal's emulated backend reports it as an unavailable reader, not a traceback.
    with pytest.raises(ReaderUnavailableError, match=re.escape(message)):
        EmulatedReader.from_spec("test-visa", card_home=tmp_path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not JSON (line 1)"),
        ("[1, 2]", "is not in format tap-card/1"),
        ("", "is not JSON"),
    ],
)
def test_unparsable_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(text)
    with pytest.raises(CardStoreError) as exc:
        CardStore(tmp_path).load("x")
    assert str(exc.value).startswith(f"card file {path} ")
    assert message in str(exc.value)


def test_unreadable_file(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(CardStoreError, match="cannot be read: UnicodeDecodeError"):
        CardStore(tmp_path).load("x")


def test_default_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("TAP_CARD_HOME", str(tmp_path / "h"))
    assert default_home() == tmp_path / "h"
    assert CardStore().root == tmp_path / "h"
    monkeypatch.delenv("TAP_CARD_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_home() == tmp_path / ".local" / "share" / "tap" / "cards"


# -- the ATC across sessions, through the terminal's emulated backend --------------------------


@pytest.mark.parametrize("profile_name", ["visa", "mastercard"])
def test_atc_persisted_across_two_sessions(
    tmp_path: Path, keys: IssuerKeySet, profile_name: str
) -> None:
    store = CardStore(tmp_path)
    store.save(make_card(keys, profile_name, name="alice"))
    atcs = []
    for _ in range(2):
        reader = EmulatedReader.from_spec("alice", card_home=tmp_path)
        assert reader.name == "emulated:alice"
        with reader:
            reader.wait_for_card(0.1)
            result = Kernel().run(reader, Transaction(100, "EUR"))
        assert result.outcome is Outcome.ONLINE_REQUEST
        atcs.append(result.atc)
        assert store.load("alice").atc == result.atc
    assert atcs == [1, 2]
    reader = open_reader("emulated:alice", card_home=tmp_path, card_timeout=0.5)
    assert reader.card_timeout == 0.5
    assert Kernel().run(reader, Transaction(100, "EUR")).atc == 3
    assert store.load("alice").atc == 3


def test_emulated_reader_refusals(tmp_path: Path) -> None:
    with pytest.raises(ReaderUnavailableError, match=r"say which card: emulated:NAME"):
        EmulatedReader.from_spec("", card_home=tmp_path)
    with pytest.raises(ReaderUnavailableError, match="no card named 'ghost'"):
        EmulatedReader.from_spec("ghost", card_home=tmp_path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ReaderUnavailableError, match="is not JSON"):
        open_reader("emulated:broken", card_home=tmp_path)


def test_on_atc_saves_each_value(tmp_path: Path, visa_card: CardImage) -> None:
    store = CardStore(tmp_path)
    store.save(visa_card)
    saved: list[int] = []

    def on_atc(image: CardImage) -> None:
        store.save(image)
        saved.append(store.load(image.name).atc)

    applet = EmvApplet(store.load(visa_card.name), on_atc=on_atc)
    reader_result = Kernel().run(EmulatedReader(applet), Transaction(1, "EUR"))
    assert reader_result.atc == 1
    assert saved == [1]


def test_the_store_is_the_terminals_card_provider(tmp_path: Path, visa_card: CardImage) -> None:
    CardStore(tmp_path).save(visa_card)
    card = stored_card(visa_card.name, home=tmp_path)
    assert isinstance(card, EmvApplet)
    with pytest.raises(LookupError, match="no card named 'ghost'") as exc:
        stored_card("ghost", home=tmp_path)
    assert isinstance(exc.value.__cause__, CardStoreError)

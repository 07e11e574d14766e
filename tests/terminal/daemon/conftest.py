"""An acquirer process and a personalized card for the daemon tests (once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from card_emulation import CardStore, EmvApplet
from tests.acquirer.processes import acquirer_process
from tests.system.support import run_ok
from tests.terminal.daemon.rig import Rig, daemon_rig

#: The merchant the daemons' terminals are registered under, when a test needs one.
MERCHANT = "KIOSKSHOP"


@pytest.fixture(scope="session")
def acquirer_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An acquirer's data directory (``acq/``), a merchant, and a card it issued (``cards/``)."""
    root = tmp_path_factory.mktemp("daemon-acquirer")
    data, cards, token = root / "acq", root / "cards", root / "token.json"
    run_ok("tap-acquirer", "init", "--data-dir", str(data))
    run_ok("tap-acquirer", "merchants", "add", "--data-dir", str(data), "--id", MERCHANT,
           "--name", "Kiosk Coffee", "--mcc", "5814", "--currency", "EUR",
           "--settlement-account", "kiosk-acct")  # fmt: skip
    run_ok("tap-acquirer", "tokens", "provision", "--data-dir", str(data), "--scheme", "visa",
           "--funding-pan-file", "-", "--out", str(token), stdin="4111111111111111\n")  # fmt: skip
    run_ok("tap-card", "personalize", "kiosk", "--profile", "visa", "--token", str(token),
           "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards))  # fmt: skip
    return root


@pytest.fixture(scope="session")
def acquirer(acquirer_home: Path) -> Iterator[tuple[str, Path]]:
    """A real ``tap-acquirer serve`` and the card store holding a card it issued."""
    with acquirer_process(acquirer_home / "acq") as url:
        yield url, acquirer_home / "cards"


@pytest.fixture(scope="session")
def card(acquirer: tuple[str, Path]) -> EmvApplet:
    return EmvApplet(CardStore(acquirer[1]).load("kiosk"))


@pytest.fixture
def rig(tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet) -> Iterator[Rig]:
    with daemon_rig(tmp_path / "state", acquirer[0], card) as r:
        yield r


@pytest.fixture
def registered_rig(rig: Rig, acquirer_home: Path, tmp_path: Path) -> Rig:
    """:func:`rig` with its terminal registered at the acquirer: only a registered terminal has
    a merchant to settle for, so closing the day needs one (an unknown one is a 404)."""
    run_ok("tap-acquirer", "terminals", "add", "--data-dir", str(acquirer_home / "acq"),
           "--id", rig.terminal_id, "--merchant", MERCHANT, "--out-dir",
           str(tmp_path / "credentials"))  # fmt: skip
    return rig

"""An acquirer process and a personalized card for the daemon tests (once per session)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from card_emulation import CardStore, EmvApplet
from tests.acquirer.processes import acquirer_process
from tests.system.support import run_ok
from tests.terminal.daemon.rig import Rig, daemon_rig


@pytest.fixture(scope="session")
def acquirer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A real ``tap-acquirer serve`` and the card store holding a card it issued."""
    root = tmp_path_factory.mktemp("daemon-acquirer")
    data, cards, token = root / "acq", root / "cards", root / "token.json"
    run_ok("tap-acquirer", "init", "--data-dir", str(data))
    run_ok("tap-acquirer", "tokens", "provision", "--data-dir", str(data), "--scheme", "visa",
           "--funding-pan-file", "-", "--out", str(token), stdin="4111111111111111\n")  # fmt: skip
    run_ok("tap-card", "personalize", "kiosk", "--profile", "visa", "--token", str(token),
           "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards))  # fmt: skip
    with acquirer_process(data) as url:
        yield url, cards


@pytest.fixture(scope="session")
def card(acquirer: tuple[str, Path]) -> EmvApplet:
    return EmvApplet(CardStore(acquirer[1]).load("kiosk"))


@pytest.fixture
def rig(tmp_path: Path, acquirer: tuple[str, Path], card: EmvApplet) -> Iterator[Rig]:
    with daemon_rig(tmp_path / "state", acquirer[0], card) as r:
        yield r

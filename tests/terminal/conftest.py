"""Fixtures for the terminal tests: issuer keys, personalized cards and their applets."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from card_emulation import CardImage, EmvApplet
from emvcore.keyfile import IssuerKeySet, generate_test_issuer_keys
from terminal.kernel import Transaction
from tests.card_emulation.support import make_card

UN = bytes.fromhex("A1B2C3D4")


@pytest.fixture(scope="session")
def keys() -> IssuerKeySet:
    return generate_test_issuer_keys()


@pytest.fixture
def visa_card(keys: IssuerKeySet) -> CardImage:
    return make_card(keys, "visa")


@pytest.fixture
def mastercard_card(keys: IssuerKeySet) -> CardImage:
    return make_card(keys, "mastercard")


@pytest.fixture(params=["visa", "mastercard"])
def card(request: pytest.FixtureRequest, keys: IssuerKeySet) -> CardImage:
    return make_card(keys, request.param)


@pytest.fixture
def applet(card: CardImage) -> EmvApplet:
    return EmvApplet(card)


@pytest.fixture
def transaction() -> Transaction:
    return Transaction(1250, "EUR", when=datetime(2026, 11, 22, 9, 30, 5), unpredictable_number=UN)


@pytest.fixture
def isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No settings file or card store of the person running the tests leaks in."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TAP_TERMINAL_SETTINGS", raising=False)
    monkeypatch.setenv("TAP_CARD_HOME", str(tmp_path / "cards"))
    return tmp_path

"""``tap-terminal`` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

import terminal.cli
import terminal.cli.common
from card_emulation import CardStore
from emvcore.keyfile import IssuerKeySet
from terminal.cli.root import app
from terminal.online import AcquirerClient
from tests.card_emulation.support import make_card
from tests.terminal.modes.test_pay import FakeAcquirer

WIDE = {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"], env=WIDE)
    assert result.exit_code == 0
    assert "take contactless payments" in result.output
    assert "pay" in result.output


def test_pay_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["pay", "--help"], env=WIDE)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for expected in (
        "Amount to charge",
        "--reader",
        "--currency",
        "--settings",
        "--acquirer-url",
        "--json",
        "Exit status: 0 approved, 1 declined or not completed, 2 usage or setup error",
    ):
        assert expected in text


def test_amount_with_too_many_decimals(runner: CliRunner, isolated_home: Path) -> None:
    result = runner.invoke(app, ["pay", "12.505", "--currency", "EUR"], env=WIDE)
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: amount '12.505' has more than 2 decimal places for EUR"
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["abc"], "error: amount 'abc' is not a number"),
        (["--", "-1"], "error: amount '-1' must be zero or positive"),
        (["1", "--currency", "XYZ"], "error: "),
    ],
)
def test_bad_amounts_and_currencies(
    runner: CliRunner, isolated_home: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(app, ["pay", *args], env=WIDE)
    assert result.exit_code == 2
    assert result.stderr.startswith(message)


def test_unknown_reader_backend(runner: CliRunner, isolated_home: Path) -> None:
    result = runner.invoke(app, ["pay", "1", "--reader", "nosuch:x"], env=WIDE)
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == "error: unknown reader backend 'nosuch' (known: emulated, nfc, pcsc)"
    )


def test_missing_emulated_card(runner: CliRunner, isolated_home: Path) -> None:
    result = runner.invoke(app, ["pay", "1", "--reader", "emulated:ghost"], env=WIDE)
    assert result.exit_code == 2
    assert "no card named 'ghost'" in result.stderr


def test_bad_settings_file(runner: CliRunner, tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[terminal]\ncolour = 1\n")
    result = runner.invoke(app, ["pay", "1", "--settings", str(path)], env=WIDE)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: unknown setting terminal.colour in {path}"


def _with_fake_acquirer(monkeypatch: pytest.MonkeyPatch, acquirer: FakeAcquirer) -> list[str]:
    urls: list[str] = []

    def make_client(base_url: str, **options: Any) -> AcquirerClient:
        urls.append(base_url)
        return AcquirerClient(base_url, transport=httpx.MockTransport(acquirer), **options)

    monkeypatch.setattr(terminal.cli.common, "AcquirerClient", make_client)
    return urls


@pytest.mark.parametrize("tamper", [False, True])
def test_pay_with_an_emulated_card(
    runner: CliRunner,
    isolated_home: Path,
    keys: IssuerKeySet,
    monkeypatch: pytest.MonkeyPatch,
    tamper: bool,
) -> None:
    store = CardStore(isolated_home / "cards")
    card = make_card(keys, "mastercard", name="bob", tamper=tamper)
    store.save(card)
    urls = _with_fake_acquirer(monkeypatch, FakeAcquirer(card))
    result = runner.invoke(
        app,
        [
            "pay",
            "12.50",
            "--reader",
            "emulated:bob",
            "--json",
            "--acquirer-url",
            "http://acq.test:9",
        ],
        env=WIDE,
    )
    summary = json.loads(result.stdout)
    assert urls == ["http://acq.test:9"]
    assert (summary["amount"], summary["currency"], summary["atc"]) == (1250, "EUR", 1)
    if tamper:
        assert result.exit_code == 1
        assert (summary["outcome"], summary["reason"]) == ("declined", "cryptogram_invalid")
    else:
        assert result.exit_code == 0
        assert (summary["outcome"], summary["arpc_verified"]) == ("approved", True)
    assert store.load("bob").atc == 1
    assert card.token not in result.output


def test_pay_shows_the_outcome_panel(
    runner: CliRunner, isolated_home: Path, keys: IssuerKeySet, monkeypatch: pytest.MonkeyPatch
) -> None:
    card = make_card(keys, "visa", name="alice")
    CardStore(isolated_home / "cards").save(card)
    _with_fake_acquirer(monkeypatch, FakeAcquirer(card))
    result = runner.invoke(app, ["pay", "3", "--reader", "emulated:alice"], env=WIDE)
    assert result.exit_code == 0, result.output
    assert "Present card for 3.00 EUR on emulated:alice" in result.stderr
    assert "Approved" in result.stdout and "3.00 EUR" in result.stdout
    assert card.token not in result.output

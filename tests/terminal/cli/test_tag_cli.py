"""``tap-terminal tag pay`` through typer's CliRunner: its help and its set-up errors (exit 2).

The payment itself runs end to end in tests/system/test_tag_pay_cli.py (vpcd, nfcpy udp, a
real acquirer).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from terminal.cli.root import app

WIDE = {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_tag_pay_help_names_the_exit_statuses(runner: CliRunner) -> None:
    result = runner.invoke(app, ["tag", "pay", "--help"], env=WIDE)
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    assert "--reference" in text and "--json" in text and "--transport" in text
    assert "3 result unknown" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["12,5x"], "amount"),
        (["0"], "more than zero"),
        (["1.00", "--transport", "bluetooth"], "unknown tag transport"),
    ],
)
def test_tag_pay_setup_errors_exit_2(
    runner: CliRunner, tmp_path: Path, args: list[str], message: str
) -> None:
    settings = tmp_path / "terminal.toml"
    settings.write_text(f'[daemon]\nstate_dir = "{tmp_path / "state"}"\n', encoding="utf-8")
    result = runner.invoke(app, ["tag", "pay", *args, "--settings", str(settings)], env=WIDE)
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not (tmp_path / "state" / "journal.sqlite3").exists()  # nothing was journalled


def test_a_bad_tag_table_exits_2(runner: CliRunner, tmp_path: Path) -> None:
    settings = tmp_path / "terminal.toml"
    settings.write_text('[tag]\ntransport = "nfc"\n', encoding="utf-8")
    result = runner.invoke(app, ["tag", "pay", "1.00", "--settings", str(settings)], env=WIDE)
    assert result.exit_code == 2
    assert "tag.transport must be memory, vpcd" in " ".join(result.output.split())

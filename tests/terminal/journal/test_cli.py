"""``journal [--json]``, ``journal list`` and ``journal show ID`` (the typer sub-app)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from terminal.journal import Journal, TxKind, TxState
from terminal.journal.cli import journal_app

runner = CliRunner()


def test_list_and_show(tmp_path: Path) -> None:
    path = tmp_path / "journal.sqlite3"
    with Journal(path) as journal:
        entry = journal.accept(TxKind.PAYMENT, 1250, "EUR", reference="order-42")
        journal.card_read(entry.id, token_masked="476173******0010")
        journal.advance(entry.id, TxState.CANCELLED, reason="cancelled")
    for args in (["--journal", str(path), "--json"], ["list", "--journal", str(path), "--json"]):
        result = runner.invoke(journal_app, args)
        assert result.exit_code == 0, result.output
        [row] = json.loads(result.output)
        assert (row["id"], row["state"], row["outcome"], row["reference"]) == (
            entry.id, "cancelled", "cancelled", "order-42")  # fmt: skip
    result = runner.invoke(journal_app, ["show", str(entry.id), "--journal", str(path), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.output)
    assert [e["to"] for e in shown["events"]] == ["accepted", "card_read", "cancelled"]
    text = runner.invoke(journal_app, ["show", str(entry.id), "--journal", str(path)])
    assert text.exit_code == 0 and "order-42" in text.output and "476173******0010" in text.output
    table = runner.invoke(journal_app, ["--journal", str(path)])
    assert table.exit_code == 0 and "Journal" in table.output


def test_show_an_unknown_id(tmp_path: Path) -> None:
    result = runner.invoke(journal_app, ["show", "7", "--journal", str(tmp_path / "j.sqlite3")])
    assert result.exit_code == 2

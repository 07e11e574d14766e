"""The operator's commands: settlement, risk, token status and domain, registry listings."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acquirer import Settings, create_app
from acquirer.cli import app
from acquirer.keys import load_key_material
from emvcore.provisioning import TokenRecord
from tests.acquirer.testkit import Api, TestCard

runner = CliRunner()


def cli(*args: str, stdin: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert result.exit_code == code, result.output
    return result.output


def test_operator_day(tmp_path: Path) -> None:
    data = tmp_path / "acq"
    d = ("--data-dir", str(data))
    cli("init", *d)
    record = TokenRecord.from_json(
        cli(
            "tokens",
            "provision",
            *d,
            "--scheme",
            "visa",
            "--funding-pan-file",
            "-",
            stdin="4111111111111111",
        )
    )
    card = TestCard(
        token=record.token, key=load_key_material(Settings(data)).issuer_keys.for_pan(record.token)
    )
    with TestClient(create_app(Settings(data))) as client:
        api = Api(client)
        assert api.authorize(card.tap(amount=1250, atc=1)).json()["approved"]
        cli("tokens", "status", record.token, "suspended", *d)
        assert api.authorize(card.tap(amount=1250, atc=2)).json()["reason"] == "token_inactive"
        cli("tokens", "status", record.token, "active", *d)
        cli("tokens", "restrict", record.token, "--mcc", "5812", *d)
        assert (
            api.authorize(card.tap(amount=1250, atc=3)).json()["reason"]
            == "token_domain_restricted"
        )
        cli("tokens", "restrict", record.token, "--mcc", "any", *d)
        cli("tokens", "restrict", record.token, "--mcc", "58", *d, code=1)
        cli("risk", "deny", record.par, "--reason", "unpaid rental", *d)
        assert api.authorize(card.tap(amount=1250, atc=4)).json()["reason"] == "par_denied"
        assert "removed" in cli("risk", "allow", record.par, *d)
        cli(
            "merchants",
            "add",
            *d,
            "--id",
            "M1",
            "--name",
            "Shop",
            "--mcc",
            "5411",
            "--currency",
            "EUR",
            "--settlement-account",
            "acct",
        )
        cli(
            "terminals",
            "add",
            *d,
            "--id",
            "SHOP0001",
            "--merchant",
            "M1",
            "--out-dir",
            str(tmp_path / "c"),
        )
        cli("risk", "limit", "--mcc", "5411", "--max", "1000", *d)
        assert (
            api.authorize(card.tap(amount=1250, atc=5)).json()["reason"] == "amount_limit_exceeded"
        )
        cli("risk", "limit", "--mcc", "5411", "--max", "none", *d)
        assert api.authorize(card.tap(amount=1250, atc=6)).json()["approved"]
    closed = cli("settlement", "close", "--merchant", "M1", *d)
    batch_id = re.search(r"batch (batch_\w+)", closed)
    assert batch_id is not None and "2500" in closed and "sale" in closed
    cli("settlement", "close", "--merchant", "M1", "--terminal", "X", *d, code=1)
    cli("settlement", "export", batch_id.group(1), "--out", str(tmp_path / "b.csv"), *d)
    assert len((tmp_path / "b.csv").read_text().strip().splitlines()) == 3
    cli("settlement", "export", "batch_nope", "--out", str(tmp_path / "x.csv"), *d, code=1)
    assert batch_id.group(1) in cli("settlement", "list", *d)
    assert "Shop" in cli("merchants", "list", *d) and "SHOP0001" in cli("terminals", "list", *d)

"""``tap-acquirer bikes``: the tariff the API prices with, and the rentals and debts it made."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acquirer import Settings, create_app
from acquirer.cli import app
from acquirer.keys import load_key_material
from emvcore.provisioning import TokenRecord
from tests.acquirer.testkit import TestCard

runner = CliRunner()


def cli(*args: str, stdin: str | None = None, code: int = 0) -> str:
    result = runner.invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_tariff_rentals_and_debts(tmp_path: Path) -> None:
    data = tmp_path / "acq"
    d = ("--data-dir", str(data))
    cli("init", *d)
    cli(
        "merchants",
        "add",
        "--id",
        "BIKES",
        "--name",
        "Bikes",
        "--mcc",
        "7999",
        "--currency",
        "EUR",
        "--settlement-account",
        "NL91ABNA0417164300",
        *d,
    )
    cli(
        "terminals",
        "add",
        "--id",
        "DOCK1",
        "--merchant",
        "BIKES",
        "--actions",
        "bike",
        "--out-dir",
        str(tmp_path / "certs"),
        *d,
    )
    cli("bikes", "tariff", "show", "BIKES", *d, code=1)
    tariff = (
        "--currency",
        "EUR",
        "--deposit",
        "500",
        "--unlock-fee",
        "100",
        "--per-started-minute",
        "10",
        "--free-minutes",
        "30",
        "--daily-cap",
        "1500",
        "--max-duration-minutes",
        "2880",
        "--lost-bike-charge",
        "30000",
    )
    cli("bikes", "tariff", "set", "BIKES", *tariff, "--daily-cap", "lots", *d, code=1)
    cli("bikes", "tariff", "set", "NOBODY", *tariff, *d, code=1)
    cli("bikes", "tariff", "set", "BIKES", *tariff, *d)
    shown = cli("bikes", "tariff", "show", "BIKES", *d)
    assert "5.00 EUR" in shown and "15.00 EUR" in shown and "300.00 EUR" in shown
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
    now = datetime.now(UTC)
    with TestClient(create_app(Settings(data))) as client:
        created = client.post(
            "/v1/rentals",
            json={
                "terminal_id": "DOCK1",
                "dock_id": "D1",
                "bike_id": "B42",
                "amount": 500,
                "currency": "EUR",
                "emv_data": card.tap(amount=1, atc=1).hex,
                "started_at": (now - timedelta(minutes=61)).isoformat(),
            },
            headers={"Idempotency-Key": "r1"},
        ).json()
        assert created["state"] == "riding" and created["approved"] is False
        assert "B42" in cli("bikes", "rentals", "--state", "active", *d)
        ended = client.post(
            "/v1/rentals/returns",
            json={
                "terminal_id": "DOCK1",
                "dock_id": "D2",
                "bike_id": "B42",
                "ended_at": now.isoformat(),
            },
            headers={"Idempotency-Key": "r2"},
        ).json()
    assert ended["debt"] == 410
    listed = cli("bikes", "rentals", "--merchant", "BIKES", "--state", "ended", *d)
    assert created["rental_id"] in listed and "4.10 EUR" in listed
    assert "0 rental(s)" in cli("bikes", "rentals", "--state", "active", *d)
    cli("bikes", "rentals", "--state", "flying", *d, code=1)
    debts = cli("bikes", "debts", "--status", "open", *d)
    assert ended["debt_id"] in debts and record.par in debts
    assert "0 debt(s)" in cli("bikes", "debts", "--status", "paid", *d)

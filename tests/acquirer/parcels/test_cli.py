"""``tap-acquirer lockers``: compartments, storage fees and the parcels report, through the CLI."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acquirer import Settings, create_app
from acquirer.cli import app

runner = CliRunner()


def cli(*args: str, code: int = 0) -> str:
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_lockers_commands(settings: Settings, tmp_path: Path) -> None:
    d = ("--data-dir", str(settings.data_dir))
    certs = str(tmp_path / "certs")
    for merchant in ("LOCKOP", "PARCELCO"):
        cli("merchants", "add", *d, "--id", merchant, "--name", merchant, "--mcc", "4215",
            "--currency", "EUR", "--settlement-account", "acct")  # fmt: skip
    cli("terminals", "add", *d, "--id", "LOCKER01", "--merchant", "LOCKOP",
        "--actions", "locker", "--out-dir", certs)  # fmt: skip
    cli("terminals", "add", *d, "--id", "COURIER1", "--merchant", "PARCELCO",
        "--actions", "courier", "--out-dir", certs)  # fmt: skip
    assert "courier" in cli("terminals", "list", *d)
    cli("lockers", "compartments", "add", "COURIER1", "--size", "M", *d, code=1)  # not a locker
    assert "01, 02, 03, 04" in cli(
        "lockers", "compartments", "add", "LOCKER01", "--size", "M", "--count", "4", *d
    )
    assert "05" in cli("lockers", "compartments", "add", "LOCKER01", "--size", "L", *d)
    listed = cli("lockers", "compartments", "list", "LOCKER01", *d)
    assert "5 compartment(s)" in listed and "free" in listed
    assert "no storage fee" in cli("lockers", "fees", "show", "LOCKOP", *d)
    cli("lockers", "fees", "set", "NOPE", "--free-hours", "1", "--fee-per-started-day", "1",
        "--currency", "EUR", *d, code=1)  # fmt: skip
    cli("lockers", "fees", "set", "LOCKOP", "--free-hours", "48", "--fee-per-started-day",
        "150", "--currency", "XXQ", *d, code=1)  # fmt: skip
    cli("lockers", "fees", "set", "LOCKOP", "--free-hours", "48", "--fee-per-started-day",
        "150", "--currency", "EUR", *d)  # fmt: skip
    assert "48 h free, then 150 EUR" in cli("lockers", "fees", "show", "LOCKOP", *d)
    with TestClient(create_app(settings)) as client:
        response = client.post(
            "/v1/parcels",
            json={
                "terminal_id": "COURIER1",
                "locker_id": "LOCKER01",
                "size": "L",
                "pickup_code": True,
                "cod_amount": 990,
                "currency": "EUR",
                "reference": "TRACK-9",
            },
            headers={"Idempotency-Key": "r1"},
        )
        assert response.status_code == 200, response.text
        parcel = response.json()
    report = cli("lockers", "parcels", *d)
    assert parcel["parcel_id"] in report and "TRACK-9" in report and "990 EUR" in report
    assert "LOCKER01: 1 waiting" in report
    assert parcel["pickup_code"] not in report
    assert "0 parcel(s) collected" in cli("lockers", "parcels", "--state", "collected", *d)
    occupied = cli("lockers", "compartments", "list", "LOCKER01", *d)
    assert "occupied" in occupied

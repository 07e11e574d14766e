"""``tap-acquirer`` commands through typer's CliRunner, and the real server as a subprocess."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from acquirer.cli import app
from acquirer.keys import load_key_material
from acquirer.settings import Settings
from emvcore.provisioning import TokenRecord
from tests.acquirer.testkit import TestCard

FUNDING_PAN = "4111111111111111"
runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "acq"
    result = runner.invoke(app, ["init", "--data-dir", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_init_prints_kcvs_never_keys(data_dir: Path) -> None:
    keys = load_key_material(Settings(data_dir))
    result = runner.invoke(app, ["init", "--data-dir", str(data_dir), "--force"])
    assert result.exit_code == 0
    assert "KCV" in result.output
    fresh = load_key_material(Settings(data_dir))
    assert fresh.vault_key.kcv.hex().upper() in result.output
    for key in (*keys.issuer_keys.keys, *fresh.issuer_keys.keys):
        assert key.imk_ac.hex().upper() not in result.output
    assert fresh.vault_key.key.hex().upper() not in result.output
    assert fresh.vault_key != keys.vault_key
    assert (data_dir / "issuer-keys.json").stat().st_mode & 0o777 == 0o600


def test_init_refuses_to_overwrite_keys(data_dir: Path) -> None:
    result = runner.invoke(app, ["init", "--data-dir", str(data_dir)])
    assert result.exit_code == 1
    assert "--force" in result.output
    assert "Traceback" not in result.output


def test_provision_from_stdin_and_list(data_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "tokens",
            "provision",
            "--data-dir",
            str(data_dir),
            "--scheme",
            "visa",
            "--funding-pan-file",
            "-",
        ],
        input=FUNDING_PAN + "\n",
    )
    assert result.exit_code == 0, result.output
    record = TokenRecord.from_json(result.stdout)
    assert record.scheme == "visa" and record.test
    assert FUNDING_PAN not in result.output
    listing = runner.invoke(app, ["tokens", "list", "--data-dir", str(data_dir)])
    assert listing.exit_code == 0
    assert record.token[:6] in listing.output and record.token[-4:] in listing.output
    assert record.token not in listing.output
    assert record.par in listing.output


def test_provision_from_file_to_out(data_dir: Path, tmp_path: Path) -> None:
    pan_file, out = tmp_path / "pan.txt", tmp_path / "token.json"
    pan_file.write_text("5555 5555 5555 4444\n")
    result = runner.invoke(
        app,
        [
            "tokens",
            "provision",
            "--data-dir",
            str(data_dir),
            "--scheme",
            "mastercard",
            "--funding-pan-file",
            str(pan_file),
            "--expiry",
            "3112",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    record = TokenRecord.from_json(out.read_text())
    assert (record.scheme, record.expiry) == ("mastercard", "3112")


def test_provision_errors_are_one_line_without_the_pan(data_dir: Path) -> None:
    result = runner.invoke(
        app,
        [
            "tokens",
            "provision",
            "--data-dir",
            str(data_dir),
            "--scheme",
            "visa",
            "--funding-pan-file",
            "-",
        ],
        input="4111111111111112",
    )
    assert result.exit_code == 1
    assert "Luhn" in result.output and "4111111111111112" not in result.output
    assert "Traceback" not in result.output


def test_commands_before_init_fail_clearly(tmp_path: Path) -> None:
    empty = str(tmp_path / "none")
    result = runner.invoke(app, ["tokens", "list", "--data-dir", empty])
    assert result.exit_code == 1 and "tap-acquirer init" in result.output
    result = runner.invoke(
        app,
        ["tokens", "provision", "--data-dir", empty, "--scheme", "visa", "--funding-pan-file", "-"],
        input=FUNDING_PAN,
    )
    assert result.exit_code == 1 and "tap-acquirer init" in result.output


@pytest.mark.parametrize(
    "command", [[], ["init"], ["tokens"], ["tokens", "provision"], ["tokens", "list"], ["serve"]]
)
def test_help(command: list[str]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage" in result.output


def test_serve_refuses_non_loopback_host(data_dir: Path) -> None:
    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--host", "0.0.0.0"])
    assert result.exit_code == 2
    assert "mutual TLS" in result.output


# -- the real server --------------------------------------------------------------------------


def _tap_acquirer() -> list[str]:
    script = Path(sys.executable).with_name("tap-acquirer")
    return [str(script)] if script.exists() else [sys.executable, "-m", "acquirer.cli"]


@pytest.fixture
def server(data_dir: Path) -> Iterator[str]:
    process = subprocess.Popen(
        [*_tap_acquirer(), "serve", "--data-dir", str(data_dir), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"},
    )
    try:
        assert process.stdout is not None and process.stderr is not None
        deadline = time.monotonic() + 20
        url = None
        while url is None and time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", line)
            url = match.group(1) if match else None
        assert url is not None, process.stderr.read() if process.poll() is not None else ""
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_real_server_authorizes_over_http(server: str, data_dir: Path) -> None:
    provisioned = runner.invoke(
        app,
        [
            "tokens",
            "provision",
            "--data-dir",
            str(data_dir),
            "--scheme",
            "visa",
            "--funding-pan-file",
            "-",
        ],
        input=FUNDING_PAN,
    )
    record = TokenRecord.from_json(provisioned.stdout)
    keys = load_key_material(Settings(data_dir))
    card = TestCard(token=record.token, key=keys.issuer_keys.for_pan(record.token))
    tap = card.tap(amount=499, atc=1)
    with httpx.Client(base_url=server, timeout=10) as client:
        health = client.get("/v1/health")
        assert health.json() == {"status": "ok", "test_keys": True}
        response = client.post(
            "/v1/authorizations",
            headers={"Idempotency-Key": "first-tap"},
            json={"terminal_id": "SHOP1", "amount": 499, "currency": "EUR", "emv_data": tap.hex},
        )
    body = json.loads(response.content)
    assert response.status_code == 200 and body["approved"] is True
    assert card.accepts(tap, body["issuer_authentication_data"])

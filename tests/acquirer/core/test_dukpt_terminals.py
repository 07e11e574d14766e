"""`tap-acquirer terminals add` and the terminal's AES DUKPT initial key."""

from __future__ import annotations

import itertools
import json
import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from acquirer.cli import app
from acquirer.keys import load_key_material
from acquirer.keystore.dukpt import device_id, initial_key_id
from acquirer.settings import Settings
from emvcore.crypto.dukpt.aes import derive_initial_key

runner = CliRunner()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "acq"
    d = ["--data-dir", str(path)]
    for command in (
        ["init", *d],
        ["merchants", "add", *d, "--id", "SHOP", "--name", "Shop", "--mcc", "5411",
         "--currency", "EUR", "--settlement-account", "NL91ABNA0417164300"],
    ):  # fmt: skip
        result = runner.invoke(app, command)
        assert result.exit_code == 0, result.output
    return path


def _add(data_dir: Path, terminal_id: str, out: Path) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["terminals", "add", "--data-dir", str(data_dir), "--id", terminal_id,
         "--merchant", "SHOP", "--out-dir", str(out)],
    )  # fmt: skip
    return result.exit_code, result.output


def test_terminals_add_writes_the_initial_key_beside_the_certificate(
    data_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "certs"
    code, output = _add(data_dir, "TILL1", out)
    assert code == 0, output
    path = out / "TILL1-dukpt.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    document = json.loads(path.read_text())
    bdk = load_key_material(Settings(data_dir=data_dir)).keyring.bdk
    assert bdk is not None and bdk.bdk_id is not None
    ikid = initial_key_id(bdk, "TILL1")
    assert ikid == bdk.bdk_id + device_id("TILL1")
    assert document["format"] == "tap-dukpt-initial-key/1"
    assert document["initial_key_id"] == ikid.hex().upper()
    assert bytes.fromhex(document["initial_key"]) == derive_initial_key(bdk.key, ikid)
    assert document["test_key"] is True
    assert ikid.hex().upper() in output and document["initial_key"] not in output


def _colliding_ids() -> tuple[str, str]:
    """Two terminal ids with one 4-byte device ID (a birthday search: ~2**16 hashes)."""
    seen: dict[bytes, str] = {}
    for n in itertools.count():
        terminal_id = f"T{n}"
        found = seen.setdefault(device_id(terminal_id), terminal_id)
        if found != terminal_id:
            return found, terminal_id
    raise AssertionError("unreachable")


def test_a_terminal_sharing_another_s_device_id_is_refused(data_dir: Path, tmp_path: Path) -> None:
    first, second = _colliding_ids()
    assert _add(data_dir, first, tmp_path / "a")[0] == 0
    code, output = _add(data_dir, second, tmp_path / "b")
    assert code != 0
    assert "DUKPT device ID" in output and first in output
    assert not (tmp_path / "b" / f"{second}-dukpt.json").exists()

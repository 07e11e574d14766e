"""Production mode: ``serve --production`` refuses test keys, plain HTTP and a self-issued
server certificate; the load balancer's health app says nothing but ok."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from acquirer.app import create_health_app
from acquirer.cli import app
from acquirer.keys import (
    initialize,
    load_key_material,
    save_issuer_key_set,
    save_keyring,
    save_vault_key,
)
from acquirer.keystore import Kek
from acquirer.keystore.sealed import KEK_ENV, KEK_FILE_ENV
from acquirer.settings import Settings, settings_from_environment

runner = CliRunner()


@pytest.fixture
def kek(monkeypatch: pytest.MonkeyPatch) -> Kek:
    kek = Kek.generate()
    monkeypatch.delenv(KEK_FILE_ENV, raising=False)
    monkeypatch.setenv(KEK_ENV, kek.hex())
    return kek


@pytest.fixture
def real_keys(tmp_path: Path, kek: Kek) -> Path:
    """A data directory holding sealed keys not marked as test keys (as imports make)."""
    settings = Settings(tmp_path / "acq")
    initialize(settings, kek=kek)
    material = load_key_material(settings, kek)
    save_issuer_key_set(settings, dataclasses.replace(material.issuer_keys, test_keys=False), kek)
    save_vault_key(settings, dataclasses.replace(material.vault_key, test_key=False), kek)
    bdk = material.keyring.bdk
    assert bdk is not None
    save_keyring(settings, dataclasses.replace(material.keyring, keys=(
        dataclasses.replace(bdk, test_key=False),)), kek)  # fmt: skip
    return settings.data_dir


def _serve(data_dir: Path, *args: str) -> str:
    result = runner.invoke(app, ["serve", "--data-dir", str(data_dir), "--port", "0", *args])
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def test_production_serve_refuses_test_keys(tmp_path: Path, kek: Kek) -> None:
    data_dir = tmp_path / "acq"
    assert runner.invoke(app, ["init", "--data-dir", str(data_dir)]).exit_code == 0
    output = _serve(data_dir, "--production", "--tls")
    assert "production mode refuses test keys" in output
    assert "issuer-keys.json" in output and "vault-key.json" in output


def test_production_serve_refuses_plain_http(real_keys: Path) -> None:
    output = _serve(real_keys, "--production")
    assert "production mode refuses plain HTTP" in output and "--tls" in output


def test_production_serve_refuses_the_self_issued_server_certificate(real_keys: Path) -> None:
    output = _serve(real_keys, "--production", "--tls")
    assert "own test CA" in output and "--tls-cert" in output


def test_a_production_data_directory_is_production_without_the_flag(
    tmp_path: Path, kek: Kek
) -> None:
    data_dir = tmp_path / "prod"
    assert runner.invoke(app, ["init", "--production", "--data-dir", str(data_dir)]).exit_code == 0
    assert "not found" in _serve(data_dir)  # no keys imported yet
    development = Settings(tmp_path / "dev")
    initialize(development, kek=kek)
    for name in ("issuer-keys.json", "vault-key.json"):  # test keys smuggled in
        (data_dir / name).write_bytes((development.data_dir / name).read_bytes())
        (data_dir / name).chmod(0o600)
    assert "production mode refuses test keys" in _serve(data_dir, "--tls")


def test_production_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TAP_ACQUIRER_PRODUCTION", "1")
    assert settings_from_environment().production
    monkeypatch.setenv("TAP_ACQUIRER_PRODUCTION", "0")
    assert not settings_from_environment().production


def test_health_app_says_nothing_but_ok() -> None:
    with TestClient(create_health_app()) as client:
        response = client.get("/v1/health")
        assert response.status_code == 200
        assert response.json() == {"status": "ok"}
        assert client.get("/v1/authorizations").status_code == 404
        assert client.get("/openapi.json").status_code == 404

"""Mutual TLS against the real server: ``tap-acquirer serve --tls`` with registry checks.

Terminals, their certificates and a token are set up through the CLI as an operator does;
requests go over real TLS from httpx with the terminal's certificate and key.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from acquirer.ca import CertificateAuthority
from acquirer.cli import app
from acquirer.keys import load_key_material
from acquirer.settings import Settings
from emvcore.provisioning import TokenRecord
from tests.acquirer.processes import acquirer_process
from tests.acquirer.testkit import TestCard

runner = CliRunner()


def cli(*args: str, stdin: str | None = None, ok: bool = True) -> str:
    result = runner.invoke(app, list(args), input=stdin)
    assert (result.exit_code == 0) is ok, result.output
    return result.output


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, Path, str, TestCard]]:
    root = tmp_path_factory.mktemp("mtls")
    data, certs = root / "acq", root / "certs"
    d = ("--data-dir", str(data))
    cli("init", *d)
    cli(
        "merchants",
        "add",
        *d,
        "--id",
        "SHOP",
        "--name",
        "Corner shop",
        "--mcc",
        "5411",
        "--currency",
        "EUR",
        "--settlement-account",
        "DE89370400440532013000",
    )
    for terminal, actions in (("T1", "pay"), ("T2", "pay,bike"), ("T3", "pay")):
        cli(
            "terminals",
            "add",
            *d,
            "--id",
            terminal,
            "--merchant",
            "SHOP",
            "--actions",
            actions,
            "--out-dir",
            str(certs),
        )
    cli("terminals", "revoke", *d, "--id", "T3")
    cli(
        "terminals",
        "add",
        *d,
        "--id",
        "T4",
        "--merchant",
        "NOPE",
        "--out-dir",
        str(certs),
        ok=False,
    )
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
    keys = load_key_material(Settings(data))
    card = TestCard(token=record.token, key=keys.issuer_keys.for_pan(record.token))
    with acquirer_process(data, args=["--tls"]) as url:
        yield data, certs, url, card


def client(certs: Path, terminal: str | None, *, cert_dir: Path | None = None) -> httpx.Client:
    context = ssl.create_default_context(cafile=certs / "ca-cert.pem")
    if terminal is not None:
        where = cert_dir or certs
        context.load_cert_chain(where / f"{terminal}-cert.pem", where / f"{terminal}-key.pem")
    return httpx.Client(verify=context, timeout=10)


_atc = iter(range(1, 10_000))


def authorize(
    http: httpx.Client, url: str, card: TestCard, terminal: str, **extra: Any
) -> httpx.Response:
    tap = card.tap(amount=500, atc=next(_atc))
    body = {"terminal_id": terminal, "amount": 500, "currency": "EUR", "emv_data": tap.hex, **extra}
    response: httpx.Response = http.post(
        f"{url}/v1/authorizations", json=body, headers={"Idempotency-Key": f"k{next(_atc)}"}
    )
    return response


def test_registered_terminal_is_served(setup: tuple[Path, Path, str, TestCard]) -> None:
    _, certs, url, card = setup
    assert url.startswith("https://")
    with client(certs, "T1") as http:
        response = authorize(http, url, card, "T1")
    assert response.status_code == 200 and response.json()["approved"] is True


@pytest.mark.parametrize(
    ("cert", "speaks_for", "extra", "status", "code"),
    [
        ("T1", "T2", {}, 403, "terminal_forbidden"),  # mismatched
        ("T3", "T3", {}, 403, "terminal_forbidden"),  # revoked
        ("T1", "T1", {"intent": "preauthorization"}, 403, "terminal_forbidden"),  # not a bike dock
    ],
)
def test_refused_terminals(
    setup: tuple[Path, Path, str, TestCard],
    cert: str,
    speaks_for: str,
    extra: dict[str, Any],
    status: int,
    code: str,
) -> None:
    _, certs, url, card = setup
    with client(certs, cert) as http:
        response = authorize(http, url, card, speaks_for, **extra)
    assert response.status_code == status
    assert response.json()["code"] == code


def test_bike_dock_may_preauthorize(setup: tuple[Path, Path, str, TestCard]) -> None:
    _, certs, url, card = setup
    with client(certs, "T2") as http:
        assert authorize(http, url, card, "T2", intent="preauthorization").json()["approved"]


def test_unknown_terminal_with_a_valid_certificate(
    setup: tuple[Path, Path, str, TestCard], tmp_path: Path
) -> None:
    data, certs, url, card = setup
    ca = CertificateAuthority.load(data / "ca-cert.pem", data / "ca-key.pem")
    issued = ca.issue_terminal("GHOST1")
    (tmp_path / "GHOST1-cert.pem").write_bytes(issued.cert_pem)
    (tmp_path / "GHOST1-key.pem").write_bytes(issued.key_pem)
    with client(certs, "GHOST1", cert_dir=tmp_path) as http:
        response = authorize(http, url, card, "GHOST1")
    assert (response.status_code, response.json()["code"]) == (403, "terminal_forbidden")


def test_no_certificate_or_foreign_ca_fails_the_handshake(
    setup: tuple[Path, Path, str, TestCard], tmp_path: Path
) -> None:
    _, certs, url, card = setup
    with client(certs, None) as http, pytest.raises(httpx.TransportError):
        authorize(http, url, card, "T1")
    foreign = CertificateAuthority.create().issue_terminal("T1")
    (tmp_path / "T1-cert.pem").write_bytes(foreign.cert_pem)
    (tmp_path / "T1-key.pem").write_bytes(foreign.key_pem)
    with client(certs, "T1", cert_dir=tmp_path) as http, pytest.raises(httpx.TransportError):
        authorize(http, url, card, "T1")


def test_status_lookup_only_for_the_terminals_own_keys(
    setup: tuple[Path, Path, str, TestCard],
) -> None:
    _, certs, url, card = setup
    tap = card.tap(amount=500, atc=next(_atc))
    body = {"terminal_id": "T1", "amount": 500, "currency": "EUR", "emv_data": tap.hex}
    with client(certs, "T1") as http:
        sent = http.post(f"{url}/v1/authorizations", json=body, headers={"Idempotency-Key": "s-1"})
        assert sent.json()["approved"] is True
        own = http.get(f"{url}/v1/status/authorizations/s-1", params={"terminal_id": "T1"})
    assert own.status_code == 200
    assert own.json()["status"] == "processed" and own.json()["answer"] == sent.json()
    with client(certs, "T2") as http:
        other = http.get(f"{url}/v1/status/authorizations/s-1", params={"terminal_id": "T1"})
    assert other.status_code == 403 and other.json()["code"] == "terminal_forbidden"


def test_reissued_certificate_supersedes_the_old_one(
    setup: tuple[Path, Path, str, TestCard], tmp_path: Path
) -> None:
    data, certs, url, card = setup
    cli("terminals", "reissue", "--data-dir", str(data), "--id", "T2", "--out-dir", str(tmp_path))
    with client(certs, "T2") as http:
        old = authorize(http, url, card, "T2")
    assert (old.status_code, old.json()["code"]) == (403, "terminal_forbidden")
    with client(certs, "T2", cert_dir=tmp_path) as http:
        assert authorize(http, url, card, "T2").status_code == 200
    listing = cli("terminals", "list", "--data-dir", str(data))
    assert "revoked" in listing and "T2" in listing

"""A shop terminal paying over mutual TLS: `tap-terminal pay` against `tap-acquirer serve --tls`.

Everything is set up with the CLIs as an operator and a tester would: merchant, terminal
and its certificate, token, emulated card; the terminal reads its identity from its
settings file. A terminal without a certificate, or presenting another terminal's, gets no
authorization.
"""

from __future__ import annotations

import json
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.acquirer.processes import acquirer_process
from tests.system.support import run


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    root = tmp_path_factory.mktemp("mtls-shop")
    data, certs, cards = root / "acq", root / "certs", root / "cards"
    d = ("--data-dir", str(data))
    for command in (
        ("tap-acquirer", "init", *d),
        ("tap-acquirer", "merchants", "add", *d, "--id", "SHOP", "--name", "Corner shop",
         "--mcc", "5411", "--currency", "EUR", "--settlement-account", "NL91ABNA0417164300"),
        ("tap-acquirer", "terminals", "add", *d, "--id", "TILL1", "--merchant", "SHOP",
         "--out-dir", str(certs)),
        ("tap-acquirer", "terminals", "add", *d, "--id", "TILL2", "--merchant", "SHOP",
         "--out-dir", str(certs)),
    ):  # fmt: skip
        done = run(*command)
        assert done.returncode == 0, done.stderr
    token = root / "token.json"
    done = run("tap-acquirer", "tokens", "provision", *d, "--scheme", "mastercard",
               "--funding-pan-file", "-", "--out", str(token), stdin="5555555555554444\n")  # fmt: skip
    assert done.returncode == 0, done.stderr
    done = run("tap-card", "personalize", "till-card", "--profile", "mastercard", "--token", str(token),
               "--issuer-keys", str(data / "issuer-keys.json"), "--home", str(cards))  # fmt: skip
    assert done.returncode == 0, done.stderr
    with acquirer_process(data, args=["--tls"]) as url:
        yield root, url


def settings(root: Path, url: str, name: str, terminal: str, identity: str | None) -> Path:
    lines = ["[terminal]", f'id = "{terminal}"', "[acquirer]", f'url = "{url}"',
             'ca_certificate = "certs/ca-cert.pem"']  # fmt: skip
    if identity is not None:
        lines += [f'certificate = "certs/{identity}-cert.pem"', f'key = "certs/{identity}-key.pem"']
    path = root / f"{name}.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def pay(root: Path, settings_file: Path) -> dict[str, object]:
    done = run("tap-terminal", "pay", "4.20", "--reader", "emulated:till-card", "--json",
               "--settings", str(settings_file), env={"TAP_CARD_HOME": str(root / "cards")})  # fmt: skip
    assert done.stdout, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_terminal_pays_over_mutual_tls(shop: tuple[Path, str]) -> None:
    root, url = shop
    assert url.startswith("https://")
    result = pay(root, settings(root, url, "till1", "TILL1", "TILL1"))
    assert (result["outcome"], result["arqc_verified"], result["arpc_verified"]) == (
        "approved",
        True,
        True,
    )


def test_terminal_without_a_certificate_gets_no_authorization(shop: tuple[Path, str]) -> None:
    root, url = shop
    result = pay(root, settings(root, url, "anonymous", "TILL1", None))
    assert (result["outcome"], result["reason"]) == ("declined", "acquirer_unavailable")
    assert result["authorization_id"] is None


def test_terminal_speaking_for_another_is_refused(shop: tuple[Path, str]) -> None:
    root, url = shop
    result = pay(root, settings(root, url, "impostor", "TILL1", "TILL2"))
    assert (result["outcome"], result["reason"]) == (
        "declined",
        "acquirer_rejected:terminal_forbidden",
    )
    assert result["authorization_id"] is None


def test_terminal_pays_with_its_card_data_under_dukpt_over_real_https(
    shop: tuple[Path, str],
) -> None:
    """`terminals add` wrote TILL1's DUKPT initial key; the terminal seals 57/5A/5F24 with it."""
    root, url = shop
    initial_key = root / "certs" / "TILL1-dukpt.json"
    assert stat.S_IMODE(initial_key.stat().st_mode) == 0o600
    assert json.loads(initial_key.read_text())["format"] == "tap-dukpt-initial-key/1"
    path = settings(root, url, "till1-dukpt", "TILL1", "TILL1")
    with path.open("a") as handle:
        handle.write('dukpt_initial_key = "certs/TILL1-dukpt.json"\n')
        handle.write('dukpt_state = "state/till1-dukpt.json"\n')
    for counter in (1, 2):
        result = pay(root, path)
        assert (result["outcome"], result["arqc_verified"]) == ("approved", True), result
        state = json.loads((root / "state" / "till1-dukpt.json").read_text())
        assert state["counter"] == counter + 1
    with sqlite3.connect(root / "acq" / "acquirer.db") as db:
        claims = db.execute("SELECT ksn FROM ksn_claims WHERE terminal_id = 'TILL1'").fetchall()
    assert sorted(int(ksn[-8:], 16) for (ksn,) in claims) == [1, 2]

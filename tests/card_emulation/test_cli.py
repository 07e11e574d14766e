"""``tap-card`` through typer's CliRunner: help, list, personalize and its refusals."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from card_emulation import CardStore, Fault
from card_emulation.cli import app
from emvcore.keyfile import IssuerKeySet, save_issuer_keys
from emvcore.pan import mask_pan
from tests.card_emulation.support import token_record

WIDE = {"COLUMNS": "250", "NO_COLOR": "1", "TERM": "dumb"}


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def key_file(tmp_path: Path, keys: IssuerKeySet) -> Path:
    path = tmp_path / "issuer-keys.json"
    save_issuer_keys(keys, path)
    return path


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token.json"
    path.write_text(token_record("visa").to_json())
    return path


def personalize(
    runner: CliRunner,
    home: Path,
    key_file: Path,
    name: str,
    token: str,
    *extra: str,
    stdin: str | None = None,
) -> Result:
    args = [
        "personalize",
        name,
        "--profile",
        "visa",
        "--token",
        token,
        "--issuer-keys",
        str(key_file),
        "--home",
        str(home),
        *extra,
    ]
    return runner.invoke(app, args, input=stdin, env=WIDE)


def test_help(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"], env=WIDE)
    assert result.exit_code == 0
    assert "personalize" in result.output and "list" in result.output
    assert "tap-terminal pay --reader emulated:NAME" in " ".join(result.output.split())
    assert runner.invoke(app, ["personalize", "--help"], env=WIDE).exit_code == 0


def test_no_arguments_shows_help(runner: CliRunner) -> None:
    result = runner.invoke(app, [], env=WIDE)
    assert result.exit_code == 2
    assert "Usage" in result.output


def test_list_empty_home(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "--home", str(tmp_path / "cards")], env=WIDE)
    assert result.exit_code == 0
    assert "A0000000031010" in result.output and "A0000000041010" in result.output
    assert "visa-cvn18" in result.output and "mastercard-cvn17" in result.output
    assert "No personalized cards in" in result.output


def test_personalize_from_file_then_list(
    runner: CliRunner, tmp_path: Path, key_file: Path, token_file: Path
) -> None:
    home = tmp_path / "cards"
    token = token_record("visa").token
    result = personalize(runner, home, key_file, "alice", str(token_file))
    assert result.exit_code == 0, result.output
    assert f"Personalized alice (visa, token {mask_pan(token)}, PAR " in result.output
    assert token not in result.output
    card = CardStore(home).load("alice")
    assert (card.token, card.atc, card.faults) == (token, 0, frozenset())

    listed = runner.invoke(app, ["list", "--home", str(home)], env=WIDE)
    assert listed.exit_code == 0
    assert "alice" in listed.output and mask_pan(token) in listed.output
    assert token not in listed.output
    assert "No personalized cards" not in listed.output


def test_list_shows_an_unreadable_card(runner: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text("{")
    result = runner.invoke(app, ["list", "--home", str(tmp_path)], env=WIDE)
    assert result.exit_code == 0
    assert "broken" in result.output and "unreadable" in result.output


def test_personalize_from_stdin_with_tamper(
    runner: CliRunner, tmp_path: Path, key_file: Path
) -> None:
    result = personalize(
        runner,
        tmp_path,
        key_file,
        "mallory",
        "-",
        "--tamper",
        stdin=token_record("visa", 7654321).to_json(),
    )
    assert result.exit_code == 0, result.output
    assert "with tampered cryptograms" in result.output
    assert CardStore(tmp_path).load("mallory").faults == frozenset({Fault.TAMPER_CRYPTOGRAM})


def test_refuses_to_overwrite_without_force(
    runner: CliRunner, tmp_path: Path, key_file: Path, token_file: Path
) -> None:
    assert personalize(runner, tmp_path, key_file, "alice", str(token_file)).exit_code == 0
    store = CardStore(tmp_path)
    store.save(store.load("alice").with_atc(9))
    again = personalize(runner, tmp_path, key_file, "alice", str(token_file))
    assert again.exit_code == 2
    assert "a card named 'alice' exists" in again.stderr and "--force" in again.stderr
    assert store.load("alice").atc == 9
    forced = personalize(runner, tmp_path, key_file, "alice", str(token_file), "--force")
    assert forced.exit_code == 0
    assert store.load("alice").atc == 0


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "error: token record is not JSON (line 1)"),
        ('{"format": "tap-token/1"}', "error: token record field 'token' is missing or not a str"),
        (b"\xff\xfe\x00\x01", "error: cannot read token record"),
    ],
    ids=["not-json", "missing-field", "not-utf8"],
)
def test_bad_token_file(
    runner: CliRunner, tmp_path: Path, key_file: Path, content: str | bytes, message: str
) -> None:
    path = tmp_path / "token.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = personalize(runner, tmp_path / "cards", key_file, "alice", str(path))
    assert result.exit_code == 2
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(message)
    assert CardStore(tmp_path / "cards").names() == []


def test_missing_token_file(runner: CliRunner, tmp_path: Path, key_file: Path) -> None:
    result = personalize(runner, tmp_path, key_file, "alice", str(tmp_path / "nope.json"))
    assert result.exit_code == 2
    assert (
        result.stderr.strip()
        == f"error: cannot read token record {tmp_path / 'nope.json'}: No such file or directory"
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--profile", "mastercard"],
            "token record is for scheme 'visa', profile 'mastercard' is 'mastercard'",
        ),
        (["--profile", "amex"], "unknown profile 'amex'"),
    ],
)
def test_personalization_errors(
    runner: CliRunner,
    tmp_path: Path,
    key_file: Path,
    token_file: Path,
    args: list[str],
    message: str,
) -> None:
    result = personalize(runner, tmp_path, key_file, "alice", str(token_file), *args)
    assert result.exit_code == 2
    assert message in result.stderr
    assert token_record("visa").token not in result.output


def test_bad_card_name_and_missing_key_file(
    runner: CliRunner, tmp_path: Path, key_file: Path, token_file: Path
) -> None:
    bad_name = personalize(runner, tmp_path, key_file, "Alice!", str(token_file))
    assert bad_name.exit_code == 2
    assert "card name 'Alice!' must be" in bad_name.stderr
    no_keys = personalize(runner, tmp_path, tmp_path / "none.json", "alice", str(token_file))
    assert no_keys.exit_code == 2
    assert "issuer key file" in no_keys.stderr and "not found" in no_keys.stderr
